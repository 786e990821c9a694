// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/stats_opts.h"

#include <string.h>

#include "engine/stats_data.h"

enum { OPT_INTERFACES = CT_OPT_MODE_FIRST };

static const struct ct_opt opts[] = {
	/* Below 0.01 s the reads themselves are most of the time. */
	CT_SECS("interval", 'd', "SECS",
		"print what changed every SECS seconds, until Ctrl-C", 0.01,
		86400, NULL),
	CT_UINT("count", CT_OPT_COUNT, "N",
		"stop after N intervals (needs --interval)", 1, 1000000000,
		NULL),
	CT_FLAG("interfaces", OPT_INTERFACES,
		"interface counters (netstat -i) instead of protocol counters"),
	CT_FLAG("zeros", 'z', "also show counters that are 0"),
	CT_FLAG("json", 'j', "one JSON object per snapshot, one per line"),
	CT_FLAG("help", 'h', "show this help"),
	CT_UTC_OPT,
	CT_OPT_END,
};

const struct ct_cmd ct_stats_cmd = {
	.name = "stats",
	.synopsis = "stats [OPTIONS] [PATTERN...]",
	.about = "Print the kernel's protocol counters as nstat names them (from\n"
		 "/proc/net/snmp, snmp6 and netstat), or with --interfaces the\n"
		 "interface counters of netstat -i. PATTERNs are shell globs on the\n"
		 "names, e.g. 'Tcp*' 'IpExt*Octets' (on interface names with\n"
		 "--interfaces).",
	.opts = opts,
	.notes = "A counter that went down was reset: its delta is its new value.",
	/* Patterns and options in any order, as nstat takes them. */
	.permute = true,
};

static int apply(void *ctx, const struct ct_opt *opt,
		 const struct ct_optval *v, char *err, size_t len)
{
	struct ct_stats_opts *o = ctx;

	(void)err;
	(void)len;
	switch (opt->key) {
	case 'd':
		o->interval_s = v->secs;
		break;
	case CT_OPT_COUNT:
		o->count = v->u;
		break;
	case OPT_INTERFACES:
		o->interfaces = true;
		break;
	case 'z':
		o->zeros = true;
		break;
	case 'j':
		o->json = true;
		break;
	}
	return CT_PARSE_OK;
}

/* What is left after the options are patterns; check them all now. */
static int take_globs(int argc, char **argv, int rest,
		      struct ct_stats_opts *o, char *err, size_t len)
{
	for (int i = rest; i < argc; i++) {
		if (ct_glob_check(argv[i])) {
			snprintf(err, len, "invalid pattern '%s'", argv[i]);
			return CT_PARSE_ERROR;
		}
	}
	o->globs = argv + rest;
	o->nglobs = (size_t)(argc - rest);
	return CT_PARSE_OK;
}

enum ct_parse_result ct_stats_parse(int argc, char **argv,
				    struct ct_stats_opts *o, char *err,
				    size_t errlen)
{
	int rest, rc;

	memset(o, 0, sizeof(*o));
	rc = ct_opts_parse(&ct_stats_cmd, argc, argv, apply, o, &rest, err,
			   errlen);
	if (rc != CT_PARSE_OK)
		return rc;
	if (o->count && o->interval_s == 0) {
		snprintf(err, errlen, "option '--count' needs '--interval'");
		return CT_PARSE_ERROR;
	}
	return take_globs(argc, argv, rest, o, err, errlen);
}
