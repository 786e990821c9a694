// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "engine/walkcost.h"

/* A quiet host: one socket, a hundred processes. */
static void test_small_host_walks_proc(void **state)
{
	(void)state;
	assert_true(ct_proc_walk_cheaper(100, 1));
	assert_true(ct_proc_walk_cheaper(300, 1000));
}

/* 10,000 sockets or more: the kernel walk's fixed cost is paid back. */
static void test_many_sockets_walk_bpf(void **state)
{
	(void)state;
	assert_false(ct_proc_walk_cheaper(100, 20000));
	assert_false(ct_proc_walk_cheaper(12, 200000));
}

/* Thousands of processes with few sockets each still cost /proc much. */
static void test_many_processes_walk_bpf(void **state)
{
	(void)state;
	assert_false(ct_proc_walk_cheaper(5000, 100));
}

/* More of either never tips the choice back to /proc. */
static void test_monotonic(void **state)
{
	(void)state;
	for (size_t p = 0; p < 8000; p += 250)
		for (size_t s = 0; s < 40000; s += 500)
			if (!ct_proc_walk_cheaper(p, s)) {
				assert_false(ct_proc_walk_cheaper(p + 250, s));
				assert_false(ct_proc_walk_cheaper(p, s + 500));
			}
}

static void test_env(void **state)
{
	(void)state;
	assert_int_equal(ct_walk_from_env(NULL), CT_WALK_AUTO);
	assert_int_equal(ct_walk_from_env(""), CT_WALK_AUTO);
	assert_int_equal(ct_walk_from_env("auto"), CT_WALK_AUTO);
	assert_int_equal(ct_walk_from_env("proc"), CT_WALK_PROC);
	assert_int_equal(ct_walk_from_env("bpf"), CT_WALK_BPF);
	assert_int_equal(ct_walk_from_env("BPF"), -EINVAL);
	assert_int_equal(ct_walk_from_env("procfs"), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_host_walks_proc),
		cmocka_unit_test(test_many_sockets_walk_bpf),
		cmocka_unit_test(test_many_processes_walk_bpf),
		cmocka_unit_test(test_monotonic),
		cmocka_unit_test(test_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
