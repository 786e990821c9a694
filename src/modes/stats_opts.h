/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_STATS_OPTS_H
#define CT_STATS_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "modes/options.h"	/* enum ct_parse_result */

struct ct_stats_opts {
	double interval_s;	/* 0: print absolute values once */
	uint32_t count;		/* intervals to print; 0: until interrupted */
	bool interfaces;	/* /proc/net/dev instead of protocols */
	bool zeros;
	bool json;
	char **globs;		/* into argv: counter or interface names */
	size_t nglobs;
};

/* argv[0] is the mode name; parsing starts at argv[1]. */
enum ct_parse_result ct_stats_parse(int argc, char **argv,
				    struct ct_stats_opts *o, char *err,
				    size_t errlen);

extern const struct ct_cmd ct_stats_cmd;

#endif
