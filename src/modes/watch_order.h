/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * watch's events in its stream of transitions, never ahead of their own
 * connection's story: the engine's order (engine/tevorder.h) printed.
 */
#ifndef CT_WATCH_ORDER_H
#define CT_WATCH_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/tcpev.h"
#include "engine/tevorder.h"
#include "modes/watch_out.h"

struct ct_order {
	struct ct_tevorder q;
};

void ct_order_init(struct ct_order *q, struct ct_out *out, ct_held_fn held,
		   void *ctx);
void ct_order_free(struct ct_order *q);

/* Prints an event now, or after the held lines of its socket. */
void ct_order_tev(struct ct_order *q, const struct ct_tev_line *l);

/* Prints the waiting events whose sockets have nothing held any more. */
void ct_order_release(struct ct_order *q);

/* Prints every waiting event, held or not (at exit). */
void ct_order_flush(struct ct_order *q);

#endif
