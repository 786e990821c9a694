/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Every way the kernel side skipped or dropped something, in one struct:
 * what the programs count themselves (ring buffer full, map full) and
 * what the kernel counts for them (a program skipped because another BPF
 * program was running on the same CPU: bpf_prog_info.recursion_misses).
 */
#ifndef CT_LOSSES_H
#define CT_LOSSES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conntrace.h"

/* The jobs the kernel programs do; a loss means something different in each. */
enum ct_prog_group {
	CT_GROUP_STATE = 0,	/* state transitions (and owners) */
	CT_GROUP_IO,		/* per-call sends and receives */
	CT_GROUP_ITER,		/* iterators: run on demand, never skipped */
	CT_GROUP_ACCEPT,	/* accept(): owners of accepted sockets */
	CT_GROUP_TEV,		/* retransmits, resets, drops */
	CT_GROUP_KINDS,
};

struct ct_prog_loss {
	const char *name;	/* static: from the session's program tables */
	enum ct_prog_group group;
	uint64_t recursion_misses;
};

struct ct_losses {
	uint64_t rb_drops;		/* ring buffer full: record lost */
	uint64_t sock_map_full;		/* socket not tracked */
	uint64_t listen_map_full;	/* listener not tracked */
	uint64_t conn_map_full;		/* bytes of a new share not counted */
	uint64_t missed[CT_GROUP_KINDS];	/* recursion misses per group */
	uint64_t state_skips;	/* the state hook's first program's, taken or not */
	uint64_t missed_total;
	struct ct_prog_loss *progs;	/* per loaded program */
	size_t nprogs, cap;
};

/* Takes the loss counters from the per-CPU stats array, summed. */
void ct_losses_from_stats(struct ct_losses *l, const uint64_t stats[CT_STAT_MAX]);

/* Adds one program's misses to its group and the total. 0 or -ENOMEM. */
int ct_losses_add_prog(struct ct_losses *l, const char *name,
		       enum ct_prog_group g, uint64_t misses);

void ct_losses_free(struct ct_losses *l);

/*
 * The exit report's line for one group's recursion misses, such as
 * "12 transitions missed: the kernel skipped the program (recursion)",
 * with `what` naming what one miss loses. Returns false (buf empty) if
 * the group missed nothing.
 */
bool ct_losses_missed_line(const struct ct_losses *l, enum ct_prog_group g,
			   const char *what, char *buf, size_t len);

#endif
