/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Events in the stream of transitions, never ahead of their own
 * connection's story. The engine holds some transitions back (a
 * connect()'s line until its port is known, an accepted socket's until
 * accept()); an event of a socket with a line held waits here until that
 * line is out. Everything else goes out as it comes, in the kernel's order.
 */
#ifndef CT_WATCH_ORDER_H
#define CT_WATCH_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/tcpev.h"
#include "modes/watch_out.h"

/* Whether a line of socket (skaddr, cookie) is still held back. */
typedef bool (*ct_held_fn)(void *ctx, uint64_t skaddr, uint64_t cookie);

struct ct_order {
	struct ct_out *out;
	ct_held_fn held;
	void *held_ctx;
	struct ct_tev_line *v;	/* waiting, in arrival order */
	size_t n, cap;
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
