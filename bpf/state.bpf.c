// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * TCP state transitions, from sock:inet_sock_set_state.
 *
 * The task running when the kernel changes a socket's state is often not
 * the socket's owner: transitions driven by incoming packets run in softirq
 * (on loopback, in the sending peer's process). So the current task is
 * believed only for transitions that a syscall of the owner makes, and every
 * other transition reports the owner recorded for that socket.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "sock.bpf.h"

/* Filters, set by user space before load; zero means "any". */
const volatile __u32 filter_pid = 0;
const volatile __u16 filter_port = 0;
const volatile __u16 filter_family = 0;
const volatile char filter_comm[CT_COMM_LEN] = {};

static __always_inline bool trusted_syscall_transition(int old, int new)
{
	/*
	 * connect(), listen(), close() and shutdown() are the only callers of
	 * these transitions, and they run in the caller's process.
	 */
	if (new == TCP_SYN_SENT || new == TCP_LISTEN)
		return true;
	if (old == TCP_ESTABLISHED && new == TCP_FIN_WAIT1)
		return true;
	if (old == TCP_CLOSE_WAIT && new == TCP_LAST_ACK)
		return true;
	return old == TCP_LISTEN && new == TCP_CLOSE;
}

static __always_inline __u8 trusted_src(int old, int new)
{
	if (new == TCP_SYN_SENT)
		return CT_OWNER_CONNECT;
	if (new == TCP_LISTEN)
		return CT_OWNER_LISTEN;
	return CT_OWNER_CLOSE;
}

/* A listener's key: its namespace, family, port and bound address. */
static __always_inline void listen_key(struct ct_listen_key *key,
				       const struct ct_event *e)
{
	key->netns = e->netns;
	key->family = e->family;
	key->port = e->sport;
	__builtin_memcpy(key->addr, e->saddr, sizeof(key->addr));
}

static __always_inline bool listener_lookup(struct ct_listen_key *key,
					    struct ct_owner *out)
{
	struct ct_listener *l = bpf_map_lookup_elem(&ct_listeners, key);

	if (!l)
		return false;
	*out = l->owner;
	return true;
}

/* A child inherits the listener bound to its address, the wildcard, or [::]. */
static __always_inline void inherit_listener(const struct ct_event *e,
					     struct ct_owner *out)
{
	struct ct_listen_key key;

	listen_key(&key, e);
	if (listener_lookup(&key, out))
		goto found;
	__builtin_memset(key.addr, 0, sizeof(key.addr));
	if (listener_lookup(&key, out))
		goto found;
	if (e->family == CT_AF_INET) {
		key.family = CT_AF_INET6;
		if (listener_lookup(&key, out))
			goto found;
	}
	out->pid = 0;
	out->src = CT_OWNER_NONE;
	return;
found:
	/* Marked as inherited, so user space re-asks once it is accepted. */
	if (out->src != CT_OWNER_NONE)
		out->src = CT_OWNER_LISTENER;
}

static __always_inline void listener_add(const struct ct_event *e, __u64 sk,
					 const struct ct_owner *o)
{
	struct ct_listen_key key;
	struct ct_listener val = { .skaddr = sk, .owner = *o };
	struct ct_listener *old;

	listen_key(&key, e);
	old = bpf_map_lookup_elem(&ct_listeners, &key);
	/* SO_REUSEPORT listeners of different processes: nobody can tell. */
	if (old && old->skaddr != sk && old->owner.pid != o->pid)
		val.owner.src = CT_OWNER_NONE, val.owner.pid = 0;
	if (bpf_map_update_elem(&ct_listeners, &key, &val, BPF_ANY))
		ct_stat_inc(CT_STAT_LISTEN_MAP_FULL);
}

static __always_inline void listener_del(const struct ct_event *e, __u64 sk)
{
	struct ct_listen_key key;
	struct ct_listener *l;

	listen_key(&key, e);
	l = bpf_map_lookup_elem(&ct_listeners, &key);
	if (l && l->skaddr == sk)
		bpf_map_delete_elem(&ct_listeners, &key);
}

/* Older than conntrace: accepted if its port is one a listener has. */
static __always_inline bool is_passive(const struct ct_sock *s,
				       const struct ct_event *e)
{
	struct ct_owner o;

	if (s->origin != CT_ORIGIN_UNKNOWN)
		return s->origin == CT_ORIGIN_ACCEPT;
	inherit_listener(e, &o);
	return o.src != CT_OWNER_NONE;
}

/* Hands a closing socket's last counters to user space. */
static __always_inline void send_end(__u64 sk, __u32 pid, const struct ct_conn *c,
				     __u32 in_storage)
{
	struct ct_conn_end *m = bpf_ringbuf_reserve(&ct_events, sizeof(*m), 0);

	if (!m) {
		ct_stat_inc(CT_STAT_RB_DROPS);
		return;
	}
	m->type = CT_MSG_CONN_END;
	m->in_storage = in_storage;
	m->key.skaddr = sk;
	m->key.pid = pid;
	m->key.pad = 0;
	m->conn = *c;
	bpf_ringbuf_submit(m, 0);
}

static __always_inline void end_conn(__u64 sk, __u32 pid)
{
	struct ct_conn_key key = { .skaddr = sk, .pid = pid };
	struct ct_conn *c = bpf_map_lookup_elem(&ct_conns, &key);

	if (!c)
		return;
	send_end(sk, pid, c, 0);
	bpf_map_delete_elem(&ct_conns, &key);
}

/* The share kept in the socket's own storage; tp_btf only (typed sk). */
static __always_inline void end_storage(const struct sock *sk)
{
	struct ct_sk_conn *v;

	v = bpf_sk_storage_get(&ct_sk_conns, (struct sock *)sk, 0, 0);
	if (!v || !v->pid)
		return;
	send_end((__u64)sk, v->pid, &v->conn, 1);
	/* A socket may connect() again after CLOSE: start it afresh. */
	bpf_sk_storage_delete(&ct_sk_conns, (struct sock *)sk);
}

/* The owner and the closing task cover who did I/O on nearly every socket. */
static __always_inline void end_conns(__u64 sk, __u32 owner)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	end_conn(sk, owner);
	if (tgid != owner)
		end_conn(sk, tgid);
}

static __always_inline bool comm_matches(const char *comm)
{
	for (int i = 0; i < CT_COMM_LEN; i++) {
		if (filter_comm[i] != comm[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

static __always_inline bool wanted(const struct ct_event *e)
{
	if (!emit_states && !(emit_closes && e->newstate == TCP_CLOSE))
		return false;
	if (filter_family && e->family != filter_family)
		return false;
	if (filter_port && e->sport != filter_port && e->dport != filter_port)
		return false;
	/* An owner still to be resolved goes to user space, which filters it. */
	if (e->owner_src == CT_OWNER_NONE ||
	    (e->owner_src == CT_OWNER_LISTENER && (e->flags & CT_EV_HAS_FILE)))
		return true;
	if (filter_pid && e->pid != filter_pid)
		return false;
	return !filter_comm[0] || comm_matches(e->comm);
}

static __always_inline void fill_addrs(struct ct_event *e, const struct sock *sk)
{
	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	ct_sk_saddr(sk, e->family, e->saddr);
	ct_sk_daddr(sk, e->family, e->daddr);
	e->netns = ct_sk_netns(sk);
}

static __always_inline void fill_sock_flags(struct ct_event *e,
					    const struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;

	e->bytes_acked = BPF_CORE_READ(tp, bytes_acked);
	e->bytes_received = BPF_CORE_READ(tp, bytes_received);
	e->ino = ct_sk_ino(sk);
	if (e->ino)
		e->flags |= CT_EV_HAS_FILE;
	/* close() sets RCV_SHUTDOWN too; only tcp_fin() sets SOCK_DONE. */
	if (BPF_CORE_READ(sk, __sk_common.skc_flags) & (1UL << SOCK_DONE))
		e->flags |= CT_EV_PEER_FIN;
	e->sk_err = BPF_CORE_READ(sk, sk_err);
	if (e->sk_err)
		e->flags |= CT_EV_SK_ERROR;
}

/* A closing socket's queues: its exact payload, as top's refreshes count it. */
static __always_inline void fill_close_seqs(struct ct_event *e,
					    const struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;

	e->write_seq = BPF_CORE_READ(tp, write_seq);
	e->snd_una = BPF_CORE_READ(tp, snd_una);
	e->copied_seq = BPF_CORE_READ(tp, copied_seq);
	e->rcv_nxt = BPF_CORE_READ(tp, rcv_nxt);
}

/* Finds or creates the socket's entry and decides who owns it now. */
static __always_inline void update_owner(struct ct_sock *s, struct ct_event *e,
					 bool known, int old, int new)
{
	if (trusted_syscall_transition(old, new))
		ct_owner_current(&s->owner, trusted_src(old, new));
	else if (!known && new == TCP_SYN_RECV)
		inherit_listener(e, &s->owner);
}

static __always_inline int handle_state(const struct sock *sk, int old, int new,
					bool typed)
{
	__u64 key = (__u64)sk, now = bpf_ktime_get_ns();
	struct ct_sock cur = {}, *s = &cur, *stored;
	struct ct_event e = {};
	bool known;

	if (!ct_sk_is_tcp_inet(sk))
		return 0;
	/* Work on a copy: transitions are rare, and the verifier likes it. */
	stored = bpf_map_lookup_elem(&ct_socks, &key);
	known = stored != NULL;
	if (stored)
		cur = *stored;

	fill_addrs(&e, sk);
	/* By the time a connection is handed to time-wait, its port is freed. */
	if (!e.sport)
		e.sport = s->sport;
	s->sport = e.sport;
	if (!known && (new == TCP_SYN_SENT || new == TCP_SYN_RECV ||
		       new == TCP_LISTEN))
		s->born_ns = now;
	if (!known && new == TCP_SYN_SENT)
		s->origin = CT_ORIGIN_CONNECT;
	if (!known && new == TCP_SYN_RECV)
		s->origin = CT_ORIGIN_ACCEPT;
	update_owner(s, &e, known, old, new);
	if (is_passive(s, &e))
		e.flags |= CT_EV_PASSIVE;

	e.type = CT_MSG_STATE;
	e.ts_ns = now;
	e.skaddr = key;
	e.oldstate = old;
	e.newstate = new;
	if (s->last_ns) {
		e.delta_ns = now - s->last_ns;
		e.flags |= CT_EV_DELTA_KNOWN;
	}
	e.born_ns = s->born_ns;
	e.pid = s->owner.pid;
	e.owner_src = s->owner.src;
	__builtin_memcpy(e.comm, s->owner.comm, sizeof(e.comm));
	fill_sock_flags(&e, sk);

	if (new == TCP_LISTEN)
		listener_add(&e, key, &s->owner);
	if (old == TCP_LISTEN && new == TCP_CLOSE)
		listener_del(&e, key);

	if (new == TCP_CLOSE) {
		fill_close_seqs(&e, sk);
		/* A reused address must never inherit this owner, nor bytes. */
		bpf_map_delete_elem(&ct_socks, &key);
		if (count_bytes)
			end_conns(key, s->owner.pid);
		if (typed && count_bytes && use_sk_storage)
			end_storage(sk);
	} else {
		s->last_ns = now;
		if (bpf_map_update_elem(&ct_socks, &key, s, BPF_ANY))
			ct_stat_inc(CT_STAT_SOCK_MAP_FULL);
	}

	if (!wanted(&e))
		return 0;
	/* The maps above stay right even when the event itself is lost. */
	if (bpf_ringbuf_output(&ct_events, &e, sizeof(e), 0))
		ct_stat_inc(CT_STAT_RB_DROPS);
	else
		ct_stat_inc(CT_STAT_EVENTS);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(ct_state_btf, const struct sock *sk, int old, int new)
{
	return handle_state(sk, old, new, true);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(ct_state_raw, const struct sock *sk, int old, int new)
{
	return handle_state(sk, old, new, false);
}

SEC("tracepoint/sock/inet_sock_set_state")
int ct_state_tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	return handle_state((const struct sock *)ctx->skaddr, ctx->oldstate,
			    ctx->newstate, false);
}
