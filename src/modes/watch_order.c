// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/watch_order.h"

static void print(const struct ct_tev_line *l, void *out)
{
	ct_out_tev(out, l);
}

void ct_order_init(struct ct_order *q, struct ct_out *out, ct_held_fn held,
		   void *ctx)
{
	ct_tevorder_init(&q->q, print, out, held, ctx);
}

void ct_order_free(struct ct_order *q)
{
	ct_tevorder_free(&q->q);
}

void ct_order_tev(struct ct_order *q, const struct ct_tev_line *l)
{
	ct_tevorder_add(&q->q, l);
}

void ct_order_release(struct ct_order *q)
{
	ct_tevorder_release(&q->q);
}

void ct_order_flush(struct ct_order *q)
{
	ct_tevorder_flush(&q->q);
}
