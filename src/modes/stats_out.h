/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_STATS_OUT_H
#define CT_STATS_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "engine/stats_data.h"

/* Which part of a snapshot is shown, and how. */
struct ct_stats_view {
	bool json;
	bool zeros;		/* show counters at 0 (never hides interfaces) */
	char *const *globs;	/* counter names, or interface names with -i */
	size_t nglobs;
};

/* JSON key of each /proc/net/dev column, indexed by enum ct_if_field. */
const char *ct_if_field_name(int field);

/* One snapshot: a text block, or one JSON object on one line. */
void ct_stats_print_counters(FILE *f, const struct ct_stats_snap *s,
			     const struct ct_stats_view *v);
void ct_stats_print_ifaces(FILE *f, const struct ct_stats_snap *s,
			   const struct ct_stats_view *v);

#endif
