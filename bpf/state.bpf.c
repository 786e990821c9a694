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
#include "events.bpf.h"
#include "compat.bpf.h"

/* Filters, set by user space before load; zero means "any". */
const volatile __u32 filter_pid = 0;
/*
 * --cgroup/--container: the ids of the cgroups that match, in
 * ct_cgroup_set, and the highest cgroup id when they were listed. Ids only
 * grow, so a higher one is a cgroup made since, which user space judges.
 */
const volatile __u64 filter_cgroup_max = 0;
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
static __always_inline bool listener_port(const struct ct_event *e)
{
	struct ct_owner o;

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
	bpf_ringbuf_submit(m, ct_rb_flags());
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

/*
 * Every share the socket's entry knows of, then the owner's and the
 * closing task's, which cover sockets whose entry came after their I/O.
 */
static __always_inline void end_conns(__u64 sk, const struct ct_sock *s)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 owner = s->owner.pid;
	bool owner_done = false, closer_done = false;

	for (int i = 0; i < CT_SHARERS; i++) {
		__u32 pid = s->sharers[i];

		if (!pid)
			break;
		end_conn(sk, pid);
		owner_done |= pid == owner;
		closer_done |= pid == tgid;
	}
	if (!owner_done)
		end_conn(sk, owner);
	if (!closer_done && tgid != owner)
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

/* An owner's cgroup not known (0) or newer than the list: user space decides. */
static __always_inline bool cgroup_matches(__u64 id)
{
	return !id || id > filter_cgroup_max ||
	       bpf_map_lookup_elem(&ct_cgroup_set, &id);
}

static __always_inline bool wanted(const struct ct_event *e)
{
	if (!emit_states && !(emit_closes && e->newstate == TCP_CLOSE))
		return false;
	if (filter_family && e->family != filter_family)
		return false;
	if (filter_port && e->sport != filter_port && e->dport != filter_port)
		return false;
	/*
	 * An owner still to be resolved goes to user space, which filters it:
	 * an inherited one is replaced by the acceptor or the file's holder.
	 */
	if (e->owner_src == CT_OWNER_NONE || e->owner_src == CT_OWNER_LISTENER)
		return true;
	if (filter_pid && e->pid != filter_pid)
		return false;
	if (filter_cgroup_max && !cgroup_matches(e->cgroup))
		return false;
	return !filter_comm[0] || comm_matches(e->comm);
}

/*
 * The local port from inet_sport: the kernel clears skc_num when it frees
 * the port on the way to CLOSE, before the tracepoint, but leaves
 * inet_sport, so a failed connect still shows its port.
 */
static __always_inline __u16 local_port(const struct tcp_sock *tp, bool typed)
{
	return bpf_ntohs(CT_RD(typed, tp, inet_conn.icsk_inet.inet_sport));
}

static __always_inline void fill_addrs(struct ct_event *e, const struct sock *sk,
				       bool typed)
{
	e->dport = bpf_ntohs(CT_RD(typed, sk, __sk_common.skc_dport));
	if (typed)
		ct_sk_addrs_typed(sk, e->family, e->saddr, e->daddr);
	else {
		ct_sk_saddr(sk, e->family, e->saddr);
		ct_sk_daddr(sk, e->family, e->daddr);
	}
	e->netns = ct_sk_netns_typed(sk, typed);
}

static __always_inline void fill_sock_flags(struct ct_event *e,
					    const struct sock *sk,
					    const struct tcp_sock *tp, bool typed)
{
	e->tcp.bytes_acked = CT_RD(typed, tp, bytes_acked);
	e->tcp.bytes_received = CT_RD(typed, tp, bytes_received);
	e->ino = ct_sk_ino_typed(sk, typed);
	if (e->ino)
		e->flags |= CT_EV_HAS_FILE;
	/* close() sets RCV_SHUTDOWN too; only tcp_fin() sets SOCK_DONE. */
	if (CT_RD(typed, sk, __sk_common.skc_flags) & (1UL << SOCK_DONE))
		e->flags |= CT_EV_PEER_FIN;
	e->sk_err = CT_RD(typed, sk, sk_err);
	if (e->sk_err)
		e->flags |= CT_EV_SK_ERROR;
}

/*
 * A closing socket's queues: its exact payload, as top's refreshes count
 * it; and its retransmits, which no walk will read again.
 */
static __always_inline void fill_close_seqs(struct ct_event *e,
					    const struct tcp_sock *tp,
					    bool typed)
{
	e->tcp.write_seq = CT_RD(typed, tp, write_seq);
	e->tcp.snd_una = CT_RD(typed, tp, snd_una);
	e->tcp.copied_seq = CT_RD(typed, tp, copied_seq);
	e->tcp.rcv_nxt = CT_RD(typed, tp, rcv_nxt);
	e->total_retrans = CT_RD(typed, tp, total_retrans);
	e->flags |= CT_EV_TOTAL_RETRANS;
}

/* The transitions that make a new socket, or a socket anew. */
static __always_inline bool is_birth(int old, int new)
{
	if (old == TCP_CLOSE)
		return new == TCP_SYN_SENT || new == TCP_LISTEN;
	return old == TCP_LISTEN && new == TCP_SYN_RECV;
}

/*
 * Whether an entry is this socket's. Without a cookie on either side
 * (raw_tp and tracepoint cannot ask for one) births alone reset entries.
 */
static __always_inline bool same_socket(const struct ct_sock *s, __u64 cookie)
{
	return !s->cookie || !cookie || s->cookie == cookie;
}

/*
 * An accepted socket's owner holds it for as long as the descriptor
 * accept() gave it still points at this socket's file: once closed (after
 * a fork, or passing it over a UNIX socket), nobody can say who holds it
 * without a walk of the files, which user space does.
 */
static __always_inline bool acceptor_holds(const struct ct_sock *s,
					   const struct sock *sk, bool typed)
{
	struct files_struct *files = (struct files_struct *)s->files;
	struct file **fds, *file = NULL;
	struct fdtable *fdt;
	struct socket *sock;

	sock = CT_RD(typed, sk, sk_socket);
	if (!sock || !files)
		return false;
	fdt = BPF_CORE_READ(files, fdt);
	if (s->fd >= BPF_CORE_READ(fdt, max_fds))
		return false;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), fds + s->fd))
		return false;
	return file && file == CT_RD(typed, sock, file);
}

static __always_inline void owner_unknown(struct ct_sock *s)
{
	__builtin_memset(&s->owner, 0, sizeof(s->owner));
	s->files = 0;
}

/* Decides who owns the socket now, in the entry kept for it. */
static __always_inline void update_owner(struct ct_sock *s, const struct ct_event *e,
					 const struct sock *sk, bool typed,
					 int old, int new)
{
	if (trusted_syscall_transition(old, new)) {
		ct_owner_current(&s->owner, trusted_src(old, new));
		s->files = 0;
	} else if (old == TCP_LISTEN && new == TCP_SYN_RECV) {
		inherit_listener(e, &s->owner);
	} else if (s->owner.src == CT_OWNER_ACCEPT &&
		   s->owner.pid != bpf_get_current_pid_tgid() >> 32 &&
		   !acceptor_holds(s, sk, typed)) {
		/* The acceptor itself, in close(), has just let the fd go. */
		owner_unknown(s);
	}
}

/* A new entry for a socket born now, or seen for the first time. */
static __always_inline void new_entry(struct ct_sock *s, const struct ct_event *e,
				      __u64 cookie, __u64 now, int old, int new)
{
	__builtin_memset(s, 0, sizeof(*s));
	s->cookie = cookie;
	if (!is_birth(old, new)) {
		/* Older than conntrace, and not seeded: guess its side. */
		if (listener_port(e))
			s->origin = CT_ORIGIN_ACCEPT;
		return;
	}
	s->born_ns = now;
	if (new == TCP_SYN_SENT)
		s->origin = CT_ORIGIN_CONNECT;
	else if (new == TCP_SYN_RECV)
		s->origin = CT_ORIGIN_ACCEPT;
}

static __always_inline void fill_event(struct ct_event *e, const struct ct_sock *s,
				       __u64 key, __u64 now, int old, int new)
{
	e->type = CT_MSG_STATE;
	e->ts_ns = now;
	e->skaddr = key;
	e->cookie = s->cookie;
	e->oldstate = old;
	e->newstate = new;
	if (s->last_ns) {
		e->delta_ns = now - s->last_ns;
		e->flags |= CT_EV_DELTA_KNOWN;
	}
	if (s->origin == CT_ORIGIN_ACCEPT)
		e->flags |= CT_EV_PASSIVE;
	e->born_ns = s->born_ns;
	e->pid = s->owner.pid;
	e->owner_src = s->owner.src;
	e->cgroup = s->owner.cgroup;
	__builtin_memcpy(e->comm, s->owner.comm, sizeof(e->comm));
}

static __always_inline void send_event(const struct ct_event *e)
{
	if (!wanted(e))
		return;
	if (bpf_ringbuf_output(&ct_events, (void *)e, sizeof(*e), ct_rb_flags()))
		ct_stat_inc(CT_STAT_RB_DROPS);
	else
		ct_stat_inc(CT_STAT_EVENTS);
}

/* The deferred LISTEN -> SYN_RECV, at its own time, with today's addresses. */
static __always_inline void send_deferred(struct ct_event *e, struct ct_sock *s,
					  __u64 key, const struct sock *sk,
					  const struct tcp_sock *tp, bool typed)
{
	s->deferred = 0;
	fill_event(e, s, key, s->born_ns, TCP_LISTEN, TCP_SYN_RECV);
	/* A birth has no time in a previous state. */
	e->flags &= ~CT_EV_DELTA_KNOWN;
	e->delta_ns = 0;
	fill_sock_flags(e, sk, tp, typed);
	send_event(e);
	e->flags = 0;
}

/* The socket's cookie: asked for in tp_btf, read where it was set in others. */
static __always_inline __u64 sock_cookie(const struct sock *sk, bool typed)
{
	if (typed)
		return bpf_get_socket_cookie((void *)sk);
	return BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
}

/*
 * The state hook runs on every transition of every TCP socket: it reads
 * the socket with direct loads where it can (tp_btf), updates the entry in
 * place, and looks listeners up only for a child being born.
 */
static __always_inline int handle_state(const struct sock *sk,
					const struct tcp_sock *tp, int old,
					int new, int sport, bool typed)
{
	__u64 key = (__u64)sk, now = bpf_ktime_get_ns(), cookie;
	struct ct_sock fresh, *s;
	struct ct_event e = {};
	bool defer;

	e.family = CT_RD(typed, sk, __sk_common.skc_family);
	if (e.family != CT_AF_INET && e.family != CT_AF_INET6)
		return 0;
	e.sport = sport >= 0 ? sport : local_port(tp, typed);
	fill_addrs(&e, sk, typed);
	defer = ct_synrecv_addrs_unset(old, new, e.dport);
	/* Not the child's cookie yet either: left unknown, taken next time. */
	cookie = defer ? 0 : sock_cookie(sk, typed);

	s = bpf_map_lookup_elem(&ct_socks, &key);
	/* A skipped CLOSE must not hand its owner to a reused address. */
	if (!s || is_birth(old, new) || !same_socket(s, cookie)) {
		new_entry(&fresh, &e, cookie, now, old, new);
		s = &fresh;
	} else if (!s->cookie) {
		s->cookie = cookie;
	}
	/* By the time a connection is handed to time-wait, its port is freed. */
	if (!e.sport)
		e.sport = s->sport;
	s->sport = e.sport;
	if (s->deferred)
		send_deferred(&e, s, key, sk, tp, typed);
	update_owner(s, &e, sk, typed, old, new);
	if (defer)
		s->deferred = 1;
	fill_event(&e, s, key, now, old, new);
	fill_sock_flags(&e, sk, tp, typed);

	if (new == TCP_LISTEN)
		listener_add(&e, key, &s->owner);
	if (old == TCP_LISTEN && new == TCP_CLOSE)
		listener_del(&e, key);

	if (new == TCP_CLOSE) {
		fill_close_seqs(&e, tp, typed);
		ct_tev_note_close(key, s->cookie, &s->owner);
		if (count_bytes)
			end_conns(key, s);
		/* A reused address must never inherit this owner, nor bytes. */
		if (s != &fresh)
			bpf_map_delete_elem(&ct_socks, &key);
		if (typed && count_bytes && use_sk_storage)
			end_storage(sk);
	} else {
		s->last_ns = now;
		/* A known entry was changed in place: only new ones are stored. */
		if (s == &fresh &&
		    bpf_map_update_elem(&ct_socks, &key, s, BPF_ANY))
			ct_stat_inc(CT_STAT_SOCK_MAP_FULL);
	}

	/* The maps above stay right even when the event itself is lost. */
	if (defer)
		return 0;
	send_event(&e);
	/* After the transition's own record, so the stream reads in order. */
	ct_tev_from_state(&e);
	return 0;
}

/*
 * The kernel skips a tp_btf or raw_tp program that an interrupt enters
 * again on the same CPU (it counts recursion_misses): under churn, a
 * softirq's transition of one socket often comes while the hook runs for
 * a syscall's transition of another, in its body or in the kernel's code
 * around it (where it still counts the program running; most skips came
 * there). A second program on the tracepoint, run after the first, takes
 * them: the first pushes each transition it takes on a per-CPU stack, and
 * the second pops a transition it finds, or takes one it does not find.
 *
 * Such nesting is one level deep (transitions come in process context or
 * in a softirq, and a softirq is never entered from another), and the
 * socket of a softirq's transition is never owned by a user (the softirq
 * defers work on an owned socket to its backlog). So a transition the
 * second does not find, on a socket no user owns, is one the kernel
 * skipped the first for. One on an owned socket came in process context,
 * where the first cannot have been skipped: its entry was pushed out by a
 * burst of softirq transitions the second was itself skipped for (it ran
 * for the syscall's transition then), and taking it would print it twice.
 */
static __always_inline struct ct_state_run *state_run(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&ct_state_runs, &zero);
}

static __always_inline __u32 transition_of(int old, int new)
{
	return (__u32)old << 8 | (__u32)new;
}

static __always_inline void push_taken(const struct sock *sk, int old,
				       int new)
{
	struct ct_state_run *r = state_run();
	__u32 i;

	if (!r)
		return;
	i = ++r->top % CT_STATE_STACK;
	r->sk[i] = (__u64)sk;
	r->transition[i] = transition_of(old, new);
}

/* Whether the first program was skipped for this transition. */
static __always_inline bool skipped(const struct sock *sk, int old, int new)
{
	struct ct_state_run *r = state_run();

	if (!r)
		return false;
	for (__u32 i = 0; i < CT_STATE_STACK; i++) {
		if (r->sk[i] != (__u64)sk ||
		    r->transition[i] != transition_of(old, new))
			continue;
		r->sk[i] = 0;
		if (i == r->top % CT_STATE_STACK)
			r->top--;
		return false;
	}
	return !BPF_CORE_READ(sk, sk_lock.owned);
}

static __always_inline int state_btf(const struct sock *sk, int old, int new)
{
	/* NULL for anything but a full TCP socket; typed for direct loads. */
	const struct tcp_sock *tp = bpf_skc_to_tcp_sock((void *)sk);

	if (!tp)
		return 0;
	return handle_state(sk, tp, old, new, -1, true);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(ct_state_btf, const struct sock *sk, int old, int new)
{
	push_taken(sk, old, new);
	return state_btf(sk, old, new);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(ct_rescue_btf, const struct sock *sk, int old, int new)
{
	if (!skipped(sk, old, new))
		return 0;
	ct_stat_inc(CT_STAT_RESCUED);
	return state_btf(sk, old, new);
}

static __always_inline bool is_tcp(const struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_protocol) == CT_IPPROTO_TCP;
}

static __always_inline int state_raw(const struct sock *sk, int old, int new)
{
	if (!is_tcp(sk))
		return 0;
	return handle_state(sk, (const struct tcp_sock *)sk, old, new, -1,
			    false);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(ct_state_raw, const struct sock *sk, int old, int new)
{
	push_taken(sk, old, new);
	return state_raw(sk, old, new);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(ct_rescue_raw, const struct sock *sk, int old, int new)
{
	if (!skipped(sk, old, new))
		return 0;
	ct_stat_inc(CT_STAT_RESCUED);
	return state_raw(sk, old, new);
}

/* The classic tracepoint carries the local port itself. */
SEC("tracepoint/sock/inet_sock_set_state")
int ct_state_tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	const struct sock *sk = (const struct sock *)ctx->skaddr;

	if (ctx->protocol != CT_IPPROTO_TCP)
		return 0;
	return handle_state(sk, (const struct tcp_sock *)sk, ctx->oldstate,
			    ctx->newstate, ctx->sport, false);
}
