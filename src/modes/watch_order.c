// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/watch_order.h"

#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"

void ct_order_init(struct ct_order *q, struct ct_out *out, ct_held_fn held,
		   void *ctx)
{
	memset(q, 0, sizeof(*q));
	q->out = out;
	q->held = held;
	q->held_ctx = ctx;
}

void ct_order_free(struct ct_order *q)
{
	free(q->v);
	q->v = NULL;
	q->n = q->cap = 0;
}

static bool is_held(const struct ct_order *q, const struct ct_tev_line *l)
{
	return q->held && q->held(q->held_ctx, l->ev.skaddr, l->ev.cookie);
}

/* Behind an earlier waiting event of the same socket, whatever holds. */
static bool waits_behind(const struct ct_order *q, const struct ct_tev_line *l)
{
	for (size_t i = 0; i < q->n; i++)
		if (q->v[i].ev.skaddr == l->ev.skaddr &&
		    q->v[i].ev.cookie == l->ev.cookie)
			return true;
	return false;
}

void ct_order_tev(struct ct_order *q, const struct ct_tev_line *l)
{
	if ((!is_held(q, l) && !waits_behind(q, l)) ||
	    ct_grow((void **)&q->v, &q->cap, q->n, sizeof(*q->v))) {
		ct_out_tev(q->out, l);
		return;
	}
	q->v[q->n++] = *l;
}

static void release(struct ct_order *q, bool all)
{
	size_t kept = 0;

	for (size_t i = 0; i < q->n; i++) {
		if (!all && is_held(q, &q->v[i])) {
			q->v[kept++] = q->v[i];
			continue;
		}
		ct_out_tev(q->out, &q->v[i]);
	}
	q->n = kept;
}

void ct_order_release(struct ct_order *q)
{
	release(q, false);
}

void ct_order_flush(struct ct_order *q)
{
	release(q, true);
}
