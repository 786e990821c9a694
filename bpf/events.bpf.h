/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Writing ct_tcp_ev records: what goes wrong on a connection, or takes
 * long. The hooks of events.bpf.c use it, and so do the state and accept
 * hooks, which see connect latency, failed connects and accept latency as
 * a side effect of what they already track.
 *
 * The owner is always the one recorded for the socket (ct_socks), never
 * the task running: retransmits, resets and drops run in softirq.
 */
#ifndef CT_EVENTS_BPF_H
#define CT_EVENTS_BPF_H

#include "sock.bpf.h"

static __always_inline bool ct_tev_wanted(__u32 kind)
{
	return tev_mask & (1U << kind);
}

static __always_inline void ct_tev_count(__u32 kind, bool lost)
{
	struct ct_tev_count *c = bpf_map_lookup_elem(&ct_tev_counts, &kind);

	if (!c)
		return;
	if (lost)
		c->lost++;
	else
		c->events++;
}

/* A zeroed record of this kind, or NULL (not wanted, or the ring is full). */
static __always_inline struct ct_tcp_ev *ct_tev_reserve(__u32 kind)
{
	struct ct_tcp_ev *m;

	if (!ct_tev_wanted(kind))
		return NULL;
	m = bpf_ringbuf_reserve(&ct_events, sizeof(*m), 0);
	if (!m) {
		ct_tev_count(kind, true);
		return NULL;
	}
	__builtin_memset(m, 0, sizeof(*m));
	m->type = CT_MSG_TCP_EV;
	m->kind = kind;
	m->ts_ns = bpf_ktime_get_ns();
	return m;
}

static __always_inline void ct_tev_submit(struct ct_tcp_ev *m)
{
	__u32 kind = m->kind;

	bpf_ringbuf_submit(m, ct_rb_flags());
	ct_tev_count(kind, false);
}

static __always_inline void ct_tev_set_owner(struct ct_tcp_ev *m,
					     const struct ct_owner *o)
{
	m->pid = o->pid;
	m->owner_src = o->src;
	__builtin_memcpy(m->comm, o->comm, sizeof(m->comm));
	m->cgroup = o->cgroup;
}

/*
 * The owner recorded for the socket at key, when the entry is this
 * socket's (same cookie), or the owner it had when it closed on this CPU
 * just before (a reset from close() with SO_LINGER 0 follows its CLOSE).
 */
static __always_inline void ct_tev_owner(struct ct_tcp_ev *m, __u64 key,
					 __u64 cookie)
{
	struct ct_sock *s = bpf_map_lookup_elem(&ct_socks, &key);
	struct ct_last_closes *lc;
	__u32 zero = 0;

	if (s && (!s->cookie || !cookie || s->cookie == cookie)) {
		ct_tev_set_owner(m, &s->owner);
		return;
	}
	lc = bpf_map_lookup_elem(&ct_last_closes, &zero);
	if (!lc)
		return;
	for (int i = 0; i < CT_LAST_CLOSES; i++)
		if (lc->v[i].skaddr == key && lc->v[i].cookie == cookie) {
			ct_tev_set_owner(m, &lc->v[i].owner);
			return;
		}
}

/* Called by the state hook as a socket goes to CLOSE. */
static __always_inline void ct_tev_note_close(__u64 key, __u64 cookie,
					      const struct ct_owner *o)
{
	struct ct_last_closes *lc;
	__u32 zero = 0, i;

	if (!tev_mask)
		return;
	lc = bpf_map_lookup_elem(&ct_last_closes, &zero);
	if (!lc)
		return;
	i = lc->next % CT_LAST_CLOSES;
	lc->next = i + 1;
	lc->v[i].skaddr = key;
	lc->v[i].cookie = cookie;
	lc->v[i].owner = *o;
}

/*
 * The connect()'s outcome, from the state hook's record of
 * SYN_SENT -> ESTABLISHED (latency) or SYN_SENT -> CLOSE with an error:
 * the kernel reports the error (inet_sk_error_report) only after
 * tcp_done(), when the socket's entry and its SYN_SENT time are gone.
 */
static __always_inline void ct_tev_from_state(const struct ct_event *e)
{
	struct ct_tcp_ev *m;
	__u32 kind;

	if (e->oldstate != TCP_SYN_SENT)
		return;
	if (e->newstate == TCP_ESTABLISHED && (e->flags & CT_EV_DELTA_KNOWN))
		kind = CT_TEV_CONNECT_LAT;
	else if (e->newstate == TCP_CLOSE && e->sk_err)
		kind = CT_TEV_CONNECT_FAIL;
	else
		return;
	m = ct_tev_reserve(kind);
	if (!m)
		return;
	m->ts_ns = e->ts_ns;
	m->state = kind == CT_TEV_CONNECT_FAIL ? e->oldstate : e->newstate;
	m->owner_src = e->owner_src;
	m->skaddr = e->skaddr;
	m->cookie = e->cookie;
	m->ino = e->ino;
	m->value = e->flags & CT_EV_DELTA_KNOWN ? e->delta_ns : 0;
	m->pid = e->pid;
	m->cgroup = e->cgroup;
	m->netns = e->netns;
	m->code = e->sk_err;
	m->family = e->family;
	m->sport = e->sport;
	m->dport = e->dport;
	__builtin_memcpy(m->saddr, e->saddr, sizeof(m->saddr));
	__builtin_memcpy(m->daddr, e->daddr, sizeof(m->daddr));
	__builtin_memcpy(m->comm, e->comm, sizeof(m->comm));
	ct_tev_submit(m);
}

/*
 * Addresses, ports, state and namespace of sk, which may be a full
 * socket, a request socket or a time-wait socket (struct sock_common
 * only), and its inode and local port only where it is a full socket.
 */
static __always_inline void ct_tev_sock(struct ct_tcp_ev *m,
					const struct sock *sk)
{
	const struct inet_sock *inet = (const struct inet_sock *)sk;

	m->skaddr = (__u64)sk;
	m->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	m->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	m->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	ct_sk_saddr(sk, m->family, m->saddr);
	ct_sk_daddr(sk, m->family, m->daddr);
	m->netns = ct_sk_netns(sk);
	if (m->state == TCP_TIME_WAIT || m->state == TCP_NEW_SYN_RECV) {
		m->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
		return;
	}
	/* inet_sport outlives the port's release at CLOSE; skc_num does not. */
	m->sport = bpf_ntohs(BPF_CORE_READ(inet, inet_sport));
	m->ino = ct_sk_ino(sk);
}

/* The accepted socket's time in the accept queue, from its SYN_RECV birth. */
static __always_inline void ct_tev_accepted(const struct sock *sk,
					    const struct ct_sock *s)
{
	struct ct_tcp_ev *m;

	if (s->origin != CT_ORIGIN_ACCEPT || !s->born_ns)
		return;
	m = ct_tev_reserve(CT_TEV_ACCEPT_LAT);
	if (!m)
		return;
	ct_tev_sock(m, sk);
	m->cookie = s->cookie;
	m->value = m->ts_ns - s->born_ns;
	ct_tev_set_owner(m, &s->owner);
	ct_tev_submit(m);
}

#endif /* CT_EVENTS_BPF_H */
