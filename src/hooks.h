/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The one place that knows which kernels offer which hooks. Probing fills a
 * struct ct_probe; choosing is a pure function of it, so it can be tested
 * with made-up kernels.
 */
#ifndef CT_HOOKS_H
#define CT_HOOKS_H

#include <stdbool.h>

enum ct_hook {
	CT_HOOK_NONE = 0,
	CT_HOOK_TP_BTF,		/* BTF-typed raw tracepoint (5.5+) */
	CT_HOOK_RAW_TP,		/* raw tracepoint (4.17+) */
	CT_HOOK_TRACEPOINT,	/* classic tracepoint, needs tracefs */
};

#define CT_HOOK_MAX_CHOICES 3

/* What one tracepoint looks like on the running kernel. */
struct ct_tp_probe {
	bool in_btf;		/* vmlinux BTF has btf_trace_<name> */
	bool in_tracefs;	/* tracefs has events/<cat>/<name> (once mounted) */
};

struct ct_probe {
	bool btf;		/* /sys/kernel/btf/vmlinux is readable */
	struct ct_tp_probe state;	/* sock:inet_sock_set_state */
	struct ct_tp_probe io;		/* sock:sock_send_length/recv_length */
};

/*
 * Fills out[] with the hooks to try for one tracepoint, best first, and
 * returns how many. tp_btf needs no tracefs and has typed arguments, so it
 * comes first; the classic tracepoint is the last resort.
 */
int ct_hook_choices(bool btf, const struct ct_tp_probe *tp,
		    enum ct_hook out[CT_HOOK_MAX_CHOICES]);

const char *ct_hook_name(enum ct_hook h);

/* Probes the running kernel. Returns 0, or -errno if BTF cannot be read. */
int ct_probe_kernel(struct ct_probe *p);

#endif
