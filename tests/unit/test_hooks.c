// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hooks.h"

/* Poisoned so a test sees any slot the function should not have written. */
#define POISON ((enum ct_hook)0x5a)

static int choose(bool btf, bool in_btf, bool in_tracefs,
		  enum ct_hook out[CT_HOOK_MAX_CHOICES])
{
	struct ct_tp_probe tp = { .in_btf = in_btf, .in_tracefs = in_tracefs };

	for (int i = 0; i < CT_HOOK_MAX_CHOICES; i++)
		out[i] = POISON;
	return ct_hook_choices(btf, &tp, out);
}

static void test_no_btf_means_no_choice(void **state)
{
	enum ct_hook out[CT_HOOK_MAX_CHOICES];

	(void)state;
	assert_int_equal(choose(false, true, true, out), 0);
	assert_int_equal(choose(false, false, true, out), 0);
	assert_int_equal(choose(false, true, false, out), 0);
	assert_int_equal(choose(false, false, false, out), 0);
	assert_int_equal(out[0], POISON);
}

static void test_btf_and_tracefs(void **state)
{
	enum ct_hook out[CT_HOOK_MAX_CHOICES];

	(void)state;
	assert_int_equal(choose(true, true, true, out), 3);
	assert_int_equal(out[0], CT_HOOK_TP_BTF);
	assert_int_equal(out[1], CT_HOOK_RAW_TP);
	assert_int_equal(out[2], CT_HOOK_TRACEPOINT);
}

static void test_btf_without_tracefs(void **state)
{
	enum ct_hook out[CT_HOOK_MAX_CHOICES];

	(void)state;
	assert_int_equal(choose(true, true, false, out), 2);
	assert_int_equal(out[0], CT_HOOK_TP_BTF);
	assert_int_equal(out[1], CT_HOOK_RAW_TP);
	assert_int_equal(out[2], POISON);
}

static void test_tracefs_only(void **state)
{
	enum ct_hook out[CT_HOOK_MAX_CHOICES];

	(void)state;
	assert_int_equal(choose(true, false, true, out), 2);
	assert_int_equal(out[0], CT_HOOK_RAW_TP);
	assert_int_equal(out[1], CT_HOOK_TRACEPOINT);
	assert_int_equal(out[2], POISON);
}

static void test_tracepoint_missing(void **state)
{
	enum ct_hook out[CT_HOOK_MAX_CHOICES];

	(void)state;
	assert_int_equal(choose(true, false, false, out), 0);
	assert_int_equal(out[0], POISON);
}

static void test_hook_names(void **state)
{
	(void)state;
	assert_string_equal(ct_hook_name(CT_HOOK_NONE), "none");
	assert_string_equal(ct_hook_name(CT_HOOK_TP_BTF), "tp_btf");
	assert_string_equal(ct_hook_name(CT_HOOK_RAW_TP), "raw_tp");
	assert_string_equal(ct_hook_name(CT_HOOK_TRACEPOINT), "tracepoint");
	assert_string_equal(ct_hook_name((enum ct_hook)42), "none");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_btf_means_no_choice),
		cmocka_unit_test(test_btf_and_tracefs),
		cmocka_unit_test(test_btf_without_tracefs),
		cmocka_unit_test(test_tracefs_only),
		cmocka_unit_test(test_tracepoint_missing),
		cmocka_unit_test(test_hook_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
