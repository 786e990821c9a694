// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "lib/u64map.h"

struct val {
	uint64_t key;	/* a copy of the key, to catch values left behind */
	uint32_t n;
	char tag[12];
};

/* Like kernel socket addresses: same high bits, aligned low bits. */
static uint64_t key_of(size_t i)
{
	return 0xffff888000000000ULL + (uint64_t)i * 64;
}

static int setup(void **state)
{
	static struct u64map m;

	if (u64map_init(&m, sizeof(struct val)))
		return -1;
	*state = &m;
	return 0;
}

static int teardown(void **state)
{
	u64map_free(*state);
	return 0;
}

/* Inserts keys from..to-1, each new, with values that name their key. */
static void put_range(struct u64map *m, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		int created = 0;
		struct val *v = u64map_put(m, key_of(i), &created);

		assert_non_null(v);
		assert_true(created);
		v->key = key_of(i);
		v->n = (uint32_t)i;
	}
}

static void put_n(struct u64map *m, size_t n)
{
	put_range(m, 0, n);
}

static void assert_has(struct u64map *m, size_t i)
{
	struct val *v = u64map_get(m, key_of(i));

	assert_non_null(v);
	assert_true(v->key == key_of(i));
	assert_int_equal(v->n, i);
}

static void test_empty_get(void **state)
{
	struct u64map *m = *state;

	assert_null(u64map_get(m, 1));
	assert_int_equal(m->len, 0);
}

static void test_put_creates_zeroed(void **state)
{
	static const struct val zero;
	struct u64map *m = *state;
	int created = 0;
	struct val *v = u64map_put(m, 7, &created);

	assert_non_null(v);
	assert_true(created);
	assert_memory_equal(v, &zero, sizeof(zero));
	assert_int_equal(m->len, 1);
}

static void test_put_existing_returns_same_slot(void **state)
{
	struct u64map *m = *state;
	int created = -1;
	struct val *v = u64map_put(m, 7, &created), *w;

	v->n = 99;
	strcpy(v->tag, "kept");
	w = u64map_put(m, 7, &created);
	assert_ptr_equal(v, w);
	assert_false(created);
	assert_int_equal(w->n, 99);
	assert_string_equal(w->tag, "kept");
	assert_int_equal(m->len, 1);
}

static void test_put_created_may_be_null(void **state)
{
	struct u64map *m = *state;

	assert_non_null(u64map_put(m, 3, NULL));
	assert_non_null(u64map_get(m, 3));
}

static void test_get_returns_put_value(void **state)
{
	struct u64map *m = *state;

	put_n(m, 10);
	for (size_t i = 0; i < 10; i++)
		assert_has(m, i);
	assert_null(u64map_get(m, key_of(10)));
}

static void test_key_zero_rejected(void **state)
{
	struct u64map *m = *state;
	int created = 1;

	assert_null(u64map_put(m, 0, &created));
	assert_false(created);
	assert_null(u64map_get(m, 0));
	assert_int_equal(m->len, 0);
}

static void test_growth_10000(void **state)
{
	struct u64map *m = *state;

	for (size_t i = 0; i < 10000; i++) {
		put_range(m, i, i + 1);
		/* Open addressing needs free slots: load stays under 3/4. */
		assert_true(m->len * 4 <= m->cap * 3);
	}
	assert_int_equal(m->len, 10000);
	assert_int_equal(m->cap & (m->cap - 1), 0);
	for (size_t i = 0; i < 10000; i++)
		assert_has(m, i);
}

static void test_clear(void **state)
{
	struct u64map *m = *state;
	int created = 0;
	struct val *v;

	put_n(m, 500);
	u64map_clear(m);
	assert_int_equal(m->len, 0);
	for (size_t i = 0; i < 500; i++)
		assert_null(u64map_get(m, key_of(i)));
	/* Values are zeroed again on the first put after a clear. */
	v = u64map_put(m, key_of(1), &created);
	assert_true(created);
	assert_int_equal(v->n, 0);
	assert_true(v->key == 0);
}

static void test_free_then_lookup(void **state)
{
	struct u64map *m = *state;

	put_n(m, 5);
	u64map_free(m);
	assert_null(u64map_get(m, key_of(0)));
}

static int odd_n(uint64_t key, const void *val, void *ctx)
{
	const struct val *v = val;

	assert_true(v->key == key);
	(*(int *)ctx)++;
	return v->n % 2;
}

static int all(uint64_t key, const void *val, void *ctx)
{
	(void)key;
	(void)val;
	(void)ctx;
	return 1;
}

/*
 * Retain keeps exactly what keep() says yes to, with its values, and
 * gives the room of the rest back: a table that held 10,000 and keeps 2
 * is small again.
 */
static void test_retain(void **state)
{
	struct u64map *m = *state;
	size_t cap;
	int asked = 0;

	put_n(m, 10000);
	cap = m->cap;
	assert_int_equal(u64map_retain(m, odd_n, &asked), 0);
	assert_true(asked >= 10000);
	assert_int_equal(m->len, 5000);
	assert_true(m->cap < cap);
	for (size_t i = 0; i < 10000; i++)
		if (i % 2)
			assert_has(m, i);
		else
			assert_null(u64map_get(m, key_of(i)));
	/* Nothing to drop: the same table, untouched. */
	cap = m->cap;
	assert_int_equal(u64map_retain(m, all, NULL), 0);
	assert_int_equal(m->cap, cap);
	assert_int_equal(m->len, 5000);
	/* Down to one: back near the starting size, and still a working map. */
	u64map_clear(m);
	put_n(m, 2);
	asked = 0;
	assert_int_equal(u64map_retain(m, odd_n, &asked), 0);
	assert_int_equal(m->len, 1);
	assert_has(m, 1);
	assert_true(m->cap <= 64);
	put_range(m, 2, 1000);
	assert_has(m, 999);
	assert_has(m, 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_empty_get),
		T(test_put_creates_zeroed),
		T(test_put_existing_returns_same_slot),
		T(test_put_created_may_be_null),
		T(test_get_returns_put_value),
		T(test_key_zero_rejected),
		T(test_growth_10000),
		T(test_clear),
		T(test_free_then_lookup),
		T(test_retain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
