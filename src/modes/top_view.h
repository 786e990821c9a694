/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The views of `conntrace top` as tables of text, so the plain
 * output and the terminal UI draw the same thing.
 */
#ifndef CT_TOP_VIEW_H
#define CT_TOP_VIEW_H

#include <stdbool.h>
#include <stdio.h>

#include "engine/acct.h"
#include "engine/session.h"
#include "engine/tevkind.h"
#include "engine/tevtally.h"

enum ct_view { CT_VIEW_PROCS = 0, CT_VIEW_CONNS, CT_VIEW_HOSTS,
	       CT_VIEW_CONTAINERS, CT_VIEW_LATENCY, CT_VIEW_MAX };
enum ct_sort { CT_SORT_TOTAL = 0, CT_SORT_SENT, CT_SORT_RECV,
	       CT_SORT_RETRANS, CT_SORT_RESETS, CT_SORT_DROPS };

struct ct_top_state {
	enum ct_view view;
	enum ct_sort sort;
	bool totals;		/* show cumulative bytes instead of rates */
	bool check;		/* show the check against the kernel's counters */
	struct ct_kfilter filter;
	/* Retransmits, resets, drops and latency so far; NULL: not counted. */
	const struct ct_tally *tally;
};

/* The kinds top counts: trouble per connection, latency per host. */
#define CT_TOP_TEV_MASK (ct_tev_tally_kinds() | CT_TEV_BIT(CT_TEV_CONNECT_LAT))

#define CT_ROW_LEN 256

struct ct_table {
	char header[CT_ROW_LEN];
	char (*rows)[CT_ROW_LEN];
	size_t nrows;
};

/* Applies an interactive key; returns true if the key is one of ours. */
bool ct_top_key(struct ct_top_state *st, int key);
const char *ct_view_name(enum ct_view v);
int ct_view_parse(const char *name);	/* -1 if unknown */
int ct_sort_parse(const char *name);	/* -1 if unknown */
const char *ct_sort_name(enum ct_sort s);

/* Renders the current view; free with ct_table_free(). 0 or -ENOMEM. */
int ct_top_table(const struct ct_acct *a, const struct ct_top_state *st,
		 uint64_t now_ns, struct ct_table *t);
void ct_table_free(struct ct_table *t);
/* The header and rows, one a line, then an empty line. */
void ct_table_print(const struct ct_table *t, FILE *f);

/* "1.5 MiB", or "1.5 MiB/s" when per_second. */
const char *ct_bytes_str(double v, bool per_second, char *buf, size_t len);

/* Whether a share passes the user's filters. */
bool ct_share_match(const struct ct_kfilter *f, const struct ct_share *s);

/* One JSON object with every view, filtered as st says. */
void ct_top_json(FILE *f, const struct ct_acct *a,
		 const struct ct_top_state *st, uint64_t wall_ns,
		 uint64_t evicted, uint64_t lost);

#endif
