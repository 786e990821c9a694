/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Transitions and events in one stream, in time order. The engine holds
 * some transitions back (a connect()'s line until its port is known, an
 * accepted socket's until accept()); events of the same moment wait
 * behind them here instead of overtaking them.
 */
#ifndef CT_WATCH_ORDER_H
#define CT_WATCH_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/events.h"
#include "engine/tcpev.h"
#include "modes/watch_out.h"

struct ct_pending;

struct ct_order {
	struct ct_out *out;
	struct ct_pending *v;	/* sorted by time, oldest first */
	size_t n, cap;
	uint64_t dropped;	/* no memory to hold: printed at once */
};

void ct_order_init(struct ct_order *q, struct ct_out *out);
void ct_order_free(struct ct_order *q);

/* Queues one line; ct_order_release() prints it when its turn comes. */
void ct_order_line(struct ct_order *q, const struct ct_line *l);
void ct_order_tev(struct ct_order *q, const struct ct_tev_line *l);

/* Prints, in time order, every queued line older than `before`. */
void ct_order_release(struct ct_order *q, uint64_t before);

#endif
