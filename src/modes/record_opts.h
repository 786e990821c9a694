/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_RECORD_OPTS_H
#define CT_RECORD_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/filter.h"
#include "modes/options.h"

struct ct_record_opts {
	struct ct_kfilter filter;
	const char *path;	/* -w FILE */
	uint64_t max_size;	/* 0: no bound */
	unsigned rotate;	/* files in the ring */
	double interval_s;	/* between byte-counter snapshots */
	double duration_s;	/* 0: until stopped */
	bool verbose;
	uint32_t ring_bytes;	/* --ring-size; 0: sized at start */
	uint32_t boost;		/* --boost */
	char cmdline[1024];	/* the options, for the file's header */
};

extern const struct ct_cmd ct_record_cmd;

/* argv[0] is the mode name; parsing starts at argv[1]. */
enum ct_parse_result ct_record_parse(int argc, char **argv,
				     struct ct_record_opts *o, char *err,
				     size_t errlen);

#endif
