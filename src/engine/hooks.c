// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/hooks.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/tracefs.h"

int ct_hook_choices(bool btf, const struct ct_tp_probe *tp,
		    enum ct_hook out[CT_HOOK_MAX_CHOICES])
{
	int n = 0;

	/* Without BTF nothing CO-RE loads, whatever the hook. */
	if (!btf)
		return 0;
	if (tp->in_btf) {
		out[n++] = CT_HOOK_TP_BTF;
		out[n++] = CT_HOOK_RAW_TP;
	} else if (tp->in_tracefs) {
		/* Tracepoint exists, but BTF predates typed tracepoints. */
		out[n++] = CT_HOOK_RAW_TP;
	}
	if (tp->in_tracefs)
		out[n++] = CT_HOOK_TRACEPOINT;
	return n;
}

int ct_io_hook_choices(const struct ct_probe *p,
		       enum ct_hook out[CT_IO_HOOK_MAX_CHOICES])
{
	int n = ct_hook_choices(p->btf, &p->io, out);

	if (p->btf && (p->fn.tcp || p->fn.udp)) {
		out[n++] = CT_HOOK_FENTRY;
		if (p->fn.kprobes)
			out[n++] = CT_HOOK_KPROBE;
	}
	out[n++] = CT_HOOK_NONE;
	return n;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

enum ct_hook ct_prog_hook(const char *sec)
{
	if (starts_with(sec, "tp_btf/"))
		return CT_HOOK_TP_BTF;
	if (starts_with(sec, "raw_tp/"))
		return CT_HOOK_RAW_TP;
	if (starts_with(sec, "tracepoint/"))
		return CT_HOOK_TRACEPOINT;
	if (starts_with(sec, "fexit/") || starts_with(sec, "fentry/"))
		return CT_HOOK_FENTRY;
	if (starts_with(sec, "kprobe/") || starts_with(sec, "kretprobe/"))
		return CT_HOOK_KPROBE;
	return CT_HOOK_NONE;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && !strcmp(s + ls - lx, suffix);
}

bool ct_io_prog_wanted(const char *name, enum ct_hook h,
		       const struct ct_fn_probe *fn)
{
	if (h != CT_HOOK_FENTRY && h != CT_HOOK_KPROBE)
		return true;
	if (strstr(name, "udpv6_"))
		return fn->udp6;
	if (strstr(name, "udp_"))
		return fn->udp;
	if (!fn->tcp)
		return false;
	/* Only fexit needs the exact layout; kprobes read the flags register. */
	if (h == CT_HOOK_FENTRY && strstr(name, "recvmsg"))
		return ends_with(name, "_old") == fn->recv_has_nonblock;
	return true;
}

bool ct_sk_storage_usable(const struct ct_probe *p, enum ct_hook state,
			  enum ct_hook io)
{
	return p->sk_storage_iter && state == CT_HOOK_TP_BTF &&
	       (io == CT_HOOK_TP_BTF || io == CT_HOOK_FENTRY);
}

const char *ct_hook_name(enum ct_hook h)
{
	switch (h) {
	case CT_HOOK_TP_BTF:
		return "tp_btf";
	case CT_HOOK_RAW_TP:
		return "raw_tp";
	case CT_HOOK_TRACEPOINT:
		return "tracepoint";
	case CT_HOOK_FENTRY:
		return "fentry";
	case CT_HOOK_KPROBE:
		return "kprobe";
	default:
		return "none";
	}
}

static bool btf_has_typedef(const struct btf *btf, const char *name)
{
	return btf && btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) > 0;
}

static bool btf_has_func(const struct btf *btf, const char *name)
{
	return btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;
}

/* Number of parameters of a kernel function, -1 if unknown. */
static int btf_func_nargs(const struct btf *btf, const char *name)
{
	int id = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC);
	const struct btf_type *t;

	if (id <= 0)
		return -1;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	return t ? btf_vlen(t) : -1;
}

static void probe_functions(const struct btf *btf, struct ct_fn_probe *fn)
{
	fn->tcp = btf_has_func(btf, "tcp_sendmsg") &&
		  btf_has_func(btf, "tcp_recvmsg");
	fn->udp = btf_has_func(btf, "udp_sendmsg") &&
		  btf_has_func(btf, "udp_recvmsg");
	fn->udp6 = btf_has_func(btf, "udpv6_sendmsg") &&
		   btf_has_func(btf, "udpv6_recvmsg");
	fn->recv_has_nonblock = btf_func_nargs(btf, "tcp_recvmsg") == 6;
	fn->kprobes = access("/sys/bus/event_source/devices/kprobe", F_OK) == 0;
}

int ct_probe_kernel(struct ct_probe *p)
{
	struct btf *btf;

	*p = (struct ct_probe){ 0 };
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return -errno;
	btf = btf__load_vmlinux_btf();
	if (!btf)
		return -errno ? -errno : -ENOENT;
	p->btf = true;
	p->state.in_btf = btf_has_typedef(btf, "btf_trace_inet_sock_set_state");
	p->io.in_btf = btf_has_typedef(btf, "btf_trace_sock_send_length") &&
		       btf_has_typedef(btf, "btf_trace_sock_recv_length");
	probe_functions(btf, &p->fn);
	p->sk_storage_iter = btf__find_by_name_kind(
		btf, "bpf_iter__bpf_sk_storage_map", BTF_KIND_STRUCT) > 0;
	btf__free(btf);

	p->state.in_tracefs = ct_tracefs_has_event("sock", "inet_sock_set_state");
	p->io.in_tracefs = ct_tracefs_has_event("sock", "sock_send_length") &&
			   ct_tracefs_has_event("sock", "sock_recv_length");
	return 0;
}
