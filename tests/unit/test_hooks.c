// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/hooks.h"

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

/* Kernels as the I/O hook choice sees them. */
static const struct ct_probe linux_6_18 = {
	.btf = true,
	.state = { true, true },
	.io = { true, true },
	.fn = { .tcp = true, .udp = true, .udp6 = true, .kprobes = false },
};
/* RHEL 9 / Ubuntu 22.04: no sock_*_length, old recvmsg, kprobes on. */
static const struct ct_probe linux_5_14 = {
	.btf = true,
	.state = { true, true },
	.io = { false, false },
	.fn = { .tcp = true, .udp = true, .udp6 = false,
		.recv_has_nonblock = true, .kprobes = true },
};

static void test_io_choices_new_kernel(void **state)
{
	enum ct_hook out[CT_IO_HOOK_MAX_CHOICES];
	int n;

	(void)state;
	n = ct_io_hook_choices(&linux_6_18, out);
	/* Tracepoints first; fentry next (no kprobes here); none last. */
	assert_int_equal(n, 5);
	assert_int_equal(out[0], CT_HOOK_TP_BTF);
	assert_int_equal(out[1], CT_HOOK_RAW_TP);
	assert_int_equal(out[2], CT_HOOK_TRACEPOINT);
	assert_int_equal(out[3], CT_HOOK_FENTRY);
	assert_int_equal(out[4], CT_HOOK_NONE);
}

static void test_io_choices_old_kernel(void **state)
{
	enum ct_hook out[CT_IO_HOOK_MAX_CHOICES];

	(void)state;
	assert_int_equal(ct_io_hook_choices(&linux_5_14, out), 3);
	assert_int_equal(out[0], CT_HOOK_FENTRY);
	assert_int_equal(out[1], CT_HOOK_KPROBE);
	assert_int_equal(out[2], CT_HOOK_NONE);
}

static void test_io_choices_without_btf(void **state)
{
	struct ct_probe p = linux_5_14;
	enum ct_hook out[CT_IO_HOOK_MAX_CHOICES];

	(void)state;
	p.btf = false;
	assert_int_equal(ct_io_hook_choices(&p, out), 1);
	assert_int_equal(out[0], CT_HOOK_NONE);
}

static void test_prog_hook_from_section(void **state)
{
	(void)state;
	assert_int_equal(ct_prog_hook("tp_btf/sock_send_length"), CT_HOOK_TP_BTF);
	assert_int_equal(ct_prog_hook("raw_tp/inet_sock_set_state"), CT_HOOK_RAW_TP);
	assert_int_equal(ct_prog_hook("tracepoint/sock/sock_recv_length"),
			 CT_HOOK_TRACEPOINT);
	assert_int_equal(ct_prog_hook("fexit/tcp_sendmsg"), CT_HOOK_FENTRY);
	assert_int_equal(ct_prog_hook("fentry/tcp_sendmsg"), CT_HOOK_FENTRY);
	assert_int_equal(ct_prog_hook("kprobe/tcp_sendmsg"), CT_HOOK_KPROBE);
	assert_int_equal(ct_prog_hook("kretprobe/tcp_sendmsg"), CT_HOOK_KPROBE);
	assert_int_equal(ct_prog_hook("iter/task_file"), CT_HOOK_NONE);
}

static void test_fentry_recvmsg_layout(void **state)
{
	(void)state;
	/* 6.18: five-argument recvmsg, so the plain variant. */
	assert_true(ct_io_prog_wanted("ct_fx_tcp_recvmsg", CT_HOOK_FENTRY,
				      &linux_6_18.fn));
	assert_false(ct_io_prog_wanted("ct_fx_tcp_recvmsg_old", CT_HOOK_FENTRY,
				       &linux_6_18.fn));
	/* 5.14: 'nonblock' still there. */
	assert_false(ct_io_prog_wanted("ct_fx_tcp_recvmsg", CT_HOOK_FENTRY,
				       &linux_5_14.fn));
	assert_true(ct_io_prog_wanted("ct_fx_tcp_recvmsg_old", CT_HOOK_FENTRY,
				      &linux_5_14.fn));
	assert_true(ct_io_prog_wanted("ct_fx_tcp_sendmsg", CT_HOOK_FENTRY,
				      &linux_5_14.fn));
}

static void test_missing_functions_skipped(void **state)
{
	(void)state;
	/* IPv6 as a module: udpv6_* are not in vmlinux BTF. */
	assert_false(ct_io_prog_wanted("ct_fx_udpv6_sendmsg", CT_HOOK_FENTRY,
				       &linux_5_14.fn));
	assert_false(ct_io_prog_wanted("ct_kp_udpv6_recvmsg", CT_HOOK_KPROBE,
				       &linux_5_14.fn));
	assert_true(ct_io_prog_wanted("ct_kp_udp_recvmsg", CT_HOOK_KPROBE,
				      &linux_5_14.fn));
	/* kprobes read flags from a register: one variant for all layouts. */
	assert_true(ct_io_prog_wanted("ct_kp_tcp_recvmsg", CT_HOOK_KPROBE,
				      &linux_5_14.fn));
	/* Tracepoint programs do not depend on the functions. */
	assert_true(ct_io_prog_wanted("ct_send_btf", CT_HOOK_TP_BTF,
				      &linux_5_14.fn));
}

static void test_sk_storage_needs_typed_hooks(void **state)
{
	struct ct_probe p = linux_6_18;

	(void)state;
	p.sk_storage_iter = true;
	assert_true(ct_sk_storage_usable(&p, CT_HOOK_TP_BTF, CT_HOOK_TP_BTF));
	assert_true(ct_sk_storage_usable(&p, CT_HOOK_TP_BTF, CT_HOOK_FENTRY));
	/* The last counts are read at close by the state hook: typed too. */
	assert_false(ct_sk_storage_usable(&p, CT_HOOK_RAW_TP, CT_HOOK_TP_BTF));
	assert_false(ct_sk_storage_usable(&p, CT_HOOK_TP_BTF, CT_HOOK_RAW_TP));
	assert_false(ct_sk_storage_usable(&p, CT_HOOK_TP_BTF, CT_HOOK_KPROBE));
	p.sk_storage_iter = false;
	assert_false(ct_sk_storage_usable(&p, CT_HOOK_TP_BTF, CT_HOOK_TP_BTF));
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
		cmocka_unit_test(test_io_choices_new_kernel),
		cmocka_unit_test(test_io_choices_old_kernel),
		cmocka_unit_test(test_io_choices_without_btf),
		cmocka_unit_test(test_prog_hook_from_section),
		cmocka_unit_test(test_fentry_recvmsg_layout),
		cmocka_unit_test(test_missing_functions_skipped),
		cmocka_unit_test(test_sk_storage_needs_typed_hooks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
