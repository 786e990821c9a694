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
	CT_HOOK_FENTRY,		/* fexit on TCP/UDP sendmsg/recvmsg (5.5+) */
	CT_HOOK_KPROBE,		/* kprobe + kretprobe on the same functions */
};

#define CT_HOOK_MAX_CHOICES 3
/* I/O hooks: the three tracepoint kinds, fentry, kprobe, then none. */
#define CT_IO_HOOK_MAX_CHOICES 6

/* What one tracepoint looks like on the running kernel. */
struct ct_tp_probe {
	bool in_btf;		/* vmlinux BTF has btf_trace_<name> */
	bool in_tracefs;	/* tracefs has events/<cat>/<name> (once mounted) */
};

/* The protocol functions the fentry and kprobe I/O hooks attach to. */
struct ct_fn_probe {
	bool tcp;		/* tcp_sendmsg and tcp_recvmsg in vmlinux BTF */
	bool udp;		/* udp_sendmsg and udp_recvmsg */
	bool udp6;		/* udpv6_*: absent when IPv6 is a module */
	bool recv_has_nonblock;	/* recvmsg(sk, msg, len, nonblock, flags, ...): < 5.19 */
	bool kprobes;		/* the kernel has kprobe events */
};

struct ct_probe {
	bool btf;		/* /sys/kernel/btf/vmlinux is readable */
	bool sk_storage_iter;	/* socket storage can be walked (5.9+) */
	struct ct_tp_probe state;	/* sock:inet_sock_set_state */
	struct ct_tp_probe io;		/* sock:sock_send_length/recv_length */
	struct ct_fn_probe fn;
};

/*
 * Fills out[] with the hooks to try for one tracepoint, best first, and
 * returns how many. tp_btf needs no tracefs and has typed arguments, so it
 * comes first; the classic tracepoint is the last resort.
 */
int ct_hook_choices(bool btf, const struct ct_tp_probe *tp,
		    enum ct_hook out[CT_HOOK_MAX_CHOICES]);

/*
 * The I/O hooks to try, best first: the sock_*_length tracepoints, then
 * fexit, then kprobes, and CT_HOOK_NONE last (ownership then comes from
 * connect/listen/close and the file walk only). Returns how many.
 */
int ct_io_hook_choices(const struct ct_probe *p,
		       enum ct_hook out[CT_IO_HOOK_MAX_CHOICES]);

/* The hook kind of a BPF program, from its section name; NONE if other. */
enum ct_hook ct_prog_hook(const char *section);

/*
 * Whether an I/O program of the chosen kind suits this kernel: it skips
 * functions the kernel lacks and the recvmsg layout it does not have.
 */
bool ct_io_prog_wanted(const char *prog_name, enum ct_hook h,
		       const struct ct_fn_probe *fn);

/*
 * Whether byte counts of TCP sockets can live in socket-local storage: it
 * needs a typed socket in both the I/O hook and the state hook (which
 * reads the last counts at close), and a way to walk the storage.
 */
bool ct_sk_storage_usable(const struct ct_probe *p, enum ct_hook state,
			  enum ct_hook io);

const char *ct_hook_name(enum ct_hook h);

/* Probes the running kernel. Returns 0, or -errno if BTF cannot be read. */
int ct_probe_kernel(struct ct_probe *p);

#endif
