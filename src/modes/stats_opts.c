// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/stats_opts.h"

#include <getopt.h>
#include <string.h>

#include "lib/numparse.h"
#include "engine/stats_data.h"

/* Shortest interval: below it the reads themselves are most of the time. */
#define MIN_INTERVAL_S 0.01

static const struct option long_opts[] = {
	{ "interval", required_argument, NULL, 'd' },
	{ "count", required_argument, NULL, 'c' },
	{ "interfaces", no_argument, NULL, 'i' },
	{ "zeros", no_argument, NULL, 'z' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void ct_stats_usage(FILE *f)
{
	fputs("Usage: conntrace stats [OPTIONS] [PATTERN...]\n"
	      "Print the kernel's protocol counters as nstat names them (from\n"
	      "/proc/net/snmp, snmp6 and netstat), or with -i the interface\n"
	      "counters of netstat -i. PATTERNs are shell globs on the names,\n"
	      "e.g. 'Tcp*' 'IpExt*Octets' (on interface names with -i).\n"
	      "\n"
	      "  -d, --interval SECS  print what changed every SECS seconds, until Ctrl-C\n"
	      "  -c, --count N        stop after N intervals (needs -d)\n"
	      "  -i, --interfaces     interface counters instead of protocol counters\n"
	      "  -z, --zeros          also show counters that are 0\n"
	      "  -j, --json           one JSON object per snapshot, one per line\n"
	      "  -h, --help           show this help\n"
	      "\n"
	      "A counter that went down was reset: its delta is its new value.\n",
	      f);
}

static int set_error(char *err, size_t len, const char *fmt, const char *arg)
{
	snprintf(err, len, fmt, arg);
	return CT_PARSE_ERROR;
}

/* Applies one option; returns CT_PARSE_OK, HELP or ERROR. */
static int apply(struct ct_stats_opts *o, int c, const char *arg, char *err,
		 size_t len)
{
	switch (c) {
	case 'd':
		if (ct_parse_seconds(arg, &o->interval_s) ||
		    o->interval_s < MIN_INTERVAL_S)
			return set_error(err, len, "invalid interval '%s'", arg);
		return CT_PARSE_OK;
	case 'c':
		if (ct_parse_u32(arg, 1, UINT32_MAX, &o->count))
			return set_error(err, len, "invalid count '%s'", arg);
		return CT_PARSE_OK;
	case 'i':
		o->interfaces = true;
		return CT_PARSE_OK;
	case 'z':
		o->zeros = true;
		return CT_PARSE_OK;
	case 'j':
		o->json = true;
		return CT_PARSE_OK;
	case 'h':
		return CT_PARSE_HELP;
	default:
		return CT_PARSE_ERROR;
	}
}

/* What is left after the options are patterns; check them all now. */
static int take_globs(int argc, char **argv, struct ct_stats_opts *o,
		      char *err, size_t len)
{
	for (int i = optind; i < argc; i++)
		if (ct_glob_check(argv[i]))
			return set_error(err, len, "invalid pattern '%s'",
					 argv[i]);
	o->globs = argv + optind;
	o->nglobs = (size_t)(argc - optind);
	return CT_PARSE_OK;
}

enum ct_parse_result ct_stats_parse(int argc, char **argv,
				    struct ct_stats_opts *o, char *err,
				    size_t errlen)
{
	int c, rc;

	memset(o, 0, sizeof(*o));
	ct_cli_reset();
	while ((c = getopt_long(argc, argv, ":d:c:izjh", long_opts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			ct_cli_getopt_error(c, argv, long_opts, err, errlen);
			return CT_PARSE_ERROR;
		}
		rc = apply(o, c, optarg, err, errlen);
		if (rc != CT_PARSE_OK)
			return rc;
	}
	if (o->count && o->interval_s == 0) {
		snprintf(err, errlen, "option '--count' needs '--interval'");
		return CT_PARSE_ERROR;
	}
	return take_globs(argc, argv, o, err, errlen);
}
