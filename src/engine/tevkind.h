/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * What each kind of connection event (enum ct_tev_kind) is called and how
 * the views treat it: one row per kind, so that a new kind is one row here
 * rather than a line in every front end.
 */
#ifndef CT_TEVKIND_H
#define CT_TEVKIND_H

#include <stdbool.h>

#include "conntrace.h"

/* Bits of enum ct_tev_kind, as --events selects them. */
#define CT_TEV_BIT(k) (1U << (k))
#define CT_TEV_ALL ((1U << CT_TEV_KINDS) - 1)

/* The trouble columns of top and ls; each kind adds to at most one. */
enum ct_tally_col {
	CT_TALLY_RETRANS = 0,	/* segments sent again (SYN-ACKs too) */
	CT_TALLY_RESETS,	/* sent and received */
	CT_TALLY_DROPS,		/* packets the kernel dropped */
	CT_TALLY_COLS,
};

struct ct_tev_kind_info {
	const char *name;	/* in --events and JSON's "event" */
	const char *label;	/* in the exit report's loss lines */
	const char *tag;	/* in watch's OLD column */
	int tally;		/* enum ct_tally_col, or -1: not counted there */
	bool trouble;		/* in --events' default */
	bool is_time;		/* its value is a duration in ns */
};

/* The row of a kind; kinds out of range get a row named "unknown". */
const struct ct_tev_kind_info *ct_tev_kind(int kind);

/* Masks of CT_TEV_BIT()s: the kinds of the default, the counted kinds. */
unsigned int ct_tev_trouble_kinds(void);
unsigned int ct_tev_tally_kinds(void);

#endif
