// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "engine/tevorder.h"

/* What was handed on, in order, and which socket holds a line. */
struct sink {
	uint64_t got[8];
	size_t n;
	uint64_t held_sk;
};

static void emit(const struct ct_tev_line *l, void *ctx)
{
	struct sink *s = ctx;

	assert_true(s->n < 8);
	s->got[s->n++] = l->ev.ts_ns;
}

static bool held(void *ctx, uint64_t skaddr, uint64_t cookie)
{
	const struct sink *s = ctx;

	(void)cookie;
	return skaddr == s->held_sk;
}

static void add(struct ct_tevorder *q, uint64_t sk, uint64_t ts)
{
	struct ct_tev_line l;

	memset(&l, 0, sizeof(l));
	l.ev.skaddr = sk;
	l.ev.ts_ns = ts;
	ct_tevorder_add(q, &l);
}

/*
 * An event of a socket with a line held waits, and so do its socket's
 * later events; other sockets' go on at once.
 */
static void test_waits_behind_held_line(void **state)
{
	struct sink s = { .held_sk = 1 };
	struct ct_tevorder q;

	(void)state;
	ct_tevorder_init(&q, emit, &s, held, &s);
	add(&q, 1, 10);
	add(&q, 2, 20);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.got[0], 20);
	ct_tevorder_release(&q);
	assert_int_equal(s.n, 1);
	/* The line is out: its socket's events follow, in their order. */
	s.held_sk = 0;
	add(&q, 1, 30);
	assert_int_equal(s.n, 1);
	ct_tevorder_release(&q);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.got[1], 10);
	assert_int_equal(s.got[2], 30);
	ct_tevorder_free(&q);
}

/* At exit, whatever waits goes, held or not. */
static void test_flush(void **state)
{
	struct sink s = { .held_sk = 5 };
	struct ct_tevorder q;

	(void)state;
	ct_tevorder_init(&q, emit, &s, held, &s);
	add(&q, 5, 1);
	add(&q, 5, 2);
	ct_tevorder_flush(&q);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.got[0], 1);
	assert_int_equal(s.got[1], 2);
	ct_tevorder_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_waits_behind_held_line),
		cmocka_unit_test(test_flush),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
