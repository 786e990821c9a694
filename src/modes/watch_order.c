// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/watch_order.h"

#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"

struct ct_pending {
	uint64_t ts_ns;
	bool is_tev;
	union {
		struct ct_line line;
		struct ct_tev_line tev;
	} u;
};

void ct_order_init(struct ct_order *q, struct ct_out *out)
{
	memset(q, 0, sizeof(*q));
	q->out = out;
}

void ct_order_free(struct ct_order *q)
{
	free(q->v);
	q->v = NULL;
	q->n = q->cap = 0;
}

/* After every line of the same time or older: equal times keep their order. */
static struct ct_pending *insert(struct ct_order *q, uint64_t ts)
{
	size_t i = q->n;

	if (ct_grow((void **)&q->v, &q->cap, q->n, sizeof(*q->v)))
		return NULL;
	while (i > 0 && q->v[i - 1].ts_ns > ts)
		i--;
	memmove(&q->v[i + 1], &q->v[i], (q->n - i) * sizeof(*q->v));
	q->n++;
	q->v[i].ts_ns = ts;
	return &q->v[i];
}

void ct_order_line(struct ct_order *q, const struct ct_line *l)
{
	struct ct_pending *p = insert(q, l->ts_ns);

	if (!p) {
		q->dropped++;
		ct_out_line(q->out, l);
		return;
	}
	p->is_tev = false;
	p->u.line = *l;
}

void ct_order_tev(struct ct_order *q, const struct ct_tev_line *l)
{
	struct ct_pending *p = insert(q, l->ev.ts_ns);

	if (!p) {
		q->dropped++;
		ct_out_tev(q->out, l);
		return;
	}
	p->is_tev = true;
	p->u.tev = *l;
}

void ct_order_release(struct ct_order *q, uint64_t before)
{
	size_t done = 0;

	while (done < q->n && q->v[done].ts_ns < before) {
		const struct ct_pending *p = &q->v[done++];

		if (p->is_tev)
			ct_out_tev(q->out, &p->u.tev);
		else
			ct_out_line(q->out, &p->u.line);
	}
	memmove(q->v, q->v + done, (q->n - done) * sizeof(*q->v));
	q->n -= done;
}
