// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "hooks.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "tracefs.h"

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

const char *ct_hook_name(enum ct_hook h)
{
	switch (h) {
	case CT_HOOK_TP_BTF:
		return "tp_btf";
	case CT_HOOK_RAW_TP:
		return "raw_tp";
	case CT_HOOK_TRACEPOINT:
		return "tracepoint";
	default:
		return "none";
	}
}

static bool btf_has_typedef(const struct btf *btf, const char *name)
{
	return btf && btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) > 0;
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
	btf__free(btf);

	p->state.in_tracefs = ct_tracefs_has_event("sock", "inet_sock_set_state");
	p->io.in_tracefs = ct_tracefs_has_event("sock", "sock_send_length") &&
			   ct_tracefs_has_event("sock", "sock_recv_length");
	return 0;
}
