/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_REPLAY_OPTS_H
#define CT_REPLAY_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "engine/filter.h"
#include "modes/options.h"

enum ct_replay_view {
	CT_REPLAY_WATCH = 0,
	CT_REPLAY_TOP,
	CT_REPLAY_LS,
	CT_REPLAY_STATES,
	CT_REPLAY_INFO,
};

/* A point in time as the user gave it, placed once the recording is open. */
struct ct_when {
	bool set;
	bool relative;		/* seconds after the recording's first record */
	double rel_s;
	bool time_of_day;	/* on the recording's first day */
	uint32_t tod_s;		/* seconds since midnight */
	uint64_t wall_ns;	/* CLOCK_REALTIME, for @EPOCH */
	/*
	 * A date and time: placed by ct_when_wall in local time, or in UTC
	 * with --utc, which may come after it on the command line.
	 */
	bool date_time;
	struct tm tm;
};

struct ct_replay_opts {
	struct ct_kfilter filter;
	const char *path;
	enum ct_replay_view view;
	bool json;
	bool lifetime;
	double interval_s;	/* top and states: one table per SECS */
	struct ct_when from, to, at;
	int top_view;		/* enum ct_view */
	/* watch: what to print, as watch's --events says it */
	bool states;		/* transitions */
	unsigned int tev_mask;	/* 1 << enum ct_tev_kind */
	const char *events;	/* --events LIST; NULL: not given */
};

extern const struct ct_cmd ct_replay_cmd;

/* argv[0] is the mode name; parsing starts at argv[1]. */
enum ct_parse_result ct_replay_parse(int argc, char **argv,
				     struct ct_replay_opts *o, char *err,
				     size_t errlen);

/*
 * "+SECS" (after the start), "@EPOCH", "HH:MM[:SS]" on the day of the
 * start, or "YYYY-MM-DD HH:MM[:SS]" (a T may join them): local time, or
 * UTC with --utc (output/format.h). 0 or -EINVAL.
 */
int ct_when_parse(const char *s, struct ct_when *w);

/* The instant of w in ns of wall time; start_wall_ns anchors relative and HH:MM. */
uint64_t ct_when_wall(const struct ct_when *w, uint64_t start_wall_ns);

#endif
