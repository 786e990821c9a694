// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/watch_opts.h"

#include <string.h>

#include "lib/numparse.h"

static const struct option long_opts[] = {
	CT_FILTER_LONGOPTS,
	{ "json", no_argument, NULL, 'j' },
	{ "lifetime", no_argument, NULL, 'L' },
	{ "duration", required_argument, NULL, 't' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void ct_watch_usage(FILE *f)
{
	fputs("Usage: conntrace [watch] [OPTIONS] [FILTER]\n"
	      "Print every TCP state transition on this host, with the process that\n"
	      "owns the connection, until Ctrl-C.\n"
	      "\n",
	      f);
	ct_cli_filter_usage(f);
	fputs("  -L, --lifetime       one line per closed connection instead: owner,\n"
	      "                       addresses, duration, bytes each way (like tcplife)\n"
	      "  -j, --json           one JSON object per line\n"
	      "  -t, --duration SECS  stop after SECS seconds\n"
	      "  -v, --verbose        show libbpf messages and counters at exit\n"
	      "  -h, --help           show this help\n"
	      "\n"
	      "PID ? means the owner cannot be known (see README, \"Owners\").\n",
	      f);
}

/* Applies one option that is not a filter; returns a ct_parse_result. */
static int apply(struct ct_watch_opts *o, int c, const char *arg, char *err,
		 size_t len)
{
	switch (c) {
	case 'j':
		o->json = true;
		return CT_PARSE_OK;
	case 'L':
		o->lifetime = true;
		return CT_PARSE_OK;
	case 't':
		if (ct_parse_seconds(arg, &o->duration_s) || o->duration_s <= 0) {
			snprintf(err, len, "invalid duration '%s'", arg);
			return CT_PARSE_ERROR;
		}
		return CT_PARSE_OK;
	case 'v':
		o->verbose = true;
		return CT_PARSE_OK;
	case 'h':
		return CT_PARSE_HELP;
	default:
		return CT_PARSE_ERROR;
	}
}

enum ct_parse_result ct_watch_parse(int argc, char **argv,
				    struct ct_watch_opts *o, char *err,
				    size_t errlen)
{
	struct ct_famsel fs = { 0 };
	int c, rc;

	memset(o, 0, sizeof(*o));
	ct_cli_reset();
	/* '+': options end where the filter expression begins, as in ss. */
	while ((c = getopt_long(argc, argv, "+:" CT_FILTER_SHORTOPTS "jLt:vh",
				long_opts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			ct_cli_getopt_error(c, argv, long_opts, err, errlen);
			return CT_PARSE_ERROR;
		}
		rc = ct_cli_filter_opt(&o->filter, &fs, c, optarg, err, errlen);
		if (rc < 0)
			return CT_PARSE_ERROR;
		if (rc == 0 && (rc = apply(o, c, optarg, err, errlen)) != CT_PARSE_OK)
			return rc;
	}
	if (ct_cli_filter_expr(&o->filter, argc - optind, argv + optind,
			       fs.file, err, errlen))
		return CT_PARSE_ERROR;
	ct_cli_filter_finish(&o->filter, &fs);
	return CT_PARSE_OK;
}
