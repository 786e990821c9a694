// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "engine/losses.h"

static void test_from_stats(void **state)
{
	uint64_t stats[CT_STAT_MAX] = { 0 };
	struct ct_losses l = { 0 };

	(void)state;
	stats[CT_STAT_EVENTS] = 1000;
	stats[CT_STAT_RB_DROPS] = 7;
	stats[CT_STAT_SOCK_MAP_FULL] = 3;
	stats[CT_STAT_LISTEN_MAP_FULL] = 2;
	stats[CT_STAT_CONN_INSERTS] = 500;
	stats[CT_STAT_CONN_MAP_FULL] = 11;
	ct_losses_from_stats(&l, stats);
	assert_int_equal(l.rb_drops, 7);
	assert_int_equal(l.sock_map_full, 3);
	assert_int_equal(l.listen_map_full, 2);
	assert_int_equal(l.conn_map_full, 11);
	assert_int_equal(l.missed_total, 0);
}

static void test_misses_summed_per_group(void **state)
{
	struct ct_losses l = { 0 };

	(void)state;
	assert_int_equal(ct_losses_add_prog(&l, "ct_state_btf", CT_GROUP_STATE, 204), 0);
	assert_int_equal(ct_losses_add_prog(&l, "ct_send_btf", CT_GROUP_IO, 5), 0);
	assert_int_equal(ct_losses_add_prog(&l, "ct_recv_btf", CT_GROUP_IO, 6), 0);
	assert_int_equal(ct_losses_add_prog(&l, "ct_seed_files", CT_GROUP_ITER, 0), 0);
	assert_int_equal(l.missed[CT_GROUP_STATE], 204);
	assert_int_equal(l.missed[CT_GROUP_IO], 11);
	assert_int_equal(l.missed[CT_GROUP_ITER], 0);
	assert_int_equal(l.missed_total, 215);
	/* Per program, in the order added. */
	assert_int_equal(l.nprogs, 4);
	assert_string_equal(l.progs[0].name, "ct_state_btf");
	assert_int_equal(l.progs[0].recursion_misses, 204);
	assert_int_equal(l.progs[2].group, CT_GROUP_IO);
	assert_int_equal(l.progs[2].recursion_misses, 6);
	assert_int_equal(ct_losses_add_prog(&l, "x", CT_GROUP_KINDS, 1), -EINVAL);
	assert_int_equal(l.missed_total, 215);
	ct_losses_free(&l);
	assert_null(l.progs);
	assert_int_equal(l.nprogs, 0);
}

/* More programs than the first allocation holds: no fixed limit. */
static void test_many_programs(void **state)
{
	struct ct_losses l = { 0 };

	(void)state;
	for (int i = 0; i < 100; i++)
		assert_int_equal(ct_losses_add_prog(&l, "p", CT_GROUP_IO, 1), 0);
	assert_int_equal(l.nprogs, 100);
	assert_int_equal(l.missed[CT_GROUP_IO], 100);
	ct_losses_free(&l);
}

static void test_missed_line(void **state)
{
	struct ct_losses l = { 0 };
	char buf[160] = "stale";

	(void)state;
	/* Nothing missed: no line at all. */
	assert_false(ct_losses_missed_line(&l, CT_GROUP_STATE, "transitions",
					   buf, sizeof(buf)));
	assert_string_equal(buf, "");
	ct_losses_add_prog(&l, "ct_state_btf", CT_GROUP_STATE, 204);
	assert_true(ct_losses_missed_line(&l, CT_GROUP_STATE, "transitions", buf,
					  sizeof(buf)));
	assert_string_equal(buf,
			    "204 transitions missed: the kernel skipped the program (recursion)");
	/* Another group's misses are not this group's. */
	assert_false(ct_losses_missed_line(&l, CT_GROUP_IO, "sends/receives", buf,
					   sizeof(buf)));
	ct_losses_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_stats),
		cmocka_unit_test(test_misses_summed_per_group),
		cmocka_unit_test(test_many_programs),
		cmocka_unit_test(test_missed_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
