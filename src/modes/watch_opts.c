// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/watch_opts.h"

#include <string.h>

#include "engine/tcpev.h"
#include "lib/macros.h"

enum { OPT_EVENTS = CT_OPT_MODE_FIRST, OPT_SUMMARY };

static const struct ct_opt opts[] = {
	CT_FILTER_OPTS,
	CT_FLAG("lifetime", 'L',
		"one line per closed connection instead: owner, addresses, "
		"duration, bytes each way (like tcplife)"),
	CT_FLAG("json", 'j', "one JSON object per line"),
	CT_DURATION_OPT,
	CT_FLAG("verbose", 'v', "show libbpf messages and counters at exit"),
	CT_FLAG("help", 'h', "show this help"),
	CT_TEXT("events", OPT_EVENTS, "LIST",
		"what to print, comma-separated: state (transitions), retrans, "
		"reset, fail (failed connects), drop, latency, or all "
		"(default: all but latency; with --lifetime: none)", NULL),
	CT_FLAG("summary", OPT_SUMMARY,
		"at exit, a log2 histogram of connect latency per remote host"),
	CT_FLAG("human", 'H', "with -L: bytes in KiB, MiB, ... (JSON stays in "
		"bytes)"),
	CT_UTC_OPT,
	CT_RING_OPT(CT_STREAM_RING_DEF),
	CT_BOOST_OPT(CT_STR(CT_STREAM_BOOST)),
	CT_OPT_END,
};

const struct ct_cmd ct_watch_cmd = {
	.name = "watch",
	.synopsis = "[watch] [OPTIONS] [FILTER]",
	.about = "Print every TCP state transition on this host, with the process that\n"
		 "owns the connection, until Ctrl-C. FILTER is an ss-style expression,\n"
		 "e.g. 'dport = :443 or dst 10.0.0.0/8' (see 'conntrace ls --help').",
	.opts = opts,
	.notes = "PID ? means the owner cannot be known (see README, \"Owners\").",
	.needs_root = true,
};

static int apply(void *ctx, const struct ct_opt *opt,
		 const struct ct_optval *v, char *err, size_t len)
{
	struct ct_watch_opts *o = ctx;
	const struct ct_out_fields out = {
		.json = &o->json, .lifetime = &o->lifetime, .human = &o->human,
		.verbose = &o->verbose, .duration_s = &o->duration_s,
		.ring_bytes = &o->ring_bytes, .boost = &o->boost,
	};

	if (ct_out_opt(&out, opt->key, v))
		return CT_PARSE_OK;
	switch (opt->key) {
	case OPT_EVENTS:
		if (ct_tev_parse_list(v->text, &o->tev_mask, &o->states, err,
				      len))
			return CT_PARSE_ERROR;
		o->events_set = true;
		break;
	case OPT_SUMMARY:
		o->summary = true;
		break;
	}
	return CT_PARSE_OK;
}

enum ct_parse_result ct_watch_parse(int argc, char **argv,
				    struct ct_watch_opts *o, char *err,
				    size_t errlen)
{
	enum ct_parse_result r;

	memset(o, 0, sizeof(*o));
	o->boost = CT_STREAM_BOOST;
	r = ct_opts_parse_filtered(&ct_watch_cmd, argc, argv, &o->filter,
				   apply, o, err, errlen);
	if (r != CT_PARSE_OK || o->events_set)
		return r;
	/* A connection's summary line stands alone unless events are asked for. */
	o->states = true;
	o->tev_mask = o->lifetime ? 0 : ct_tev_trouble_kinds();
	return r;
}
