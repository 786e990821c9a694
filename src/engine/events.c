// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/events.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include "engine/evsource.h"
#include "engine/filter.h"
#include "output/format.h"
#include "lib/grow.h"
#include "engine/owners.h"

#define MS (1000000ULL)
/* How long a connect() line may wait for its local port to be known. */
#define PORT_WAIT_NS (100 * MS)
/* How long an accepted socket's first lines may wait for accept(). */
#define ACCEPT_WAIT_NS (500 * MS)
#define TW_FIRST_PROBE_NS (10 * MS)
#define TW_MAX_PROBE_NS (500 * MS)
/* The kernel keeps a time-wait socket for TCP_TIMEWAIT_LEN, 60 s. */
#define TIME_WAIT_NS (60000 * MS)
#define TW_END_PROBE_NS (1000 * MS)
#define MAX_HOLDS 65536
/* The shortest time between two dumps of the sockets in SYN_SENT. */
#define SYN_DUMP_GAP_NS (100 * MS)
/* syn_ports' keys for inode numbers, apart from cookies. */
#define INO_KEY (1ULL << 63)
/* At exit, held lines ask the kernel for their port or acceptor this long. */
#define FLUSH_LOOKUPS_NS (20 * MS)

enum hold_kind {
	HOLD_PORT,	/* CLOSE -> SYN_SENT before the local port is bound */
	HOLD_ACCEPT,	/* a passive socket's line before accept() */
	HOLD_FIN_WAIT2,	/* a time-wait socket still waiting for the peer's FIN */
	HOLD_TIME_WAIT,	/* a time-wait socket in TIME_WAIT */
	HOLD_HANDOFF,	/* a close to time-wait, its lookup in the next batch */
	HOLD_DONE,	/* released or finished: removed at the next tick */
	HOLD_LIVE,	/* looked for only: any line in `ports` not done */
};

/* The chain of one socket's held lines in `ports`, oldest first. */
struct held_sock {
	uint32_t first, last;	/* indices in ports.v */
	uint32_t live;		/* of them, not yet released */
};
#define NO_HOLD UINT32_MAX

struct ct_hold {
	enum hold_kind kind;
	uint32_t next;		/* ports: the socket's next held line */
	struct ct_line line;	/* HOLD_PORT: the line; else the last line */
	uint64_t due_ns;
	uint64_t backoff_ns;
	uint64_t since_ns;	/* when the state being watched began */
	uint64_t fin_ns;	/* when we saw the peer send its FIN, or 0 */
};

/*
 * Under churn the held lines and watches fill toward MAX_HOLDS in seconds,
 * and growing them by doubling copied megabytes into fresh pages (5-9% of
 * watch's time): their room is taken once, and filled as they grow.
 */
static int reserve_holds(struct ct_events *e)
{
	struct ct_holds *all[] = { &e->ports, &e->watches, &e->fin_wait2 };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (ct_reserve((void **)&all[i]->v, &all[i]->cap, MAX_HOLDS,
			       sizeof(struct ct_hold)))
			return -ENOMEM;
	return 0;
}

int ct_events_init(struct ct_events *e, struct ct_owners *owners, int socks_fd,
		   const struct ct_kfilter *filter, ct_line_fn emit, void *ctx)
{
	memset(e, 0, sizeof(*e));
	e->owners = owners;
	e->socks_fd = socks_fd;
	e->filter = *filter;
	e->emit = emit;
	e->emit_ctx = ctx;
	if (u64map_init(&e->held_socks, sizeof(struct held_sock)) ||
	    u64map_init(&e->syn_ports, sizeof(uint16_t)) ||
	    reserve_holds(e))
		return -ENOMEM;
	return ct_diag_init(&e->diag);
}

void ct_events_free(struct ct_events *e)
{
	ct_diag_free(&e->diag);
	u64map_free(&e->held_socks);
	u64map_free(&e->syn_ports);
	free(e->ports.v);
	free(e->watches.v);
	free(e->fin_wait2.v);
	memset(&e->ports, 0, sizeof(e->ports));
	memset(&e->watches, 0, sizeof(e->watches));
	memset(&e->fin_wait2, 0, sizeof(e->fin_wait2));
	e->n_handoffs = 0;
}

/* The expression sees a transition as a socket in its new state. */
bool ct_filter_match(const struct ct_kfilter *f, const struct ct_event *ev)
{
	if (f->netns && ev->netns != f->netns)
		return false;
	return ct_kfilter_match(f, ev->family, ev->newstate, ev->saddr,
				ev->sport, ev->daddr, ev->dport, ev->pid,
				ev->comm, ev->cgroup);
}

static bool needs_resolving(const struct ct_event *ev)
{
	if (ev->owner_src == CT_OWNER_NONE)
		return true;
	/* Accepted since the listener's owner was inherited: ask who holds it. */
	return ev->owner_src == CT_OWNER_LISTENER && (ev->flags & CT_EV_HAS_FILE);
}

/* Tells the kernel side, so the next event of this socket needs no walk. */
static void write_back(struct ct_events *e, const struct ct_event *ev)
{
	struct ct_sock s;

	if (e->socks_fd < 0 || ev->newstate == TCP_CLOSE)
		return;
	if (bpf_map_lookup_elem(e->socks_fd, &ev->skaddr, &s))
		return;
	s.owner.pid = ev->pid;
	s.owner.src = ev->owner_src;
	memcpy(s.owner.comm, ev->comm, sizeof(s.owner.comm));
	s.owner.cgroup = ev->cgroup;
	bpf_map_update_elem(e->socks_fd, &ev->skaddr, &s, BPF_EXIST);
}

static void resolve_owner(struct ct_events *e, struct ct_event *ev)
{
	const struct ct_holder *h = NULL;

	if (!needs_resolving(ev))
		return;
	if (e->owners)
		h = ct_owners_find(e->owners, ev->ino, ev->ts_ns);
	if (!h) {
		/* Never guess: an unknown owner is printed as unknown. */
		ev->pid = 0;
		ev->owner_src = CT_OWNER_NONE;
		memset(ev->comm, 0, sizeof(ev->comm));
		ev->cgroup = 0;
		return;
	}
	ev->pid = h->pid;
	ev->cgroup = h->cgroup;
	ev->owner_src = CT_OWNER_RESOLVED;
	memcpy(ev->comm, h->comm, sizeof(ev->comm));
	write_back(e, ev);
}

static void line_from_event(struct ct_line *l, const struct ct_event *ev)
{
	memset(l, 0, sizeof(*l));
	l->ev = *ev;
	l->ts_ns = ev->ts_ns;
	l->delta_ns = ev->delta_ns;
	l->delta_known = ev->flags & CT_EV_DELTA_KNOWN;
}

/*
 * MAX_HOLDS bounds held lines and watches together; a close waiting for
 * its lookup is one of a batch, bounded by that, and asked even when the
 * watches are full (its line depends on the answer).
 */
static struct ct_hold *hold_add(struct ct_events *e, struct ct_holds *hs,
				enum hold_kind kind)
{
	if ((kind != HOLD_HANDOFF &&
	     e->ports.n - e->ports_done + e->watches.n + e->fin_wait2.n >=
		     MAX_HOLDS) ||
	    ct_grow((void **)&hs->v, &hs->cap, hs->n, sizeof(*hs->v)))
		return NULL;
	memset(&hs->v[hs->n], 0, sizeof(hs->v[0]));
	hs->v[hs->n].kind = kind;
	return &hs->v[hs->n++];
}

/* Puts ports.v[i] at the end of its socket's chain. */
static void held_link(struct ct_events *e, size_t i)
{
	struct ct_hold *h = &e->ports.v[i];
	int created;
	struct held_sock *s = u64map_put(&e->held_socks, h->line.ev.skaddr,
					 &created);

	h->next = NO_HOLD;
	if (!s) {
		e->held_unknown = true;
		return;
	}
	if (!s->live)
		s->first = (uint32_t)i;
	else
		e->ports.v[s->last].next = (uint32_t)i;
	s->last = (uint32_t)i;
	s->live++;
}

/* Whether a line of this socket may be in `ports`: false is sure. */
static bool may_hold(const struct ct_events *e, uint64_t skaddr)
{
	const struct held_sock *s = u64map_get(&e->held_socks, skaddr);

	return e->held_unknown || (s && s->live);
}

/* The same socket: the same address, and the same cookie when it has one. */
static bool same_sock(const struct ct_event *a, uint64_t skaddr, uint64_t cookie)
{
	return a->skaddr == skaddr && a->cookie == cookie;
}

static bool held_is(const struct ct_hold *h, uint64_t skaddr, uint64_t cookie,
		    enum hold_kind kind)
{
	bool kind_is = kind == HOLD_LIVE ? h->kind != HOLD_DONE : h->kind == kind;

	return kind_is && same_sock(&h->line.ev, skaddr, cookie);
}

/*
 * The socket's next held line of this kind after index i (from the start
 * with i == ports.n), or ports.n if none: along its chain, or through
 * them all when the map is short of a socket.
 */
static size_t next_held(const struct ct_events *e, size_t i, uint64_t skaddr,
			uint64_t cookie, enum hold_kind kind)
{
	const struct held_sock *s;
	uint32_t j;

	if (e->held_unknown) {
		for (i = i == e->ports.n ? 0 : i + 1; i < e->ports.n; i++)
			if (held_is(&e->ports.v[i], skaddr, cookie, kind))
				return i;
		return e->ports.n;
	}
	if (i == e->ports.n) {
		s = u64map_get(&e->held_socks, skaddr);
		j = s && s->live ? s->first : NO_HOLD;
	} else {
		j = e->ports.v[i].next;
	}
	for (; j != NO_HOLD; j = e->ports.v[j].next)
		if (held_is(&e->ports.v[j], skaddr, cookie, kind))
			return j;
	return e->ports.n;
}

static size_t first_held(const struct ct_events *e, uint64_t skaddr,
			 uint64_t cookie, enum hold_kind kind)
{
	return next_held(e, e->ports.n, skaddr, cookie, kind);
}

/* After the lines are renumbered: every chain afresh. */
static void held_relink(struct ct_events *e)
{
	u64map_clear(&e->held_socks);
	e->held_unknown = false;
	e->ports_done = 0;
	for (size_t i = 0; i < e->ports.n; i++)
		held_link(e, i);
}

static bool hold_port(struct ct_events *e, enum hold_kind kind,
		      const struct ct_line *l, uint64_t due_ns)
{
	struct ct_hold *h = hold_add(e, &e->ports, kind);

	if (!h)
		return false;
	h->line = *l;
	h->due_ns = due_ns;
	if (due_ns < e->ports_due_ns)
		e->ports_due_ns = due_ns;
	held_link(e, e->ports.n - 1);
	return true;
}

/*
 * A released line leaves a gap that the next tick closes, in one pass for
 * all: moving the rest up at each release made every accept() cost a
 * move of thousands of held lines under churn.
 */
static void port_hold_del(struct ct_events *e, size_t i)
{
	struct held_sock *s = u64map_get(&e->held_socks,
					 e->ports.v[i].line.ev.skaddr);

	if (s && s->live)
		s->live--;
	e->ports.v[i].kind = HOLD_DONE;
	e->ports_done++;
}

/* A connect() line held for its port is completed by the socket's next event. */
static void release_port_hold(struct ct_events *e, const struct ct_event *ev)
{
	struct ct_hold *h;
	size_t i;

	if (!may_hold(e, ev->skaddr))
		return;
	i = first_held(e, ev->skaddr, ev->cookie, HOLD_PORT);
	if (i == e->ports.n)
		return;
	h = &e->ports.v[i];
	if (ev->sport) {
		h->line.ev.sport = ev->sport;
		memcpy(h->line.ev.saddr, ev->saddr, sizeof(ev->saddr));
	}
	e->emit(&h->line, e->emit_ctx);
	port_hold_del(e, i);
}

static void set_owner(struct ct_event *ev, uint32_t pid, const char *comm,
		      uint64_t cgroup, uint8_t src)
{
	ev->pid = pid;
	ev->owner_src = src;
	memcpy(ev->comm, comm, sizeof(ev->comm));
	ev->cgroup = cgroup;
}

/* Emits every line held for one socket's accept(), in order, as owned. */
static void release_accept_holds(struct ct_events *e, uint64_t skaddr,
				 uint64_t cookie, uint32_t pid,
				 const char *comm, uint64_t cgroup)
{
	if (!may_hold(e, skaddr))
		return;
	for (size_t i = first_held(e, skaddr, cookie, HOLD_ACCEPT);
	     i < e->ports.n; i = next_held(e, i, skaddr, cookie, HOLD_ACCEPT)) {
		struct ct_hold *h = &e->ports.v[i];

		set_owner(&h->line.ev, pid, comm, cgroup, CT_OWNER_ACCEPT);
		if (ct_filter_match(&e->filter, &h->line.ev))
			e->emit(&h->line, e->emit_ctx);
		port_hold_del(e, i);
	}
}

void ct_events_accept(struct ct_events *e, const struct ct_accept *a)
{
	release_accept_holds(e, a->skaddr, a->cookie, a->pid, a->comm,
			     a->cgroup);
}

static bool has_accept_hold(const struct ct_events *e, const struct ct_event *ev)
{
	if (!may_hold(e, ev->skaddr))
		return false;
	return first_held(e, ev->skaddr, ev->cookie, HOLD_ACCEPT) < e->ports.n;
}

/*
 * A passive socket before accept(): the listener's owner is not its owner
 * (a pre-fork master, one of several reuseport workers), the process that
 * will accept it is. Lines of a socket already waiting wait behind them.
 */
static bool awaits_accept(const struct ct_events *e, const struct ct_event *ev)
{
	if (!e->accept_hook || !(ev->flags & CT_EV_PASSIVE))
		return false;
	if (ev->owner_src == CT_OWNER_ACCEPT)
		return false;
	if (!(ev->flags & CT_EV_HAS_FILE) &&
	    (ev->owner_src == CT_OWNER_LISTENER || ev->owner_src == CT_OWNER_NONE))
		return true;
	return has_accept_hold(e, ev);
}

/*
 * Not accepted in time. The kernel's entry knows the acceptor if only its
 * message was lost; else the listener's owner is said as the listener's.
 */
static void accept_timeout(struct ct_events *e, struct ct_line *l)
{
	struct ct_event *ev = &l->ev;
	struct ct_sock s;

	if (e->socks_fd >= 0 && !e->no_lookups &&
	    !bpf_map_lookup_elem(e->socks_fd, &ev->skaddr, &s) &&
	    s.owner.src == CT_OWNER_ACCEPT && s.cookie == ev->cookie) {
		set_owner(ev, s.owner.pid, s.owner.comm, s.owner.cgroup,
			  CT_OWNER_ACCEPT);
		return;
	}
	if (ev->owner_src == CT_OWNER_LISTENER) {
		l->listener_pid = ev->pid;
		memcpy(l->listener_comm, ev->comm, sizeof(l->listener_comm));
	}
	memset(ev->comm, 0, sizeof(ev->comm));
	set_owner(ev, 0, ev->comm, 0, CT_OWNER_NONE);
}

static void syn_port_put(struct ct_events *e, uint64_t key, uint16_t sport)
{
	int created;
	uint16_t *p = u64map_put(&e->syn_ports, key, &created);

	if (p)
		*p = sport;
}

static int port_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct ct_events *e = data;
	uint64_t cookie = m->id.idiag_cookie[0] |
			  (uint64_t)m->id.idiag_cookie[1] << 32;
	uint16_t sport = ntohs(m->id.idiag_sport);

	if (cookie)
		syn_port_put(e, cookie, sport);
	if (m->idiag_inode)
		syn_port_put(e, INO_KEY | m->idiag_inode, sport);
	return MNL_CB_OK;
}

static void dump_syn_sent(struct ct_events *e, uint32_t netns, int family,
			  uint64_t now)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = ct_diag_sock(&e->diag, netns);
	struct inet_diag_req_v2 *req;

	u64map_clear(&e->syn_ports);
	e->syn_dump_ns = now;
	if (!nl)
		return;
	req = ct_diag_request(buf, family, IPPROTO_TCP, NLM_F_DUMP);
	req->idiag_states = 1U << TCP_SYN_SENT;
	ct_diag_talk(nl, buf, port_cb, e);
}

static uint16_t dumped_port(const struct ct_events *e, const struct ct_event *ev)
{
	const uint16_t *p = NULL;

	if (ev->cookie)
		p = u64map_get(&e->syn_ports, ev->cookie);
	if (!p && ev->ino)
		p = u64map_get(&e->syn_ports, INO_KEY | ev->ino);
	return p ? *p : 0;
}

/*
 * A connect() still in SYN_SENT when its line is due (a SYN that is not
 * answered): its port is bound by now, and sock_diag knows it. The socket
 * is the one with this cookie or inode. -EAGAIN: not in the last dump,
 * and the next one is not due yet (unless this is the last chance).
 */
static int syn_sent_port(struct ct_events *e, const struct ct_event *ev,
			 uint64_t now, bool last)
{
	uint16_t port;

	if (!ev->ino && !ev->cookie)
		return 0;
	port = dumped_port(e, ev);
	if (port)
		return port;
	if (!last && e->syn_dump_ns && now - e->syn_dump_ns < SYN_DUMP_GAP_NS)
		return -EAGAIN;
	dump_syn_sent(e, ev->netns, ev->family, now);
	return dumped_port(e, ev);
}

/*
 * A connect() line due without its port. Where a later record of the
 * socket was lost, the kernel's entry has the port; a socket gone from it
 * is closed, and no dump would find it. Only a socket still connecting
 * (a SYN unanswered) is worth a dump, which walks every socket.
 */
static int late_port(struct ct_events *e, const struct ct_event *ev,
		     uint64_t now, bool last)
{
	struct ct_sock s;

	if (e->no_lookups)
		return 0;
	if (e->socks_fd < 0 || !ev->cookie)
		return syn_sent_port(e, ev, now, last);
	if (bpf_map_lookup_elem(e->socks_fd, &ev->skaddr, &s) ||
	    s.cookie != ev->cookie)
		return 0;
	return s.sport ? s.sport : syn_sent_port(e, ev, now, last);
}

static void tuple_of(struct ct_tuple *t, const struct ct_event *ev)
{
	t->netns = ev->netns;
	t->family = ev->family;
	t->sport = ev->sport;
	t->dport = ev->dport;
	memcpy(t->saddr, ev->saddr, sizeof(t->saddr));
	memcpy(t->daddr, ev->daddr, sizeof(t->daddr));
}

static int diag_state(struct ct_events *e, const struct ct_event *ev)
{
	struct ct_tuple t;

	tuple_of(&t, ev);
	return ct_diag_state(&e->diag, &t);
}

/* Emits a line inferred by user space: old -> new at ts, after delta. */
static void emit_derived(struct ct_events *e, const struct ct_line *base,
			 int old, int new, uint64_t ts, uint64_t since)
{
	struct ct_line l = *base;

	l.ev.oldstate = (uint8_t)old;
	l.ev.newstate = (uint8_t)new;
	l.ts_ns = ts;
	l.delta_ns = ts > since ? ts - since : 0;
	l.delta_known = true;
	l.derived = true;
	e->emit(&l, e->emit_ctx);
}

static void hold_swap(struct ct_hold *a, struct ct_hold *b)
{
	struct ct_hold t = *a;

	*a = *b;
	*b = t;
}

/* The watches' heap order: a hold is due no later than its children. */
static void heap_up(struct ct_holds *hs, size_t i)
{
	while (i > 0 && hs->v[(i - 1) / 2].due_ns > hs->v[i].due_ns) {
		hold_swap(&hs->v[(i - 1) / 2], &hs->v[i]);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct ct_holds *hs, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < hs->n && hs->v[l].due_ns < hs->v[m].due_ns)
			m = l;
		if (l + 1 < hs->n && hs->v[l + 1].due_ns < hs->v[m].due_ns)
			m = l + 1;
		if (m == i)
			return;
		hold_swap(&hs->v[i], &hs->v[m]);
		i = m;
	}
}

static void heap_pop(struct ct_holds *hs)
{
	hs->v[0] = hs->v[--hs->n];
	heap_down(hs, 0);
}

static void watch_time_wait(struct ct_events *e, const struct ct_line *l,
			    uint64_t since)
{
	struct ct_hold *h = hold_add(e, &e->watches, HOLD_TIME_WAIT);

	if (!h) {
		e->untracked_tw++;
		return;
	}
	h->line = *l;
	h->since_ns = since;
	h->due_ns = since + TIME_WAIT_NS;
	heap_up(&e->watches, e->watches.n - 1);
}

static void watch_fin_wait2(struct ct_events *e, const struct ct_line *l,
			    uint64_t since, uint64_t now)
{
	struct ct_hold *h = hold_add(e, &e->fin_wait2, HOLD_FIN_WAIT2);

	if (!h) {
		e->untracked_tw++;
		e->emit(l, e->emit_ctx);
		return;
	}
	h->line = *l;
	h->since_ns = since;
	h->backoff_ns = TW_FIRST_PROBE_NS;
	h->due_ns = now + h->backoff_ns;
	heap_up(&e->fin_wait2, e->fin_wait2.n - 1);
}

/*
 * FIN_WAIT1/FIN_WAIT2/CLOSING -> CLOSE without an error is how the kernel
 * hands a connection to a time-wait mini-socket. st is what sock_diag says
 * that socket is now; only if it is gone was the connection really closed.
 */
static void handoff_done(struct ct_events *e, const struct ct_line *l, int st,
			 uint64_t now)
{
	uint64_t began = l->delta_known ? l->ts_ns - l->delta_ns : l->ts_ns;

	if (st == TCP_TIME_WAIT) {
		/* With the peer's FIN already in, TIME_WAIT began at handoff. */
		uint64_t at = (l->ev.flags & CT_EV_PEER_FIN) ? l->ts_ns : now;

		emit_derived(e, l, l->ev.oldstate, TCP_TIME_WAIT, at, began);
		watch_time_wait(e, l, at);
	} else if (st == TCP_FIN_WAIT2) {
		watch_fin_wait2(e, l, began, now);
	} else {
		e->emit(l, e->emit_ctx);
	}
}

/* The kernel's states of n connections, a send and a read per namespace. */
static void lookup_states(struct ct_events *e, const struct ct_event **evs,
			  size_t n, int *st)
{
	struct ct_tuple t[CT_DIAG_BATCH];
	int got[CT_DIAG_BATCH];
	size_t of[CT_DIAG_BATCH], m;
	bool asked[CT_DIAG_BATCH] = { false };

	for (size_t i = 0; i < n; i++) {
		if (asked[i])
			continue;
		m = 0;
		for (size_t j = i; j < n; j++) {
			if (asked[j] || evs[j]->netns != evs[i]->netns)
				continue;
			asked[j] = true;
			tuple_of(&t[m], evs[j]);
			of[m++] = j;
		}
		ct_diag_states(&e->diag, t, m, got);
		for (size_t k = 0; k < m; k++)
			st[of[k]] = got[k];
	}
}

/* The closes handed to time-wait so far, in the order they came. */
static void resolve_handoffs(struct ct_events *e)
{
	const struct ct_event *evs[CT_DIAG_BATCH];
	int st[CT_DIAG_BATCH];
	uint64_t now;
	size_t n = e->n_handoffs;

	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		evs[i] = &e->ports.v[e->handoffs[i]].line.ev;
	lookup_states(e, evs, n, st);
	now = ct_monotonic_ns();
	e->n_handoffs = 0;
	for (size_t i = 0; i < n; i++) {
		struct ct_line l = e->ports.v[e->handoffs[i]].line;

		port_hold_del(e, e->handoffs[i]);
		handoff_done(e, &l, st[i], now);
	}
}

/* Held for the next batch of lookups; alone if there is no room. */
static void handoff(struct ct_events *e, const struct ct_line *l)
{
	if (e->n_handoffs == CT_DIAG_BATCH)
		resolve_handoffs(e);
	/* Never due by time: the batch is asked at the next tick. */
	if (!hold_port(e, HOLD_HANDOFF, l, UINT64_MAX)) {
		handoff_done(e, l, diag_state(e, &l->ev), ct_monotonic_ns());
		return;
	}
	e->handoffs[e->n_handoffs++] = (uint32_t)(e->ports.n - 1);
}

/* A socket's later record comes after its handoff's line, as it did. */
static void handoff_before(struct ct_events *e, const struct ct_event *ev)
{
	if (e->n_handoffs && may_hold(e, ev->skaddr) &&
	    first_held(e, ev->skaddr, ev->cookie, HOLD_HANDOFF) < e->ports.n)
		resolve_handoffs(e);
}

static bool is_handoff(const struct ct_event *ev)
{
	if (ev->newstate != TCP_CLOSE || (ev->flags & CT_EV_SK_ERROR))
		return false;
	return ev->oldstate == TCP_FIN_WAIT1 || ev->oldstate == TCP_FIN_WAIT2 ||
	       ev->oldstate == TCP_CLOSING;
}

static bool is_reverse(const struct ct_event *a, const struct ct_event *b)
{
	return a->family == b->family && a->sport == b->dport &&
	       a->dport == b->sport &&
	       !memcmp(a->saddr, b->daddr, sizeof(a->saddr)) &&
	       !memcmp(a->daddr, b->saddr, sizeof(a->daddr));
}

/*
 * When the peer of a connection waiting in FIN_WAIT2 is on this host, its
 * move to LAST_ACK or CLOSING sends the FIN we wait for: look now, not at
 * the next back-off step.
 */
static void peer_fin_hint(struct ct_events *e, const struct ct_event *ev)
{
	if (ev->newstate != TCP_LAST_ACK && ev->newstate != TCP_CLOSING)
		return;
	for (size_t i = 0; i < e->fin_wait2.n; i++) {
		struct ct_hold *h = &e->fin_wait2.v[i];

		if (is_reverse(&h->line.ev, ev)) {
			h->fin_ns = ev->ts_ns;
			h->due_ns = 0;
			heap_up(&e->fin_wait2, i);
		}
	}
}

void ct_events_handle(struct ct_events *e, const struct ct_event *raw)
{
	struct ct_event ev = *raw;
	struct ct_line l;

	if (ev.ts_ns > e->latest_ns)
		e->latest_ns = ev.ts_ns;
	handoff_before(e, &ev);
	release_port_hold(e, &ev);
	if (ev.owner_src == CT_OWNER_ACCEPT)
		release_accept_holds(e, ev.skaddr, ev.cookie, ev.pid, ev.comm,
				     ev.cgroup);
	peer_fin_hint(e, &ev);
	if (!e->lifetime && awaits_accept(e, &ev)) {
		line_from_event(&l, &ev);
		if (hold_port(e, HOLD_ACCEPT, &l, ev.ts_ns + ACCEPT_WAIT_NS))
			return;
		accept_timeout(e, &l);
		if (ct_filter_match(&e->filter, &l.ev))
			e->emit(&l, e->emit_ctx);
		return;
	}
	resolve_owner(e, &ev);
	if (!ct_filter_match(&e->filter, &ev))
		return;
	line_from_event(&l, &ev);
	if (e->lifetime) {
		/* The kernel's CLOSE ends the connection as the process saw it. */
		if (ev.newstate == TCP_CLOSE && ev.oldstate != TCP_LISTEN)
			e->emit(&l, e->emit_ctx);
		return;
	}
	if (ev.newstate == TCP_SYN_SENT && ev.sport == 0 &&
	    hold_port(e, HOLD_PORT, &l, ev.ts_ns + PORT_WAIT_NS))
		return;
	if (is_handoff(&ev))
		handoff(e, &l);
	else
		e->emit(&l, e->emit_ctx);
}

/*
 * A held line due: said now, with what is known by then; or, for a port
 * that waits for the next dump of connecting sockets, due again then
 * (false). last: the line's last chance, at exit.
 */
static bool port_due(struct ct_events *e, struct ct_hold *h, uint64_t now,
		     bool last)
{
	int port;

	if (h->kind == HOLD_PORT) {
		if (!h->line.ev.sport) {
			port = late_port(e, &h->line.ev, now, last);
			if (port == -EAGAIN) {
				h->due_ns = e->syn_dump_ns + SYN_DUMP_GAP_NS;
				return false;
			}
			h->line.ev.sport = (uint16_t)port;
		}
		e->emit(&h->line, e->emit_ctx);
		return true;
	}
	accept_timeout(e, &h->line);
	if (ct_filter_match(&e->filter, &h->line.ev))
		e->emit(&h->line, e->emit_ctx);
	return true;
}

/*
 * A watch due, with st what sock_diag says of its time-wait socket now.
 * Returns true if the watch is over.
 */
static bool watch_due(struct ct_events *e, struct ct_hold *h, int st,
		      uint64_t now)
{
	if (h->kind == HOLD_FIN_WAIT2 && st == TCP_TIME_WAIT) {
		/* The peer's FIN, when we saw it leave, dates the change best. */
		uint64_t at = h->fin_ns ? h->fin_ns : now;

		emit_derived(e, &h->line, TCP_FIN_WAIT2, TCP_TIME_WAIT, at,
			     h->since_ns);
		h->kind = HOLD_TIME_WAIT;
		h->since_ns = at;
		h->due_ns = at + TIME_WAIT_NS;
		return false;
	}
	if (st == TCP_FIN_WAIT2 || st == TCP_TIME_WAIT) {
		if (h->kind == HOLD_FIN_WAIT2) {
			h->backoff_ns *= 2;
			if (h->backoff_ns > TW_MAX_PROBE_NS)
				h->backoff_ns = TW_MAX_PROBE_NS;
		} else {
			h->backoff_ns = TW_END_PROBE_NS;
		}
		h->due_ns = now + h->backoff_ns;
		return false;
	}
	emit_derived(e, &h->line,
		     h->kind == HOLD_TIME_WAIT ? TCP_TIME_WAIT : TCP_FIN_WAIT2,
		     TCP_CLOSE, now, h->since_ns);
	return true;
}

/*
 * Under churn thousands of held lines fall due at once: they are marked in
 * one pass, and the gaps closed in a second only once they are half the
 * lines (which renumbers the chains), not one move per line (which made
 * a tick quadratic and Ctrl-C wait for it). Order is kept either way.
 */
static void ports_compact(struct ct_events *e)
{
	struct ct_holds *hs = &e->ports;
	size_t kept = 0;

	if (!e->ports_done || 2 * e->ports_done < hs->n)
		return;
	for (size_t i = 0; i < hs->n; i++)
		if (hs->v[i].kind != HOLD_DONE)
			hs->v[kept++] = hs->v[i];
	hs->n = kept;
	held_relink(e);
}

static bool stopping(const struct ct_events *e)
{
	return e->stop && *e->stop;
}

static void tick_ports(struct ct_events *e, uint64_t now, uint64_t *next)
{
	struct ct_holds *hs = &e->ports;
	uint64_t soonest = UINT64_MAX;

	/* None due yet: no walk through thousands of lines at every tick. */
	if (now < e->ports_due_ns) {
		soonest = e->ports_due_ns;
	} else {
		for (size_t i = 0; i < hs->n; i++) {
			struct ct_hold *h = &hs->v[i];

			/* The flush at the stop says the rest. */
			if (stopping(e)) {
				soonest = now;
				break;
			}
			if (h->kind != HOLD_DONE && h->due_ns <= now &&
			    port_due(e, h, now, false))
				port_hold_del(e, i);
			if (h->kind != HOLD_DONE && h->due_ns < soonest)
				soonest = h->due_ns;
		}
		e->ports_due_ns = soonest;
	}
	if (soonest < *next)
		*next = soonest;
	ports_compact(e);
}

/* A watch due again later, in the heap of its kind. */
static void watch_again(struct ct_events *e, const struct ct_hold *h)
{
	struct ct_holds *hs = h->kind == HOLD_FIN_WAIT2 ? &e->fin_wait2
							: &e->watches;
	struct ct_hold *t = hold_add(e, hs, h->kind);

	if (!t) {
		e->untracked_tw++;
		return;
	}
	*t = *h;
	heap_up(hs, hs->n - 1);
}

/*
 * The watches due, soonest first, asked about a batch at a time; each
 * either ends or is due again later (in the TIME_WAIT heap once a
 * FIN_WAIT2 one saw it).
 */
static void tick_heap(struct ct_events *e, struct ct_holds *hs, uint64_t now,
		      uint64_t *next)
{
	struct ct_hold due[CT_DIAG_BATCH];
	const struct ct_event *evs[CT_DIAG_BATCH];
	int st[CT_DIAG_BATCH];
	size_t n;

	do {
		for (n = 0; n < CT_DIAG_BATCH && hs->n && hs->v[0].due_ns <= now;
		     n++) {
			due[n] = hs->v[0];
			evs[n] = &due[n].line.ev;
			heap_pop(hs);
		}
		lookup_states(e, evs, n, st);
		for (size_t i = 0; i < n; i++)
			if (!watch_due(e, &due[i], st[i], now))
				watch_again(e, &due[i]);
	} while (n == CT_DIAG_BATCH && !stopping(e));
	if (hs->n && hs->v[0].due_ns < *next)
		*next = hs->v[0].due_ns;
}

int ct_events_tick(struct ct_events *e, uint64_t now, int max_ms)
{
	uint64_t next = now + (uint64_t)max_ms * MS;

	resolve_handoffs(e);
	tick_ports(e, now, &next);
	tick_heap(e, &e->fin_wait2, now, &next);
	tick_heap(e, &e->watches, now, &next);
	return next <= now ? 0 : (int)((next - now + MS - 1) / MS);
}

/* Whether the flush, ending at end, still has time at now to print a line. */
static bool print_left(const struct ct_events *e, uint64_t end, uint64_t now)
{
	return !e->flush_budget_ns || now < end;
}

/*
 * Held lines the flush had no time for, from the i-th on: counted if they
 * would have printed. Only an owner can change that answer, which an
 * accept()'s line that timed out loses; without a filter on owners, the
 * tens of thousands held under churn are counted without that work.
 */
static void count_unprinted(struct ct_events *e, size_t i)
{
	bool by_owner = ct_kfilter_on_owner(&e->filter);

	for (; i < e->ports.n; i++) {
		struct ct_hold *h = &e->ports.v[i];

		if (h->kind == HOLD_DONE)
			continue;
		if (by_owner && h->kind == HOLD_ACCEPT) {
			accept_timeout(e, &h->line);
			if (!ct_filter_match(&e->filter, &h->line.ev))
				continue;
		}
		e->unprinted++;
	}
}

/*
 * Time-wait sockets still waiting for the peer's FIN say what the kernel
 * said, FIN_WAIT2 -> CLOSE, rather than nothing; those in TIME_WAIT have
 * said theirs already.
 */
static void flush_fin_wait2(struct ct_events *e, uint64_t end)
{
	for (size_t i = 0; i < e->fin_wait2.n; i++) {
		if (print_left(e, end, ct_monotonic_ns()))
			e->emit(&e->fin_wait2.v[i].line, e->emit_ctx);
		else
			e->unprinted++;
	}
	e->fin_wait2.n = 0;
}

void ct_events_flush(struct ct_events *e)
{
	uint64_t start = ct_monotonic_ns();
	uint64_t end = start + e->flush_budget_ns;
	size_t i;

	resolve_handoffs(e);
	for (i = 0; i < e->ports.n; i++) {
		uint64_t now = ct_monotonic_ns();

		if (!print_left(e, end, now))
			break;
		if (e->ports.v[i].kind == HOLD_DONE)
			continue;
		/* Thousands are held under churn: a Ctrl-C must not wait for them. */
		if (now - start > FLUSH_LOOKUPS_NS)
			e->no_lookups = true;
		port_due(e, &e->ports.v[i], now, true);
	}
	e->no_lookups = true;
	count_unprinted(e, i);
	e->ports.n = 0;
	held_relink(e);
	flush_fin_wait2(e, end);
}

void ct_events_report(const struct ct_events *e, FILE *f)
{
	if (e->unprinted)
		fprintf(f,
			"conntrace: %llu events lost (held at the stop, no time left to print them)\n",
			(unsigned long long)e->unprinted);
}

bool ct_events_holds(const struct ct_events *e, uint64_t skaddr,
		     uint64_t cookie)
{
	if (!may_hold(e, skaddr))
		return false;
	return first_held(e, skaddr, cookie, HOLD_LIVE) < e->ports.n;
}

static void on_state(void *ctx, const void *rec, size_t size)
{
	(void)size;
	ct_events_handle(ctx, rec);
}

static void on_accept(void *ctx, const void *rec, size_t size)
{
	(void)size;
	ct_events_accept(ctx, rec);
}

int ct_events_register(struct ct_events *e, struct ct_evsource *s)
{
	int rc = ct_evsource_register(s, CT_MSG_STATE, sizeof(struct ct_event),
				      on_state, e);

	if (rc)
		return rc;
	return ct_evsource_register(s, CT_MSG_ACCEPT, sizeof(struct ct_accept),
				    on_accept, e);
}

int ct_events_each_fin_wait2(const struct ct_events *e, ct_held_line_fn fn,
			     void *ctx)
{
	for (size_t i = 0; i < e->fin_wait2.n; i++) {
		int rc = fn(&e->fin_wait2.v[i].line, ctx);

		if (rc)
			return rc;
	}
	return 0;
}
