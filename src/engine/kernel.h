/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The one place that knows which kernels offer what. Probing fills a
 * struct ct_probe; choosing is a pure function of it, so it can be tested
 * with made-up kernels. The BPF side's own differences live in
 * bpf/compat.bpf.h and are decided here.
 *
 * Every kernel difference conntrace handles ("-": commit not looked up):
 *
 *  Linux commit        what changed                   how conntrace copes
 *  4.16  -             sock:inet_sock_set_state       required (the state hook)
 *  4.17  c4f6699dfcb8  raw_tp programs                CT_HOOK_RAW_TP
 *  5.5   fec56f5890d9  BPF trampoline: fentry/fexit   CT_HOOK_FENTRY
 *  5.5   -             tp_btf (btf_trace_* typedefs)  CT_HOOK_TP_BTF, ct_tp_probe.in_btf
 *  5.8   457f44363a88  BPF ring buffer                required
 *  5.8   180139dca8b3  BPF iterators (task_file)      required; ls -p falls back to /proc
 *  5.9   5ce6e77c7edf  iterator over socket storage   ct_probe.sk_storage_iter
 *  5.12  5ffa25502b5a  atomic cmpxchg (-mcpu=v3)      required (Makefile's BPF_CFLAGS)
 *  5.12  9ed9e9ba2337  prog_info.recursion_misses     ct_session_losses(); 0 before
 *  5.14  3e87f192b405  lookup-and-delete, hash maps   ct_kernel_lookup_and_delete_refused()
 *  5.19  ec095263a965  recvmsg() lost 'nonblock'      ct_fn_probe.recv_has_nonblock and
 *                                                     bpf/compat.bpf.h
 *  6.3   -             sock:sock_{send,recv}_length   ct_probe.io: the best I/O hook
 *  4.15  e086101b150a  tcp:tcp_retransmit_skb         ct_tev_probe, CT_TEV_TP_RETRANS
 *  4.15  c24b14c46bb8  tcp:tcp_send_reset, _receive_  CT_TEV_TP_RST_SENT, _RST_RECV
 *  4.16  -             tcp:tcp_retransmit_synack      CT_TEV_TP_SYNACK
 *  5.17  c504e5c2f964  skb:kfree_skb has a reason     ct_tev_probe.kfree_reason: no drop
 *                                                     events before
 *  6.10  -             tcp_send_reset has a reason    ct_tev_probe.reset_reason
 *  6.11  -             kfree_skb has rx_sk            ct_tev_probe.kfree_rx_sk
 *  5.5   -             kernfs ids (cgroup ids) are    the state hook's cgroup
 *                      64-bit and only grow           filter: ids above the
 *                                                     listed highest are newer
 *  -     -             tcp_retransmit_skb has err     ct_tev_probe.retrans_err: an err
 *                      (not sent, not counted)        retransmit is skipped
 *  any   -             tracefs not mounted            ct_tracefs_ensure(), ct_tp_exists()
 *  any   -             kprobes compiled out           ct_fn_probe.kprobes
 *  any   -             IPv6 as a module (no udpv6_*)  ct_fn_probe.udp6
 *  5.1   492ecee892c2  prog_info.run_time_ns/run_cnt  ct_session_run_times(); 0 before,
 *                      (with kernel.bpf_stats_enabled) and while bpf_stats is off
 *  5.5   -             kernfs_node.id a plain u64     bpf/sock.bpf.h ct_task_cgroup()
 *  5.7   -             sock_diag INET_DIAG_CGROUP_ID  ls's cgroup of a socket without
 *                                                     owner; 0 (unknown) before
 *  6.2+? -             SKB_CONSUMED drop reason:      bpf/compat.bpf.h ct_skb_consumed():
 *                      kfree_skb for consumed skbs    checked only where the kernel has it
 *                      (absent in 6.1, in 6.12)       (6.1 refused every event hook)
 *  6.15  a3a128f611a9  SYN_RECV reported once the     bpf/compat.bpf.h ct_synrecv_addrs_unset():
 *                      child's addresses are set      before, the line waits for the
 *                                                     child's next transition (seen on
 *                                                     6.1 by tests/kmatrix)
 *  5.15  -             iter/tcp runs its program      top's retransmits of a connection
 *                      under the socket's lock        (tcp_iter.bpf.c read_ns): before,
 *                      (lock_sock_fast, batching)     a retransmit racing the read may
 *                                                     count twice or not at all
 */
#ifndef CT_KERNEL_H
#define CT_KERNEL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

enum ct_hook {
	CT_HOOK_NONE = 0,
	CT_HOOK_TP_BTF,		/* BTF-typed raw tracepoint (5.5+) */
	CT_HOOK_RAW_TP,		/* raw tracepoint (4.17+) */
	CT_HOOK_TRACEPOINT,	/* classic tracepoint, needs tracefs */
	CT_HOOK_FENTRY,		/* fexit on TCP/UDP sendmsg/recvmsg (5.5+) */
	CT_HOOK_KPROBE,		/* kprobe + kretprobe on the same functions */
	CT_HOOK_KINDS,
};

#define CT_HOOK_MAX_CHOICES 3
/* I/O hooks: the three tracepoint kinds, fentry, kprobe, then none. */
#define CT_IO_HOOK_MAX_CHOICES 6

/* What one tracepoint looks like on the running kernel. */
struct ct_tp_probe {
	bool in_btf;		/* vmlinux BTF has btf_trace_<name> */
	/*
	 * The classic tracepoint exists: tracefs lists it, or, while tracefs
	 * is not mounted, BTF has its event record (trace_event_raw_<class>).
	 */
	bool in_tracefs;
};

/* The protocol functions the fentry and kprobe I/O hooks attach to. */
struct ct_fn_probe {
	bool tcp;		/* tcp_sendmsg and tcp_recvmsg in vmlinux BTF */
	bool udp;		/* udp_sendmsg and udp_recvmsg */
	bool udp6;		/* udpv6_*: absent when IPv6 is a module */
	bool recv_has_nonblock;	/* recvmsg(sk, msg, len, nonblock, flags, ...): < 5.19 */
	bool kprobes;		/* the kernel has kprobe events */
};

/* The tracepoints of the event hooks (bpf/events.bpf.c). */
enum ct_tev_tp {
	CT_TEV_TP_RETRANS = 0,	/* tcp:tcp_retransmit_skb */
	CT_TEV_TP_SYNACK,	/* tcp:tcp_retransmit_synack */
	CT_TEV_TP_RST_SENT,	/* tcp:tcp_send_reset */
	CT_TEV_TP_RST_RECV,	/* tcp:tcp_receive_reset */
	CT_TEV_TP_DROP,		/* skb:kfree_skb */
	CT_TEV_TP_MAX,
};

struct ct_tev_probe {
	struct ct_tp_probe tp[CT_TEV_TP_MAX];
	bool retrans_err;	/* tcp_retransmit_skb(sk, skb, err) */
	bool reset_reason;	/* tcp_send_reset(sk, skb, reason): 6.10+ */
	bool kfree_reason;	/* kfree_skb(skb, location, reason): 5.17+ */
	bool kfree_rx_sk;	/* kfree_skb(..., reason, rx_sk): 6.11+ */
};

struct ct_probe {
	bool btf;		/* the kernel's BTF is readable */
	bool sk_storage_iter;	/* socket storage can be walked (5.9+) */
	struct ct_tp_probe state;	/* sock:inet_sock_set_state */
	struct ct_tp_probe io;		/* sock:sock_send_length/recv_length */
	struct ct_fn_probe fn;
	struct ct_tev_probe tev;	/* the event hooks' tracepoints */
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

/* The kernel functions an fexit or kprobe I/O program attaches to. */
enum ct_fn { CT_FN_TCP, CT_FN_UDP, CT_FN_UDP6 };

/* Which recvmsg() layout an fexit program is written for. */
enum ct_recv_layout {
	CT_RECV_ANY = 0,	/* not recvmsg, or reads no argument after len */
	CT_RECV_FLAGS4,		/* (sk, msg, len, flags, addr_len): 5.19+ */
	CT_RECV_NONBLOCK,	/* (sk, msg, len, nonblock, flags, addr_len) */
};

/*
 * Whether a function-hook program suits this kernel: the kernel has the
 * function, and (for fexit, which sees typed arguments) its recvmsg has
 * the layout the program was written for. kprobes read flags from a
 * register that the load-time setting recv_flags_arg names.
 */
bool ct_fn_prog_usable(const struct ct_fn_probe *fn, enum ct_hook h,
		       enum ct_fn f, enum ct_recv_layout layout);

/* Which argument of recvmsg() holds flags (1-based): 5 before 5.19. */
int ct_recv_flags_arg(const struct ct_fn_probe *fn);

/*
 * Whether byte counts of TCP sockets can live in socket-local storage: it
 * needs a typed socket in both the I/O hook and the state hook (which
 * reads the last counts at close), and a way to walk the storage.
 */
bool ct_sk_storage_usable(const struct ct_probe *p, enum ct_hook state,
			  enum ct_hook io);

/*
 * Kernels before 5.14 (commit 3e87f192b405) refuse lookup-and-delete on
 * hash maps; true if err (an errno) is that refusal, so the caller looks
 * up and deletes in two steps.
 */
bool ct_kernel_lookup_and_delete_refused(int err);

const char *ct_hook_name(enum ct_hook h);

/* Hooks forced by the user (CONNTRACE_HOOKS), for a kernel that misleads. */
struct ct_hook_force {
	bool state_set, io_set;
	enum ct_hook state;	/* tp_btf, raw_tp or tracepoint */
	enum ct_hook io;	/* any, or none */
};

#define CT_HOOKS_ENV "CONNTRACE_HOOKS"

/*
 * Parses "io=kprobe,state=raw_tp" (either part may be left out; fexit is
 * a synonym of fentry). NULL or "" forces nothing. Returns 0, or -EINVAL
 * with a one-line reason in err.
 */
int ct_hook_force_parse(const char *spec, struct ct_hook_force *f,
			char *err, size_t errlen);

/*
 * Narrows a list of choices to the forced hook, if one is forced: the
 * user knows better than the probe. Returns the new count.
 */
int ct_hook_force_apply(bool set, enum ct_hook forced, enum ct_hook *choices,
			int n);

/*
 * Whether a classic tracepoint exists, from what tracefs says (one of
 * enum ct_tracefs_answer) and, when it is not mounted, from BTF.
 */
bool ct_tp_exists(int tracefs_answer, bool event_class_in_btf);

/*
 * Where the kernel's BTF is read from: $CONNTRACE_BTF (a BTF file, for a
 * kernel without /sys/kernel/btf/vmlinux, and for tests), else sysfs.
 * ct_kernel_btf_custom() is NULL when it is not set.
 */
#define CT_BTF_ENV "CONNTRACE_BTF"
const char *ct_kernel_btf_path(void);
const char *ct_kernel_btf_custom(void);

/* The BTF file exists, but is not BTF (empty, truncated, junk). */
#define CT_EBTF_INVALID (-EBADMSG)

/*
 * Probes the running kernel. Returns 0; -errno if the BTF cannot be
 * opened; CT_EBTF_INVALID if it is not valid BTF.
 */
int ct_probe_kernel(struct ct_probe *p);

/* One line on why ct_probe_kernel() failed with rc. */
void ct_probe_strerror(int rc, char *buf, size_t len);

/*
 * The hook for one event tracepoint: tp_btf, else raw_tp (neither needs
 * tracefs), else CT_HOOK_NONE, also for kfree_skb without its reason.
 */
enum ct_hook ct_tev_hook(const struct ct_probe *p, enum ct_tev_tp tp);

/* One line on why an event tracepoint has no hook here, for a warning. */
const char *ct_tev_missing_reason(const struct ct_probe *p, enum ct_tev_tp tp);

/*
 * The names of a kernel enum's values, from the kernel's BTF, with a
 * common prefix cut ("SKB_DROP_REASON_"): names[v] for 0 <= v < *n, NULL
 * where no name has that value. The reasons differ from kernel to kernel,
 * so they are read, never compiled in. Free with ct_kernel_enum_free().
 * 0 or -errno (-ENOENT: no such enum).
 */
int ct_kernel_enum_names(const char *enum_name, const char *prefix,
			 char ***names, size_t *n);
void ct_kernel_enum_free(char **names, size_t n);

/*
 * Several enums' names from one parse of the kernel's BTF, which costs
 * tens of milliseconds of CPU each time. Each entry is filled as by
 * ct_kernel_enum_names() (NULL and 0 where its enum is missing); returns
 * 0 or the first error.
 */
struct ct_enum_names {
	const char *enum_name, *prefix;	/* in */
	char **names;			/* out */
	size_t n;
};
int ct_kernel_enums(struct ct_enum_names *want, size_t count);

#endif
