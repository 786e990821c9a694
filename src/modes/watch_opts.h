/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_WATCH_OPTS_H
#define CT_WATCH_OPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "modes/options.h"
#include "engine/filter.h"

struct ct_watch_opts {
	struct ct_kfilter filter;
	bool json;
	bool verbose;
	bool lifetime;		/* one summary line per closed connection */
	double duration_s;	/* 0: until interrupted */
	bool states;		/* print transitions (--events state) */
	unsigned int tev_mask;	/* 1 << enum ct_tev_kind: other events to print */
	bool events_set;	/* --events was given */
	bool summary;		/* connect latency histograms at exit */
	bool human;		/* -H: byte counts in binary units */
	uint32_t ring_bytes;	/* --ring-size; 0: sized at start */
	uint32_t boost;		/* --boost */
};

extern const struct ct_cmd ct_watch_cmd;

/* argv[0] is the mode name; parsing starts at argv[1]. */
enum ct_parse_result ct_watch_parse(int argc, char **argv,
				    struct ct_watch_opts *o, char *err,
				    size_t errlen);

#endif
