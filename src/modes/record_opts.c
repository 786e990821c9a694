// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/record_opts.h"

#include <string.h>

#include "lib/macros.h"
#include "lib/numparse.h"

enum {
	OPT_MAX_SIZE = CT_OPT_MODE_FIRST,
	OPT_ROTATE,
};

/* Without --rotate, a bounded recording is a ring of this many files. */
#define DEFAULT_ROTATE 4

static const struct ct_opt opts[] = {
	CT_TEXT("write", 'w', "FILE", "write the recording to FILE (required)",
		NULL),
	CT_TEXT("max-size", OPT_MAX_SIZE, "SIZE",
		"keep all files of the recording under SIZE bytes together "
		"(K, M, G: powers of 1024), dropping the oldest file", NULL),
	CT_UINT("rotate", OPT_ROTATE, "N",
		"with --max-size, a ring of N files: FILE, FILE.1, ... FILE.N-1",
		1, 1000, "4"),
	CT_SECS("interval", 'd', "SECS",
		"snapshot every connection's byte counters every SECS", 0.1,
		3600, "1"),
	CT_FILTER_OPTS,
	CT_DURATION_OPT,
	CT_FLAG("verbose", 'v', "show libbpf messages and counters at exit"),
	CT_FLAG("help", 'h', "show this help"),
	CT_RING_OPT(CT_STREAM_RING_DEF),
	CT_BOOST_OPT(CT_STR(CT_STREAM_BOOST)),
	CT_OPT_END,
};

const struct ct_cmd ct_record_cmd = {
	.name = "record",
	.synopsis = "record -w FILE [OPTIONS] [FILTER]",
	.about = "Record TCP state transitions with their owners, the events watch\n"
		 "shows (retransmits, resets, failed connects, drops, latency), the\n"
		 "open sockets and their byte counters to FILE, until Ctrl-C.\n"
		 "'conntrace replay FILE' shows it later, as any user.",
	.opts = opts,
	.notes = "The file format is described in docs/recording-format.md.",
	.needs_root = true,
};

static int apply(void *ctx, const struct ct_opt *opt,
		 const struct ct_optval *v, char *err, size_t len)
{
	struct ct_record_opts *o = ctx;
	const struct ct_out_fields out = {
		.verbose = &o->verbose, .interval_s = &o->interval_s,
		.duration_s = &o->duration_s, .ring_bytes = &o->ring_bytes,
		.boost = &o->boost,
	};

	if (ct_out_opt(&out, opt->key, v))
		return CT_PARSE_OK;
	switch (opt->key) {
	case 'w':
		o->path = v->text;
		break;
	case OPT_MAX_SIZE:
		if (ct_parse_size(v->text, &o->max_size) || !o->max_size) {
			snprintf(err, len, "invalid --max-size '%s' (e.g. 100M)",
				 v->text);
			return CT_PARSE_ERROR;
		}
		break;
	case OPT_ROTATE:
		o->rotate = v->u;
		break;
	}
	return CT_PARSE_OK;
}

static void join_args(struct ct_record_opts *o, int argc, char **argv)
{
	size_t n = 0;

	o->cmdline[0] = '\0';
	for (int i = 1; i < argc && n < sizeof(o->cmdline); i++) {
		int w = snprintf(o->cmdline + n, sizeof(o->cmdline) - n, "%s%s",
				 i > 1 ? " " : "", argv[i]);

		if (w < 0)
			break;
		n += (size_t)w;
	}
	/* The header is one line per key. */
	for (char *p = o->cmdline; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

enum ct_parse_result ct_record_parse(int argc, char **argv,
				     struct ct_record_opts *o, char *err,
				     size_t errlen)
{
	enum ct_parse_result rc;

	memset(o, 0, sizeof(*o));
	o->interval_s = 1;
	/* Every transition, as watch: the same ring. */
	o->boost = CT_STREAM_BOOST;
	rc = ct_opts_parse_filtered(&ct_record_cmd, argc, argv, &o->filter,
				    apply, o, err, errlen);
	if (rc != CT_PARSE_OK)
		return rc;
	if (!o->path) {
		snprintf(err, errlen, "record needs -w FILE");
		return CT_PARSE_ERROR;
	}
	if (o->rotate && !o->max_size) {
		snprintf(err, errlen, "--rotate needs --max-size");
		return CT_PARSE_ERROR;
	}
	if (o->max_size && !o->rotate)
		o->rotate = DEFAULT_ROTATE;
	join_args(o, argc, argv);
	return CT_PARSE_OK;
}
