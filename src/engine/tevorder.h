/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Events in the stream of transitions, never ahead of their own
 * connection's story. The engine holds some transitions back (a
 * connect()'s line until its port is known, an accepted socket's until
 * accept()); an event of a socket with a line held waits here until that
 * line is out. Everything else goes on as it comes, in the kernel's
 * order. What watch prints and what the recorder writes, alike.
 */
#ifndef CT_TEVORDER_H
#define CT_TEVORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/tcpev.h"

/* Whether a line of socket (skaddr, cookie) is still held back. */
typedef bool (*ct_held_fn)(void *ctx, uint64_t skaddr, uint64_t cookie);

struct ct_tevorder {
	ct_tev_fn emit;
	void *emit_ctx;
	ct_held_fn held;
	void *held_ctx;
	struct ct_tev_line *v;	/* waiting, in arrival order */
	size_t n, cap;
};

void ct_tevorder_init(struct ct_tevorder *q, ct_tev_fn emit, void *emit_ctx,
		      ct_held_fn held, void *held_ctx);
void ct_tevorder_free(struct ct_tevorder *q);

/* Hands an event on now, or after the held lines of its socket. */
void ct_tevorder_add(struct ct_tevorder *q, const struct ct_tev_line *l);

/* Hands on the waiting events whose sockets have nothing held any more. */
void ct_tevorder_release(struct ct_tevorder *q);

/* Hands on every waiting event, held or not (at exit). */
void ct_tevorder_flush(struct ct_tevorder *q);

#endif
