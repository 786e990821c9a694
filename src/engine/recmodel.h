/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The open sockets of a recording as of the record last applied: a file's
 * first snapshot sets them, later snapshots update their counters,
 * transitions their states, and a CLOSE ends them. What replayed `ls`,
 * `states` and `top` look at.
 */
#ifndef CT_RECMODEL_H
#define CT_RECMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conntrace.h"
#include "engine/recfile.h"
#include "engine/recread.h"
#include "lib/u64map.h"

struct ct_recmodel {
	struct u64map socks;	/* skaddr -> a socket (recmodel.c); state 0: gone */
	struct u64map listeners;	/* (netns, port) -> listening sockets */
	uint64_t snapshots;	/* snapshots applied */
	size_t gone;		/* entries of closed sockets still in socks */
};

int ct_recmodel_init(struct ct_recmodel *m);
void ct_recmodel_free(struct ct_recmodel *m);

/* Applies one record of any type; those it has no use for are ignored. 0 or -ENOMEM. */
int ct_recmodel_apply(struct ct_recmodel *m, const struct ct_rec *rec);

typedef int (*ct_recmodel_fn)(const struct ct_tcp_rec *t, void *ctx);

/* Calls fn for every open socket, in no order; stops at a non-zero return. */
int ct_recmodel_each(const struct ct_recmodel *m, ct_recmodel_fn fn, void *ctx);

/*
 * The same for the byte counters: every open socket whose counters a
 * snapshot read, with t->state the state they were read in (a transition
 * applied later may be older than that snapshot). Time-wait sockets are
 * left out: their connection's last counts came with the line that
 * handed them over (ct_rec_line_final).
 */
int ct_recmodel_each_counted(const struct ct_recmodel *m, ct_recmodel_fn fn,
			     void *ctx);

/* Whether t was accepted: by its origin, or a listener on its local port. */
bool ct_recmodel_passive(const struct ct_recmodel *m, const struct ct_tcp_rec *t);

/*
 * Whether a transition carries its connection's last counters, as the
 * kernel's CLOSE of a full socket gave them: the CLOSE line, or for the
 * side that closed first the derived line of the hand-off to a time-wait
 * socket (the kernel's CLOSE there is told as FIN_WAIT2 -> TIME_WAIT, and
 * the time-wait socket has no counters of its own). Exactly one line of a
 * connection is final; the derived TIME_WAIT -> CLOSE repeats its counts.
 */
bool ct_rec_line_final(const struct ct_rec_line *l);

#endif
