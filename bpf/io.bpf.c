// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * Socket sends and receives: who does I/O on a socket, and how many bytes
 * it moves.
 *
 * Every hook here runs in the process that called send or receive, never
 * in softirq, so the current task is both the owner-to-be of the socket and
 * the process the bytes belong to. Bytes are the call's return value: what
 * was transferred, not what was asked for.
 *
 * Three families of hooks do the same job on different kernels; user space
 * (src/engine/kernel.c, src/engine/session.c) picks one and loads only it:
 * - sock:sock_send_length / sock:sock_recv_length (Linux 6.3+), as tp_btf,
 *   raw_tp or classic tracepoint;
 * - fexit on the TCP and UDP sendmsg/recvmsg functions;
 * - kprobe + kretprobe on the same functions, the last resort.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "sock.bpf.h"
#include "compat.bpf.h"

#define CT_MSG_PEEK 2

static __always_inline void set_owner(struct ct_sock *s, __u32 tgid)
{
	if (s->owner.pid == tgid && s->owner.src == CT_OWNER_IO)
		return;
	ct_owner_current(&s->owner, CT_OWNER_IO);
}

static __always_inline void refresh_owner(const struct sock *sk, __u32 tgid)
{
	__u64 key = (__u64)sk;
	struct ct_sock *s = bpf_map_lookup_elem(&ct_socks, &key);

	if (s)
		set_owner(s, tgid);
}

/*
 * The socket's CLOSE ends the shares of the processes written here: a
 * share left in the map would outlive its socket and take the bytes of
 * the next socket at the same address.
 */
static __always_inline void add_sharer(struct ct_sock *s, __u32 tgid)
{
	for (int i = 0; i < CT_SHARERS; i++) {
		__u32 pid = s->sharers[i];

		if (pid == tgid)
			return;
		if (!pid && !__sync_val_compare_and_swap(&s->sharers[i], 0, tgid))
			return;
		/* Taken by another process meanwhile: try the next one. */
		if (s->sharers[i] == tgid)
			return;
	}
	ct_stat_inc(CT_STAT_SHARERS_FULL);
}

/* A process's first I/O on a TCP socket: it owns it now, and has a share. */
static __always_inline void note_tcp_share(const struct sock *sk, __u32 tgid)
{
	__u64 key = (__u64)sk;
	struct ct_sock *s = bpf_map_lookup_elem(&ct_socks, &key);

	if (!s)
		return;
	set_owner(s, tgid);
	add_sharer(s, tgid);
}

/* What a share says about its socket and process, taken at its first I/O. */
static __always_inline void fill_conn(struct ct_conn *c, const struct sock *sk,
				      __u8 proto)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	c->first_ns = bpf_ktime_get_ns();
	c->family = family;
	c->proto = proto;
	c->netns = ct_sk_netns(sk);
	c->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	c->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	ct_sk_saddr(sk, family, c->saddr);
	ct_sk_daddr(sk, family, c->daddr);
	bpf_get_current_comm(c->comm, sizeof(c->comm));
	c->cgroup = bpf_get_current_cgroup_id();
}

static __always_inline struct ct_conn *new_conn(const struct ct_conn_key *key,
						const struct sock *sk,
						__u8 proto)
{
	struct ct_conn c = {};
	int err;

	fill_conn(&c, sk, proto);
	err = bpf_map_update_elem(&ct_conns, key, &c, BPF_NOEXIST);
	if (!err)
		ct_stat_inc(CT_STAT_CONN_INSERTS);
	return bpf_map_lookup_elem(&ct_conns, key);
}

static __always_inline void add_bytes(struct ct_conn *c, int ret, int flags,
				      int dir)
{
	/* Errors move nothing, and a peek leaves the data to be read again. */
	if (ret <= 0 || (dir == CT_RX && (flags & CT_MSG_PEEK)))
		return;
	__sync_fetch_and_add(&c->bytes[dir & 1], ret);
	/*
	 * Bytes must be exact; the call count is a hint, and a locked add
	 * for it would cost every call a second atomic: two threads of one
	 * process in the same instant on one socket may lose one count.
	 */
	c->calls[dir & 1]++;
}

static __always_inline int ct_io(const struct sock *sk, int ret, int flags,
				 int dir)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct ct_conn_key key = { .skaddr = (__u64)sk, .pid = tgid };
	struct ct_conn *c;
	__u8 proto;

	if (!count_bytes) {
		refresh_owner(sk, tgid);
		return 0;
	}
	/* top -u: TCP bytes come from the kernel's counters, only UDP here. */
	if (!count_tcp_calls &&
	    BPF_CORE_READ(sk, sk_protocol) != CT_IPPROTO_UDP)
		return 0;
	c = bpf_map_lookup_elem(&ct_conns, &key);
	if (!c) {
		/* First I/O of this process on this socket: the slow path. */
		if (!ct_sk_is_inet(sk, &proto))
			return 0;
		c = new_conn(&key, sk, proto);
		if (!c) {
			ct_stat_inc(CT_STAT_CONN_MAP_FULL);
			if (proto == CT_IPPROTO_TCP)
				refresh_owner(sk, tgid);
			return 0;
		}
		if (proto == CT_IPPROTO_TCP)
			note_tcp_share(sk, tgid);
	}
	add_bytes(c, ret, flags, dir);
	return 0;
}

/*
 * The first process to do I/O on a TCP socket claims the socket's own
 * storage; UDP keeps to the hash map, which outlives the socket until its
 * last bytes are read, as UDP has no close to hook.
 */
static __always_inline struct ct_sk_conn *claim_storage(struct sock *sk,
							__u32 tgid)
{
	struct ct_sk_conn *v;
	__u8 proto;

	if (!ct_sk_is_inet(sk, &proto) || proto != CT_IPPROTO_TCP)
		return NULL;
	v = bpf_sk_storage_get(&ct_sk_conns, sk, 0,
			       BPF_SK_STORAGE_GET_F_CREATE);
	if (!v)
		return NULL;
	/*
	 * The claimer takes a sharer's place too, though its share ends with
	 * the storage: "the 4 a socket remembers" then holds on both paths
	 * (without it, the 6.1 guest's fexit path counted one sharer fewer
	 * beyond them than the hash path does).
	 */
	if (__sync_val_compare_and_swap(&v->pid, 0, tgid) == 0) {
		fill_conn(&v->conn, sk, proto);
		note_tcp_share(sk, tgid);
	}
	return v;
}

/*
 * For hooks with a typed socket (tp_btf, fexit): the socket's storage is
 * found without hashing, which is most of the cost of a hooked call.
 */
static __always_inline int ct_io_typed(struct sock *sk, int ret, int flags,
				       int dir)
{
	struct ct_sk_conn *v;
	__u32 tgid;

	if (!use_sk_storage || !count_bytes)
		return ct_io(sk, ret, flags, dir);
	tgid = bpf_get_current_pid_tgid() >> 32;
	v = bpf_sk_storage_get(&ct_sk_conns, sk, 0, 0);
	if (!v)
		v = claim_storage(sk, tgid);
	if (!v || v->pid != tgid)
		return ct_io(sk, ret, flags, dir);
	add_bytes(&v->conn, ret, flags, dir);
	return 0;
}

SEC("iter/bpf_sk_storage_map")
int ct_dump_sk_conns(struct bpf_iter__bpf_sk_storage_map *ctx)
{
	struct ct_sk_conn *v = ctx->value;
	struct sock *sk = ctx->sk;
	struct ct_conn_end rec = { .in_storage = 1 };

	if (!sk || !v || !v->pid)
		return 0;
	rec.key.skaddr = (__u64)sk;
	rec.key.pid = v->pid;
	rec.conn = v->conn;
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}

/* --- sock:sock_{send,recv}_length, Linux 6.3+ ---------------------------- */

SEC("tp_btf/sock_send_length")
int BPF_PROG(ct_send_btf, struct sock *sk, int ret, int flags)
{
	return ct_io_typed(sk, ret, flags, CT_TX);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(ct_recv_btf, struct sock *sk, int ret, int flags)
{
	return ct_io_typed(sk, ret, flags, CT_RX);
}

SEC("raw_tp/sock_send_length")
int BPF_PROG(ct_send_raw, struct sock *sk, int ret, int flags)
{
	return ct_io(sk, ret, flags, CT_TX);
}

SEC("raw_tp/sock_recv_length")
int BPF_PROG(ct_recv_raw, struct sock *sk, int ret, int flags)
{
	return ct_io(sk, ret, flags, CT_RX);
}

SEC("tracepoint/sock/sock_send_length")
int ct_send_tp(struct trace_event_raw_sock_msg_length *ctx)
{
	return ct_io((const struct sock *)ctx->sk, ctx->ret, ctx->flags, CT_TX);
}

SEC("tracepoint/sock/sock_recv_length")
int ct_recv_tp(struct trace_event_raw_sock_msg_length *ctx)
{
	return ct_io((const struct sock *)ctx->sk, ctx->ret, ctx->flags, CT_RX);
}

/* --- fexit on the protocol functions, older kernels ---------------------- */

#define CT_FEXIT_SEND(fn)						\
SEC("fexit/" #fn)							\
int BPF_PROG(ct_fx_##fn, struct sock *sk, struct msghdr *msg, size_t len, \
	     int ret)							\
{									\
	return ct_io_typed(sk, ret, 0, CT_TX);				\
}

/* One program per recvmsg() layout (compat.bpf.h); user space loads one. */
#define CT_FEXIT_RECV(fn)						\
SEC("fexit/" #fn)							\
int BPF_PROG(ct_fx_##fn, CT_RECVMSG_PARAMS)				\
{									\
	return ct_io_typed(sk, ret, flags, CT_RX);			\
}									\
SEC("fexit/" #fn)							\
int BPF_PROG(ct_fx_##fn##_old, CT_RECVMSG_PARAMS_NONBLOCK)		\
{									\
	return ct_io_typed(sk, ret, flags, CT_RX);			\
}

CT_FEXIT_SEND(tcp_sendmsg)
CT_FEXIT_SEND(udp_sendmsg)
CT_FEXIT_SEND(udpv6_sendmsg)
CT_FEXIT_RECV(tcp_recvmsg)
CT_FEXIT_RECV(udp_recvmsg)
CT_FEXIT_RECV(udpv6_recvmsg)

/* --- kprobe + kretprobe, the last resort --------------------------------- */

static __always_inline int io_enter(struct pt_regs *ctx, int dir)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct io_call call = {
		.sk = PT_REGS_PARM1(ctx),
		.dir = dir,
	};

	if (dir == CT_RX)
		call.flags = ct_kprobe_recv_flags(ctx);
	bpf_map_update_elem(&ct_io_calls, &id, &call, BPF_ANY);
	return 0;
}

static __always_inline int io_exit(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct io_call *call = bpf_map_lookup_elem(&ct_io_calls, &id);
	int ret = PT_REGS_RC(ctx);

	if (!call)
		return 0;
	ct_io((const struct sock *)call->sk, ret, call->flags, call->dir);
	bpf_map_delete_elem(&ct_io_calls, &id);
	return 0;
}

#define CT_KPROBE(fn, dir)						\
SEC("kprobe/" #fn)							\
int ct_kp_##fn(struct pt_regs *ctx)					\
{									\
	return io_enter(ctx, dir);					\
}									\
SEC("kretprobe/" #fn)							\
int ct_kr_##fn(struct pt_regs *ctx)					\
{									\
	return io_exit(ctx);						\
}

CT_KPROBE(tcp_sendmsg, CT_TX)
CT_KPROBE(udp_sendmsg, CT_TX)
CT_KPROBE(udpv6_sendmsg, CT_TX)
CT_KPROBE(tcp_recvmsg, CT_RX)
CT_KPROBE(udp_recvmsg, CT_RX)
CT_KPROBE(udpv6_recvmsg, CT_RX)
