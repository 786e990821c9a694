// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "engine/kernel.h"
#include "engine/session.h"
#include "engine/tracefs.h"

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

static void test_fentry_recvmsg_layout(void **state)
{
	(void)state;
	/* 6.18: five-argument recvmsg, so the plain variant. */
	assert_true(ct_fn_prog_usable(&linux_6_18.fn, CT_HOOK_FENTRY, CT_FN_TCP,
				      CT_RECV_FLAGS4));
	assert_false(ct_fn_prog_usable(&linux_6_18.fn, CT_HOOK_FENTRY, CT_FN_TCP,
				       CT_RECV_NONBLOCK));
	/* 5.14: 'nonblock' still there. */
	assert_false(ct_fn_prog_usable(&linux_5_14.fn, CT_HOOK_FENTRY, CT_FN_TCP,
				       CT_RECV_FLAGS4));
	assert_true(ct_fn_prog_usable(&linux_5_14.fn, CT_HOOK_FENTRY, CT_FN_TCP,
				      CT_RECV_NONBLOCK));
	assert_true(ct_fn_prog_usable(&linux_5_14.fn, CT_HOOK_FENTRY, CT_FN_TCP,
				      CT_RECV_ANY));
	/* kprobes read the flags register that recv_flags_arg names. */
	assert_int_equal(ct_recv_flags_arg(&linux_5_14.fn), 5);
	assert_int_equal(ct_recv_flags_arg(&linux_6_18.fn), 4);
}

static void test_missing_functions_skipped(void **state)
{
	(void)state;
	/* IPv6 as a module: udpv6_* are not in vmlinux BTF. */
	assert_false(ct_fn_prog_usable(&linux_5_14.fn, CT_HOOK_FENTRY, CT_FN_UDP6,
				       CT_RECV_ANY));
	assert_false(ct_fn_prog_usable(&linux_5_14.fn, CT_HOOK_KPROBE, CT_FN_UDP6,
				       CT_RECV_ANY));
	assert_true(ct_fn_prog_usable(&linux_5_14.fn, CT_HOOK_KPROBE, CT_FN_UDP,
				      CT_RECV_ANY));
}

/* The programs of one group and hook on a faked kernel, as one string. */
static const char *progs(const struct ct_probe *p, enum ct_prog_group g,
			 enum ct_hook h, bool sk_storage)
{
	static char buf[1024];
	const char *names[64];
	size_t n = ct_session_programs(p, g, h, sk_storage, names, 64), len = 0;

	buf[0] = '\0';
	assert_true(n <= 64);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
					i ? " " : "", names[i]);
	return buf;
}

static void test_variants_state(void **state)
{
	(void)state;
	/* Each with its second program, after it (state.bpf.c). */
	assert_string_equal(progs(&linux_6_18, CT_GROUP_STATE, CT_HOOK_TP_BTF, false),
			    "ct_state_btf ct_rescue_btf");
	assert_string_equal(progs(&linux_6_18, CT_GROUP_STATE, CT_HOOK_RAW_TP, false),
			    "ct_state_raw ct_rescue_raw");
	assert_string_equal(progs(&linux_6_18, CT_GROUP_STATE, CT_HOOK_TRACEPOINT, false),
			    "ct_state_tp");
	assert_string_equal(progs(&linux_6_18, CT_GROUP_STATE, CT_HOOK_NONE, false), "");
}

static void test_variants_io(void **state)
{
	(void)state;
	assert_string_equal(progs(&linux_6_18, CT_GROUP_IO, CT_HOOK_TP_BTF, false),
			    "ct_send_btf ct_recv_btf");
	assert_string_equal(progs(&linux_6_18, CT_GROUP_IO, CT_HOOK_NONE, false), "");
	/* 6.18's fexit: the 5.19+ recvmsg layout, every protocol. */
	assert_string_equal(progs(&linux_6_18, CT_GROUP_IO, CT_HOOK_FENTRY, false),
			    "ct_fx_tcp_sendmsg ct_fx_udp_sendmsg ct_fx_udpv6_sendmsg "
			    "ct_fx_tcp_recvmsg ct_fx_udp_recvmsg ct_fx_udpv6_recvmsg");
	/* 5.14: the old layout, and no IPv6 functions in vmlinux. */
	assert_string_equal(progs(&linux_5_14, CT_GROUP_IO, CT_HOOK_FENTRY, false),
			    "ct_fx_tcp_sendmsg ct_fx_udp_sendmsg "
			    "ct_fx_tcp_recvmsg_old ct_fx_udp_recvmsg_old");
	assert_string_equal(progs(&linux_5_14, CT_GROUP_IO, CT_HOOK_KPROBE, false),
			    "ct_kp_tcp_sendmsg ct_kr_tcp_sendmsg ct_kp_udp_sendmsg "
			    "ct_kr_udp_sendmsg ct_kp_tcp_recvmsg ct_kr_tcp_recvmsg "
			    "ct_kp_udp_recvmsg ct_kr_udp_recvmsg");
}

static void test_variants_iterators(void **state)
{
	(void)state;
	assert_string_equal(progs(&linux_6_18, CT_GROUP_ITER, CT_HOOK_NONE, false),
			    "ct_seed_files ct_owner_files ct_tcp_counters");
	assert_string_equal(progs(&linux_6_18, CT_GROUP_ITER, CT_HOOK_NONE, true),
			    "ct_seed_files ct_owner_files ct_dump_sk_conns "
			    "ct_tcp_counters");
	/* A short array still gets the full count, like snprintf. */
	{
		const char *one[1];

		assert_int_equal(ct_session_programs(&linux_6_18, CT_GROUP_ITER,
						     CT_HOOK_NONE, true, one, 1), 4);
		assert_string_equal(one[0], "ct_seed_files");
	}
}

static void test_lookup_and_delete_refusal(void **state)
{
	(void)state;
	/* Before 5.14 the kernel says EINVAL, or its own ENOTSUPP (524). */
	assert_true(ct_kernel_lookup_and_delete_refused(EINVAL));
	assert_true(ct_kernel_lookup_and_delete_refused(524));
	assert_true(ct_kernel_lookup_and_delete_refused(EOPNOTSUPP));
	assert_false(ct_kernel_lookup_and_delete_refused(ENOENT));
	assert_false(ct_kernel_lookup_and_delete_refused(EPERM));
}

static void test_force_parse(void **state)
{
	struct ct_hook_force f;
	char err[256];

	(void)state;
	assert_int_equal(ct_hook_force_parse(NULL, &f, err, sizeof(err)), 0);
	assert_false(f.state_set || f.io_set);
	assert_int_equal(ct_hook_force_parse("", &f, err, sizeof(err)), 0);
	assert_false(f.state_set || f.io_set);
	assert_int_equal(ct_hook_force_parse("io=kprobe,state=raw_tp", &f, err,
					     sizeof(err)), 0);
	assert_true(f.io_set && f.state_set);
	assert_int_equal(f.io, CT_HOOK_KPROBE);
	assert_int_equal(f.state, CT_HOOK_RAW_TP);
	assert_int_equal(ct_hook_force_parse("io=fexit", &f, err, sizeof(err)), 0);
	assert_true(f.io_set && !f.state_set);
	assert_int_equal(f.io, CT_HOOK_FENTRY);
	assert_int_equal(ct_hook_force_parse("io=none", &f, err, sizeof(err)), 0);
	assert_true(f.io_set);
	assert_int_equal(f.io, CT_HOOK_NONE);
	assert_int_equal(ct_hook_force_parse("state=tracepoint,", &f, err,
					     sizeof(err)), 0);
	assert_int_equal(f.state, CT_HOOK_TRACEPOINT);
}

static void test_force_parse_errors(void **state)
{
	static const char *const bad[] = {
		"io", "io=", "io=kprob", "io=kprobes", "state=fentry",
		"state=kprobe", "state=none", "net=tp_btf", "=tp_btf",
		"io=tp_btf,,state", "IO=tp_btf", "io = tp_btf",
	};
	struct ct_hook_force f;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(ct_hook_force_parse(bad[i], &f, err, sizeof(err)),
				 -EINVAL);
		/* One line that names the variable. */
		assert_non_null(strstr(err, "CONNTRACE_HOOKS"));
		assert_null(strchr(err, '\n'));
	}
	ct_hook_force_parse("io=tp_btf,state=bogus", &f, err, sizeof(err));
	assert_non_null(strstr(err, "'state=bogus'"));
}

static void test_force_apply(void **state)
{
	enum ct_hook c[CT_IO_HOOK_MAX_CHOICES] = { CT_HOOK_TP_BTF, CT_HOOK_RAW_TP,
						   CT_HOOK_NONE };

	(void)state;
	assert_int_equal(ct_hook_force_apply(false, CT_HOOK_KPROBE, c, 3), 3);
	assert_int_equal(c[0], CT_HOOK_TP_BTF);
	/* Forced even where the probe saw nothing: the user knows better. */
	assert_int_equal(ct_hook_force_apply(true, CT_HOOK_KPROBE, c, 0), 1);
	assert_int_equal(c[0], CT_HOOK_KPROBE);
}

/* A faked tracefs: a temporary directory with the given events. */
static void fake_tracefs(char *root, size_t len, bool mounted,
			 const char *const *events)
{
	char path[512];

	snprintf(root, len, "%s/ct-tracefs-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(root));
	if (!mounted)
		return;
	snprintf(path, sizeof(path), "%s/events", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/events/sock", root);
	assert_int_equal(mkdir(path, 0700), 0);
	for (; *events; events++) {
		snprintf(path, sizeof(path), "%s/events/sock/%s", root, *events);
		assert_int_equal(mkdir(path, 0700), 0);
	}
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tree(const char *root)
{
	assert_int_equal(nftw(root, remove_one, 8, FTW_DEPTH | FTW_PHYS), 0);
}

/* Debian 12's 6.1 has inet_sock_set_state but no sock_*_length. */
static void test_tracefs_linux_6_1(void **state)
{
	static const char *const events[] = { "inet_sock_set_state", NULL };
	char root[256];

	(void)state;
	fake_tracefs(root, sizeof(root), true, events);
	assert_int_equal(ct_tracefs_event_at(root, "sock", "inet_sock_set_state"),
			 CT_TRACEFS_YES);
	assert_int_equal(ct_tracefs_event_at(root, "sock", "sock_send_length"),
			 CT_TRACEFS_NO);
	assert_int_equal(ct_tracefs_event_at(root, "sock", "sock_recv_length"),
			 CT_TRACEFS_NO);
	remove_tree(root);
}

/*
 * The bug of issue 13: with tracefs not mounted, the probe said every
 * tracepoint existed. An empty mount point says nothing; BTF decides.
 */
static void test_tracefs_unmounted(void **state)
{
	static const char *const none[] = { NULL };
	char root[256];
	int a;

	(void)state;
	fake_tracefs(root, sizeof(root), false, none);
	a = ct_tracefs_event_at(root, "sock", "sock_send_length");
	assert_int_equal(a, CT_TRACEFS_UNMOUNTED);
	assert_false(ct_tp_exists(a, false));
	assert_true(ct_tp_exists(a, true));
	remove_tree(root);
	/* Mounted, tracefs is believed over BTF. */
	assert_true(ct_tp_exists(CT_TRACEFS_YES, false));
	assert_false(ct_tp_exists(CT_TRACEFS_NO, true));
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
		cmocka_unit_test(test_fentry_recvmsg_layout),
		cmocka_unit_test(test_missing_functions_skipped),
		cmocka_unit_test(test_variants_state),
		cmocka_unit_test(test_variants_io),
		cmocka_unit_test(test_variants_iterators),
		cmocka_unit_test(test_lookup_and_delete_refusal),
		cmocka_unit_test(test_force_parse),
		cmocka_unit_test(test_force_parse_errors),
		cmocka_unit_test(test_force_apply),
		cmocka_unit_test(test_tracefs_linux_6_1),
		cmocka_unit_test(test_tracefs_unmounted),
		cmocka_unit_test(test_sk_storage_needs_typed_hooks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
