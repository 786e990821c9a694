// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "lib/numparse.h"

static void test_u32_plain(void **state)
{
	uint32_t v = 0;

	(void)state;
	assert_int_equal(ct_parse_u32("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(ct_parse_u32("007", 0, 100, &v), 0);
	assert_int_equal(v, 7);
}

static void test_u32_bounds_inclusive(void **state)
{
	uint32_t v = 0;

	(void)state;
	assert_int_equal(ct_parse_u32("1", 1, 65535, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(ct_parse_u32("65535", 1, 65535, &v), 0);
	assert_int_equal(v, 65535);
}

static void test_u32_out_of_bounds(void **state)
{
	uint32_t v = 0;

	(void)state;
	assert_int_equal(ct_parse_u32("0", 1, 65535, &v), -EINVAL);
	assert_int_equal(ct_parse_u32("65536", 1, 65535, &v), -EINVAL);
	assert_int_equal(ct_parse_u32("9", 10, 20, &v), -EINVAL);
}

static void test_u32_full_range(void **state)
{
	uint32_t v = 0;

	(void)state;
	assert_int_equal(ct_parse_u32("4294967295", 0, UINT32_MAX, &v), 0);
	assert_int_equal(v, UINT32_MAX);
	assert_int_equal(ct_parse_u32("4294967296", 0, UINT32_MAX, &v), -EINVAL);
}

static void test_u32_overflow(void **state)
{
	uint32_t v = 0;

	(void)state;
	assert_int_equal(ct_parse_u32("99999999999", 0, UINT32_MAX, &v), -EINVAL);
	/* Beyond unsigned long long: strtoull reports ERANGE. */
	assert_int_equal(ct_parse_u32("99999999999999999999999", 0, UINT32_MAX,
				      &v),
			 -EINVAL);
	assert_int_equal(ct_parse_u32("18446744073709551616", 0, UINT32_MAX, &v),
			 -EINVAL);
}

static void test_u32_junk(void **state)
{
	static const char *const bad[] = {
		"", "abc", "12x", "x12", " 12", "12 ", "+12", "-12", "-0",
		"1.0", "0x10", "1e3", "12\n",
	};
	uint32_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ct_parse_u32(bad[i], 0, UINT32_MAX, &v),
				 -EINVAL);
}

static void test_u32_null(void **state)
{
	uint32_t v;

	(void)state;
	assert_int_equal(ct_parse_u32(NULL, 0, 10, &v), -EINVAL);
}

static void test_u32_failure_leaves_out(void **state)
{
	uint32_t v = 1234;

	(void)state;
	assert_int_equal(ct_parse_u32("99", 0, 10, &v), -EINVAL);
	assert_int_equal(ct_parse_u32("5z", 0, 10, &v), -EINVAL);
	assert_int_equal(v, 1234);
}

static void test_seconds_plain(void **state)
{
	double v = -1;

	(void)state;
	assert_int_equal(ct_parse_seconds("2", &v), 0);
	assert_true(v == 2.0);
	assert_int_equal(ct_parse_seconds("0.5", &v), 0);
	assert_true(v == 0.5);
	assert_int_equal(ct_parse_seconds(".25", &v), 0);
	assert_true(v == 0.25);
	assert_int_equal(ct_parse_seconds("3.", &v), 0);
	assert_true(v == 3.0);
}

static void test_seconds_zero_is_valid(void **state)
{
	double v = -1;

	(void)state;
	/* Non-negative: rejecting 0 is the caller's business. */
	assert_int_equal(ct_parse_seconds("0", &v), 0);
	assert_true(v == 0);
}

static void test_seconds_upper_bound(void **state)
{
	double v = -1;

	(void)state;
	assert_int_equal(ct_parse_seconds("1000000000", &v), 0);
	assert_true(v == 1e9);
	assert_int_equal(ct_parse_seconds("1000000000.5", &v), -EINVAL);
	assert_int_equal(ct_parse_seconds("1e999", &v), -EINVAL);
}

static void test_seconds_junk(void **state)
{
	static const char *const bad[] = {
		"", ".", "x", "-1", "-0.5", "+1", " 1", "1 ", "1s", "1,5",
		"nan", "inf", "infinity",
	};
	double v;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ct_parse_seconds(bad[i], &v), -EINVAL);
	assert_int_equal(ct_parse_seconds(NULL, &v), -EINVAL);
}

static void test_seconds_failure_leaves_out(void **state)
{
	double v = 7;

	(void)state;
	assert_int_equal(ct_parse_seconds("2x", &v), -EINVAL);
	assert_true(v == 7);
}

static void test_size(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(ct_parse_size("1000", &v), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(ct_parse_size("10M", &v), 0);
	assert_int_equal(v, 10ULL << 20);
	assert_int_equal(ct_parse_size("2k", &v), 0);
	assert_int_equal(v, 2048);
	assert_int_equal(ct_parse_size("1GiB", &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(ct_parse_size("3TB", &v), 0);
	assert_int_equal(v, 3ULL << 40);
	v = 7;
	assert_int_equal(ct_parse_size("10X", &v), -EINVAL);
	assert_int_equal(ct_parse_size("10Mb it", &v), -EINVAL);
	assert_int_equal(ct_parse_size("-1", &v), -EINVAL);
	assert_int_equal(ct_parse_size("", &v), -EINVAL);
	assert_int_equal(ct_parse_size("99999999999999T", &v), -EINVAL);
	assert_int_equal(ct_parse_size("99999999999999999999", &v), -EINVAL);
	assert_int_equal(v, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u32_plain),
		cmocka_unit_test(test_u32_bounds_inclusive),
		cmocka_unit_test(test_u32_out_of_bounds),
		cmocka_unit_test(test_u32_full_range),
		cmocka_unit_test(test_u32_overflow),
		cmocka_unit_test(test_u32_junk),
		cmocka_unit_test(test_u32_null),
		cmocka_unit_test(test_u32_failure_leaves_out),
		cmocka_unit_test(test_seconds_plain),
		cmocka_unit_test(test_seconds_zero_is_valid),
		cmocka_unit_test(test_seconds_upper_bound),
		cmocka_unit_test(test_seconds_junk),
		cmocka_unit_test(test_seconds_failure_leaves_out),
		cmocka_unit_test(test_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
