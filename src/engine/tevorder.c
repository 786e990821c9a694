// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/tevorder.h"

#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"

void ct_tevorder_init(struct ct_tevorder *q, ct_tev_fn emit, void *emit_ctx,
		      ct_held_fn held, void *held_ctx)
{
	memset(q, 0, sizeof(*q));
	q->emit = emit;
	q->emit_ctx = emit_ctx;
	q->held = held;
	q->held_ctx = held_ctx;
}

void ct_tevorder_free(struct ct_tevorder *q)
{
	free(q->v);
	q->v = NULL;
	q->n = q->cap = 0;
}

static bool is_held(const struct ct_tevorder *q, const struct ct_tev_line *l)
{
	return q->held && q->held(q->held_ctx, l->ev.skaddr, l->ev.cookie);
}

/* Behind an earlier waiting event of the same socket, whatever holds. */
static bool waits_behind(const struct ct_tevorder *q,
			 const struct ct_tev_line *l)
{
	for (size_t i = 0; i < q->n; i++)
		if (q->v[i].ev.skaddr == l->ev.skaddr &&
		    q->v[i].ev.cookie == l->ev.cookie)
			return true;
	return false;
}

void ct_tevorder_add(struct ct_tevorder *q, const struct ct_tev_line *l)
{
	if ((!is_held(q, l) && !waits_behind(q, l)) ||
	    ct_grow((void **)&q->v, &q->cap, q->n, sizeof(*q->v))) {
		q->emit(l, q->emit_ctx);
		return;
	}
	q->v[q->n++] = *l;
}

static void release(struct ct_tevorder *q, bool all)
{
	size_t kept = 0;

	for (size_t i = 0; i < q->n; i++) {
		if (!all && is_held(q, &q->v[i])) {
			q->v[kept++] = q->v[i];
			continue;
		}
		q->emit(&q->v[i], q->emit_ctx);
	}
	q->n = kept;
}

void ct_tevorder_release(struct ct_tevorder *q)
{
	release(q, false);
}

void ct_tevorder_flush(struct ct_tevorder *q)
{
	release(q, true);
}
