/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_LS_OUT_H
#define CT_LS_OUT_H

#include <stdio.h>

#include "modes/ls_opts.h"
#include "engine/owners.h"
#include "engine/sockdump.h"
#include "output/json.h"
#include "output/table.h"
#include "engine/resolve.h"

struct ct_ls_groups;

/* Counts for --summary: per TCP state, and totals per protocol/family. */
struct ct_ls_summary {
	uint64_t tcp_states[16];
	uint64_t udp_states[16];
	uint64_t total[2][2];	/* [tcp, udp][ipv4, ipv6] */
	struct ct_ls_groups *groups;	/* --by-container; NULL: not asked */
};

/* A text row held back: its cells, built once, then its extras. */
struct ct_ls_held {
	uint64_t inode;
	size_t off;		/* where its text starts in ct_ls_out.text */
	uint16_t cells_len, extras_len;
	uint16_t end[CT_COLS_MAX];
	uint8_t n;
	uint64_t cgroup;	/* the socket's, if its owner's is not known */
};

/*
 * Where the rows go, the table's columns as the rows widened them, and
 * the rows held until the widths and the owners are known.
 */
struct ct_ls_out {
	FILE *f;
	const struct ct_ls_opts *o;
	bool show_netns;
	struct ct_cols cols;
	struct json_writer json;
	struct ct_ls_held *held;
	size_t nheld, capheld;
	char *text;
	size_t ntext, captext;
	struct ct_sockrec *recs;	/* JSON rows, held whole */
	size_t nrecs, caprecs;
	struct ct_resolver *resolver;	/* -r: names; NULL: numeric */
	const char *time;	/* --interval: each JSON row's "time" */
};

/* The owner of a socket inode, or NULL. */
typedef const struct ct_holder *(*ct_ls_owner_fn)(void *ctx, uint64_t inode);

void ct_ls_out_init(struct ct_ls_out *lo, FILE *f, const struct ct_ls_opts *o,
		    bool show_netns);
/*
 * Widens the columns for r without writing it: fit every row that is held
 * back before the header, and the columns come from the data.
 */
void ct_ls_fit(struct ct_ls_out *lo, const struct ct_sockrec *r);
/* The table's header; nothing for JSON or a summary. */
void ct_ls_header(struct ct_ls_out *lo);
/*
 * One socket, with its owner last (holder NULL: unknown, or not looked
 * for; its pid is shown with -p only) and its owner's container. A row
 * wider than the header's columns widens them from there on.
 */
void ct_ls_row(struct ct_ls_out *lo, const struct ct_sockrec *r,
	       const struct ct_holder *holder);
/*
 * Holds a row back, its columns fitted: 0 or -ENOMEM. ct_ls_write_held()
 * then writes the header and every held row with its owner, and frees
 * them; ct_ls_out_free() frees them unwritten.
 */
int ct_ls_hold(struct ct_ls_out *lo, const struct ct_sockrec *r);
size_t ct_ls_nheld(const struct ct_ls_out *lo);
void ct_ls_write_held(struct ct_ls_out *lo, ct_ls_owner_fn owner, void *ctx);
void ct_ls_out_free(struct ct_ls_out *lo);
void ct_ls_count(struct ct_ls_summary *s, const struct ct_sockrec *r);
void ct_ls_print_summary(FILE *f, const struct ct_ls_summary *s, bool json);

/* "ESTABLISHED", or "UNCONN" for an unconnected UDP socket. */
const char *ct_ls_state_name(const struct ct_sockrec *r);

/*
 * The cgroup a row shows, filters match and states counts: its owner's
 * (h, the holder ls found), else the socket's own from sock_diag (the
 * cgroup of the process that made it) for a socket whose owner or its
 * cgroup is not known.
 */
uint64_t ct_ls_cgroup(uint64_t sock_cgroup, const struct ct_holder *h);

#endif
