/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Maps shared by every BPF program of conntrace. The programs live in one
 * .bpf.c per concern and are linked into a single object, so each map is
 * defined once (in maps.bpf.c) and declared extern everywhere else.
 */
#ifndef CT_MAPS_BPF_H
#define CT_MAPS_BPF_H

#include "conntrace.h"

#ifdef CT_DEFINE_MAPS
#define CT_MAP
#else
#define CT_MAP extern
#endif

/* Settings user space fills in before load, defined in maps.bpf.c. */
extern const volatile bool count_bytes;	/* account bytes (top) */
extern const volatile bool emit_states;	/* stream transitions (watch) */
extern const volatile bool emit_closes;	/* stream CLOSE transitions only (top) */
extern const volatile bool walk_idle;	/* iter/tcp: idle sockets too (export's states) */
extern const volatile bool count_tcp_calls; /* per-call bytes of TCP too (--shares) */
extern const volatile bool use_sk_storage; /* TCP counts in ct_sk_conns */

CT_MAP struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, CT_RINGBUF_BYTES);
} ct_events SEC(".maps");

/*
 * The flags of a ring-buffer submit: wake user space for a batch, not a
 * record. Only the records that take the backlog across the mark wake it:
 * forcing a wake-up for every record above it cost 3.5 us a transition
 * while user space was behind (when the kernel would not wake it at all).
 */
static __always_inline __u64 ct_rb_flags(void)
{
	__u64 avail = bpf_ringbuf_query(&ct_events, BPF_RB_AVAIL_DATA);

	return avail >= CT_RB_WAKEUP_BYTES &&
	       avail < CT_RB_WAKEUP_BYTES + CT_RB_WAKEUP_SLACK ?
		       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* Per-socket birth, last transition and owner, keyed by kernel address. */
CT_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CT_MAX_SOCKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct ct_sock);
} ct_socks SEC(".maps");

/* Owners of listening sockets, so accepted children can inherit them. */
CT_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CT_MAX_LISTENERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ct_listen_key);
	__type(value, struct ct_listener);
} ct_listeners SEC(".maps");

/*
 * Bytes per (socket, process). LRU, so a full map drops the coldest entry
 * rather than new traffic; user space counts evictions from CT_STAT_CONN_INSERTS.
 */
CT_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CT_MAX_CONNS);
	__type(key, struct ct_conn_key);
	__type(value, struct ct_conn);
} ct_conns SEC(".maps");

/* The cgroups --cgroup/--container keep, as listed at start (state.bpf.c). */
CT_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);	/* user space sizes it to the list */
	__type(key, __u64);
	__type(value, __u8);
} ct_cgroup_set SEC(".maps");

CT_MAP struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ct_sk_conn);
} ct_sk_conns SEC(".maps");

struct io_call {
	__u64 sk;
	__s32 flags;
	__u32 dir;
};

/* kprobe path only: the entry's arguments, per thread, until return. */
CT_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct io_call);
} ct_io_calls SEC(".maps");

/*
 * The transitions the state hook's first program took on this CPU and
 * the second has not yet seen, as a stack (state.bpf.c, "rescue"): runs
 * nest as interrupts do. Circular: an entry the second never pops (it was
 * itself skipped) is overwritten in time.
 */
#define CT_STATE_STACK 8

struct ct_state_run {
	__u64 sk[CT_STATE_STACK];
	__u32 transition[CT_STATE_STACK];	/* old << 8 | new */
	__u32 top;
};

CT_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_state_run);
} ct_state_runs SEC(".maps");

CT_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CT_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} ct_stats SEC(".maps");

/* Settings of the event hooks (events.bpf.c), also defined in maps.bpf.c. */
extern const volatile __u32 tev_mask;	/* 1 << enum ct_tev_kind: kinds wanted */
extern const volatile bool retrans_err_arg; /* tcp_retransmit_skb passes err */

/* Per kind of ct_tcp_ev: written and lost (ring buffer full). */
CT_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CT_TEV_KINDS);
	__type(key, __u32);
	__type(value, struct ct_tev_count);
} ct_tev_counts SEC(".maps");

/* The last sockets each CPU saw go to CLOSE, and their owners. */
CT_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_last_closes);
} ct_last_closes SEC(".maps");

#endif /* CT_MAPS_BPF_H */
