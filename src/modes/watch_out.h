/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_OUTPUT_H
#define CT_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/events.h"
#include "engine/tcpev.h"
#include "output/json.h"
#include "output/table.h"

struct ct_out {
	FILE *f;
	bool json;
	bool lifetime;			/* connection summaries, not transitions */
	uint64_t mono_to_wall_ns;	/* add to CLOCK_MONOTONIC for wall time */
	uint64_t lines;
	struct json_writer json_w;
	struct ct_cols cols;		/* the table's, widened as lines come */
	struct ct_tcpev *tev;		/* names drop and reset reasons; may be NULL */
	bool human;			/* -H: byte counts in binary units */
};

void ct_out_init(struct ct_out *o, FILE *f, bool json);
const char *ct_owner_src_name(int src);
/* The table's header (none for JSON); call once, before any line. */
void ct_out_header(struct ct_out *o);
void ct_out_line(struct ct_out *o, const struct ct_line *l);
/* ct_line_fn adapter: ctx is a struct ct_out. */
void ct_out_emit(const struct ct_line *l, void *ctx);

/* One event (retransmit, reset, ...) as a line, in the transitions' columns. */
void ct_out_tev(struct ct_out *o, const struct ct_tev_line *l);

#endif
