// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/top_opts.h"

#include <string.h>

#include "lib/numparse.h"

enum { OPT_ONCE = 300, OPT_VIEW, OPT_SORT, OPT_TOTALS, OPT_MAX_CONNS };

static const struct option long_opts[] = {
	CT_FILTER_LONGOPTS,
	{ "json", no_argument, NULL, 'j' },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "count", required_argument, NULL, 'n' },
	{ "interval", required_argument, NULL, 'i' },
	{ "view", required_argument, NULL, OPT_VIEW },
	{ "sort", required_argument, NULL, OPT_SORT },
	{ "totals", no_argument, NULL, OPT_TOTALS },
	{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void ct_top_usage(FILE *f)
{
	fputs("Usage: conntrace top [OPTIONS] [FILTER]\n"
	      "Live bytes sent and received per process, per connection or per\n"
	      "remote host, counted in the kernel at every send and receive.\n"
	      "\n",
	      f);
	ct_cli_filter_usage(f);
	fputs("  -i, --interval SECS  refresh every SECS seconds (default 1)\n"
	      "  -n, --count N        print N snapshots, then exit\n"
	      "      --once           print one snapshot, then exit\n"
	      "      --view VIEW      processes (default), connections or hosts\n"
	      "      --sort KEY       total (default), sent or recv\n"
	      "      --totals         cumulative bytes instead of rates\n"
	      "  -j, --json           one JSON object per snapshot, every view\n"
	      "      --max-conns N    size of the kernel's byte map (default 65536)\n"
	      "  -v, --verbose        check each TCP connection against the kernel's\n"
	      "                       own counters (as ss -ti); counters at exit\n"
	      "  -h, --help           show this help\n"
	      "\n"
	      "On a terminal, keys: s/r/t sort by sent/received/total, m rates or\n"
	      "totals, p/c/h or Tab switch view, q quit. With -i, -n, --once, --json\n"
	      "or a pipe, plain snapshots are printed instead.\n",
	      f);
}

static int fail(char *err, size_t len, const char *what, const char *arg)
{
	snprintf(err, len, "invalid %s '%s'", what, arg);
	return CT_PARSE_ERROR;
}

static int apply(struct ct_top_opts *o, int c, const char *arg, char *err,
		 size_t len)
{
	int v;

	switch (c) {
	case 'j':
		o->json = o->batch = true;
		break;
	case OPT_ONCE:
		o->count = 1;
		o->batch = true;
		break;
	case 'n':
		if (ct_parse_u32(arg, 1, 1000000000, &o->count))
			return fail(err, len, "count", arg);
		o->batch = true;
		break;
	case 'i':
		if (ct_parse_seconds(arg, &o->interval_s) ||
		    o->interval_s < CT_MIN_INTERVAL_S)
			return fail(err, len, "interval (at least 0.5 s)", arg);
		o->batch = true;
		break;
	case OPT_VIEW:
		if ((v = ct_view_parse(arg)) < 0)
			return fail(err, len, "view", arg);
		o->st.view = (enum ct_view)v;
		break;
	case OPT_SORT:
		if ((v = ct_sort_parse(arg)) < 0)
			return fail(err, len, "sort key", arg);
		o->st.sort = (enum ct_sort)v;
		break;
	case OPT_TOTALS:
		o->st.totals = true;
		break;
	case OPT_MAX_CONNS:
		if (ct_parse_u32(arg, 16, 1U << 24, &o->max_conns))
			return fail(err, len, "map size (16 to 16777216)", arg);
		break;
	case 'v':
		o->verbose = o->st.check = true;
		break;
	case 'h':
		return CT_PARSE_HELP;
	default:
		return CT_PARSE_ERROR;
	}
	return CT_PARSE_OK;
}

enum ct_parse_result ct_top_parse(int argc, char **argv,
				  struct ct_top_opts *o, char *err,
				  size_t errlen)
{
	struct ct_famsel fs = { 0 };
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->interval_s = 1.0;
	ct_cli_reset();
	while ((c = getopt_long(argc, argv, "+:" CT_FILTER_SHORTOPTS "jn:i:vh",
				long_opts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			ct_cli_getopt_error(c, argv, long_opts, err, errlen);
			return CT_PARSE_ERROR;
		}
		rc = ct_cli_filter_opt(&o->st.filter, &fs, c, optarg, err, errlen);
		if (rc < 0)
			return CT_PARSE_ERROR;
		if (rc == 0 && (rc = apply(o, c, optarg, err, errlen)) != CT_PARSE_OK)
			return rc;
	}
	if (ct_cli_filter_expr(&o->st.filter, argc - optind, argv + optind,
			       fs.file, err, errlen))
		return CT_PARSE_ERROR;
	ct_cli_filter_finish(&o->st.filter, &fs);
	return CT_PARSE_OK;
}
