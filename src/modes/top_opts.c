// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/top_opts.h"

#include <string.h>

#include "engine/acct.h"
#include "lib/macros.h"

enum { OPT_ONCE = CT_OPT_MODE_FIRST, OPT_VIEW, OPT_SORT, OPT_TOTALS,
       OPT_MAX_CONNS, OPT_SHARES };

static const struct ct_opt opts[] = {
	CT_FILTER_OPTS,
	/* procps top's letter for its refresh delay */
	CT_SECS("interval", 'd', "SECS", "refresh every SECS seconds",
		CT_MIN_INTERVAL_S, 86400, "1"),
	CT_UINT("count", CT_OPT_COUNT, "N", "print N snapshots, then exit",
		1, 1000000000, NULL),
	CT_FLAG("once", OPT_ONCE, "print one snapshot, then exit"),
	CT_TEXT("view", OPT_VIEW, "VIEW", "processes, connections, hosts, containers "
		"or latency (connect latency per remote host)", "processes"),
	CT_TEXT("sort", OPT_SORT, "KEY", "total, sent, recv, retrans, resets or drops",
		"total"),
	CT_FLAG("totals", OPT_TOTALS, "cumulative bytes instead of rates"),
	CT_FLAG("json", 'j', "one JSON object per snapshot, every view"),
	/*
	 * Entries of the kernel's byte map, allocated whole at load:
	 * 16,777,216 took 29 s to start and 3.2 GiB of kernel memory;
	 * 1,048,576 (16 times the default) starts in about 1 s with
	 * 192 MiB, still modest beside the host it watches.
	 */
	CT_UINT("max-conns", OPT_MAX_CONNS, "N",
		"size of the kernel's byte map", 16, 1048576, "65536"),
	/* UDP sockets keep no byte counters: only a per-call hook sees them. */
	CT_FLAG("udp", 'u', "count UDP too, with a hook on every send and "
		"receive (every TCP call then pays it as well)"),
	CT_FLAG("shares", OPT_SHARES, "split each socket's bytes among the "
		"processes that moved them (after fork, passed sockets), with "
		"per-call hooks; counts UDP too"),
	CT_FLAG("verbose", 'v',
		"check each TCP connection against the kernel's own counters "
		"(as ss -ti); counters at exit"),
	CT_FLAG("help", 'h', "show this help"),
	CT_UTC_OPT,
	CT_RING_OPT(CT_STR(CT_RINGBUF_MIB)),
	CT_OPT_END,
};

const struct ct_cmd ct_top_cmd = {
	.name = "top",
	.synopsis = "top [OPTIONS] [FILTER]",
	.about = "Live bytes sent and received per process, per connection or per\n"
		 "remote host. TCP bytes are the kernel's own counters, read at each\n"
		 "refresh: nothing runs per send or receive unless -u or --shares.\n"
		 "FILTER is an ss-style expression (see 'conntrace ls --help').",
	.opts = opts,
	.notes = "On a terminal, keys: s/r/t sort by sent/received/total, R/X/D by\n"
		 "retransmits/resets/drops, m rates or totals, p/c/h/C/l or Tab switch\n"
		 "view, q quit. With --interval, --count, --once, --json or a pipe, plain\n"
		 "snapshots are printed instead.\n"
		 "RETRANS, RESETS and DROPS count the events seen since top started\n"
		 "(segments sent again, resets sent and received, packets dropped); the\n"
		 "latency view has the percentiles of the last 512 connects per host.",
	.needs_root = true,
};

static int fail(char *err, size_t len, const char *what, const char *arg)
{
	snprintf(err, len, "invalid %s '%s'", what, arg);
	return CT_PARSE_ERROR;
}

static int apply(void *ctx, const struct ct_opt *opt,
		 const struct ct_optval *v, char *err, size_t len)
{
	struct ct_top_opts *o = ctx;
	int k;

	switch (opt->key) {
	case 'j':
		o->json = o->batch = true;
		break;
	case OPT_ONCE:
		o->count = 1;
		o->batch = true;
		break;
	case CT_OPT_COUNT:
		o->count = v->u;
		o->batch = true;
		break;
	case 'd':
		o->interval_s = v->secs;
		o->batch = true;
		break;
	case OPT_VIEW:
		if ((k = ct_view_parse(v->text)) < 0)
			return fail(err, len, "view", v->text);
		o->st.view = (enum ct_view)k;
		break;
	case OPT_SORT:
		if ((k = ct_sort_parse(v->text)) < 0)
			return fail(err, len, "sort key", v->text);
		o->st.sort = (enum ct_sort)k;
		break;
	case OPT_TOTALS:
		o->st.totals = true;
		break;
	case OPT_MAX_CONNS:
		o->max_conns = v->u;
		break;
	case CT_OPT_RING:
		o->ring_bytes = ct_ring_bytes(v->u);
		break;
	case 'u':
		o->udp = true;
		break;
	case OPT_SHARES:
		o->shares = true;
		break;
	case 'v':
		o->verbose = o->st.check = true;
		break;
	}
	return CT_PARSE_OK;
}

enum ct_parse_result ct_top_parse(int argc, char **argv,
				  struct ct_top_opts *o, char *err,
				  size_t errlen)
{
	memset(o, 0, sizeof(*o));
	o->interval_s = 1.0;
	return ct_opts_parse_filtered(&ct_top_cmd, argc, argv, &o->st.filter,
				      apply, o, err, errlen);
}
