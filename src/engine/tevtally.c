// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/tevtally.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"

int ct_tally_init(struct ct_tally *t)
{
	memset(t, 0, sizeof(*t));
	if (u64map_init(&t->socks, sizeof(struct ct_tally_sock)) ||
	    u64map_init(&t->reqs, sizeof(struct ct_tally_sock)) ||
	    u64map_init(&t->procs, sizeof(struct ct_tally_counts))) {
		ct_tally_free(t);
		return -ENOMEM;
	}
	return 0;
}

void ct_tally_free(struct ct_tally *t)
{
	u64map_free(&t->socks);
	u64map_free(&t->reqs);
	u64map_free(&t->procs);
	free(t->hosts);
	t->hosts = NULL;
	t->nhosts = t->caphosts = 0;
}

static struct ct_lat_stats *host_of(struct ct_tally *t, const struct ct_tcp_ev *ev)
{
	struct ct_lat_stats *h;

	for (size_t i = 0; i < t->nhosts; i++)
		if (t->hosts[i].family == ev->family &&
		    !memcmp(t->hosts[i].addr, ev->daddr, sizeof(ev->daddr)))
			return &t->hosts[i];
	if (t->nhosts >= CT_LAT_MAX_HOSTS ||
	    ct_grow((void **)&t->hosts, &t->caphosts, t->nhosts, sizeof(*t->hosts)))
		return NULL;
	h = &t->hosts[t->nhosts++];
	memset(h, 0, sizeof(*h));
	h->family = ev->family;
	memcpy(h->addr, ev->daddr, sizeof(h->addr));
	return h;
}

static void add_latency(struct ct_tally *t, const struct ct_tcp_ev *ev)
{
	struct ct_lat_stats *h = host_of(t, ev);

	if (!h) {
		t->untracked++;
		return;
	}
	h->kept[h->count % CT_LAT_KEEP] = ev->value;
	h->count++;
	if (ev->value > h->max_ns)
		h->max_ns = ev->value;
}

/* How much one event adds: segments, packets, or one reset. */
static uint64_t amount(const struct ct_tcp_ev *ev)
{
	return ev->value ? ev->value : 1;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/* A connection's key by its addresses, never 0 (u64map's empty key). */
static uint64_t tuple_key(uint32_t netns, uint16_t family,
			  const uint8_t saddr[CT_ADDR_LEN], uint16_t sport,
			  const uint8_t daddr[CT_ADDR_LEN], uint16_t dport)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = fnv(h, &netns, sizeof(netns));
	h = fnv(h, &family, sizeof(family));
	h = fnv(h, saddr, CT_ADDR_LEN);
	h = fnv(h, &sport, sizeof(sport));
	h = fnv(h, daddr, CT_ADDR_LEN);
	h = fnv(h, &dport, sizeof(dport));
	return h ? h : 1;
}

static uint64_t ev_tuple(const struct ct_tcp_ev *ev)
{
	return tuple_key(ev->netns, ev->family, ev->saddr, ev->sport,
			 ev->daddr, ev->dport);
}

static uint64_t conn_tuple(const struct ct_conn *k)
{
	return tuple_key(k->netns, k->family, k->saddr, k->sport, k->daddr,
			 k->dport);
}

/*
 * Adds to a process's count. Unsigned sums wrap, so a base that goes
 * down (a negative delta) takes back exactly what it added.
 */
static void proc_add(struct ct_tally *t, uint32_t pid, int col, int64_t delta)
{
	struct ct_tally_counts *c;
	int created;

	if (!pid || !delta)
		return;	/* nobody's we are sure of */
	c = u64map_put(&t->procs, pid, &created);
	if (!c) {
		t->untracked++;
		return;
	}
	c->n[col] += (uint64_t)delta;
}

/* A retransmit the kernel's count already had when the base was read. */
static void seen_retrans(struct ct_tally *t, struct ct_tally_sock *s,
			 const struct ct_tcp_ev *ev)
{
	int64_t n = (int64_t)amount(ev);

	if (s->base_ns && ev->ts_ns < s->base_ns) {
		s->base -= n;
		proc_add(t, s->base_pid, CT_TALLY_RETRANS, -n);
	}
	if (ev->ts_ns > s->retrans_ns)
		s->retrans_ns = ev->ts_ns;
}

static void add_sock(struct ct_tally *t, const struct ct_tcp_ev *ev, int col)
{
	struct ct_tally_sock *s;
	int created = 0;

	if (ev->kind == CT_TEV_SYNACK_RETRANS)
		s = u64map_put(&t->reqs, ev_tuple(ev), &created);
	else
		s = u64map_put(&t->socks, ev->skaddr, &created);
	if (!s) {
		t->untracked++;
		return;
	}
	/* The address was freed and taken by another socket since. */
	if (!created && s->cookie && ev->cookie && s->cookie != ev->cookie)
		created = 1;
	if (created) {
		memset(s, 0, sizeof(*s));
		s->cookie = ev->cookie;
		s->first_ns = ev->ts_ns;
	}
	if (!s->cookie)
		s->cookie = ev->cookie;
	if (ev->ts_ns > s->last_ns)
		s->last_ns = ev->ts_ns;
	s->c.n[col] += amount(ev);
	if (col == CT_TALLY_RETRANS && ev->kind != CT_TEV_SYNACK_RETRANS)
		seen_retrans(t, s, ev);
}

static void add_proc(struct ct_tally *t, const struct ct_tev_line *l, int col)
{
	proc_add(t, ct_tev_party(l).pid, col, (int64_t)amount(&l->ev));
}

void ct_tally_add(struct ct_tally *t, const struct ct_tev_line *l)
{
	int col = ct_tev_kind(l->ev.kind)->tally;

	if (l->ev.kind == CT_TEV_CONNECT_LAT) {
		add_latency(t, &l->ev);
		return;
	}
	if (col < 0)
		return;
	/* A listener's own counter has no connection to go with. */
	if (l->ev.skaddr && !(l->ev.flags & CT_TEV_FROM_COUNTER))
		add_sock(t, &l->ev, col);
	add_proc(t, l, col);
}

/* The SYN-ACKs of the request that made the socket born at born_ns. */
static const struct ct_tally_sock *req_of(const struct ct_tally *t,
					  uint64_t born_ns,
					  const struct ct_conn *k)
{
	const struct ct_tally_sock *r = k ? u64map_get(&t->reqs, conn_tuple(k)) : NULL;

	/* They come before it, but not long before. */
	if (r && (!born_ns || r->first_ns + CT_TALLY_REQ_BEFORE_NS >= born_ns))
		return r;
	return NULL;
}

/* A negative sum is a base that events came in late to take back. */
static uint64_t at_least_0(uint64_t n)
{
	return (int64_t)n < 0 ? 0 : n;
}

void ct_tally_sock(const struct ct_tally *t, uint64_t skaddr, uint64_t born_ns,
		   const struct ct_conn *k, struct ct_tally_counts *out)
{
	const struct ct_tally_sock *s = u64map_get(&t->socks, skaddr);
	const struct ct_tally_sock *r = req_of(t, born_ns, k);

	memset(out, 0, sizeof(*out));
	/* An event never comes before its socket's birth. */
	if (s && (!born_ns || s->first_ns >= born_ns)) {
		*out = s->c;
		out->n[CT_TALLY_RETRANS] += (uint64_t)s->base;
	}
	if (r)
		for (int c = 0; c < CT_TALLY_COLS; c++)
			out->n[c] += r->c.n[c];
	out->n[CT_TALLY_RETRANS] = at_least_0(out->n[CT_TALLY_RETRANS]);
}

void ct_tally_proc(const struct ct_tally *t, uint32_t pid,
		   struct ct_tally_counts *out)
{
	const struct ct_tally_counts *c = pid ? u64map_get(&t->procs, pid) : NULL;

	if (c)
		*out = *c;
	else
		memset(out, 0, sizeof(*out));
	out->n[CT_TALLY_RETRANS] = at_least_0(out->n[CT_TALLY_RETRANS]);
}

/*
 * Why a base, and not the kernel's count in place of the events: the
 * events stay the one source of every count (resets and drops have no
 * lifetime counter to read), they show a retransmit as it comes, not
 * at the next walk, and they count for the process that owned the
 * socket at the time. The kernel's count only adds what they cannot
 * know: what came before us, or was lost in a full ring. Its read and
 * the retransmit hook both run with the socket locked, so the events
 * stamped before read_ns are exactly those the count has; those of them
 * still in the ring when the base is made take it down as they come.
 */
void ct_tally_kernel(struct ct_tally *t, const struct ct_tally_read *rd)
{
	const int col = CT_TALLY_RETRANS;
	const struct ct_tally_sock *r;
	struct ct_tally_sock *s;
	int created = 0;
	uint32_t pid;
	int64_t base;

	if (!rd->read_ns || !rd->skaddr)
		return;
	/*
	 * Nothing sent again before the read, and no event to make up for:
	 * no entry, so that memory follows the sockets with trouble only.
	 */
	if (!rd->total_retrans && !u64map_get(&t->socks, rd->skaddr))
		return;
	s = u64map_put(&t->socks, rd->skaddr, &created);
	if (!s) {
		t->untracked++;
		return;
	}
	/* An earlier socket's entry: its base stays with its process. */
	if (!created && rd->born_ns && s->first_ns < rd->born_ns)
		created = 1;
	if (created) {
		memset(s, 0, sizeof(*s));
		s->first_ns = rd->read_ns;
	}
	if (rd->read_ns <= s->base_ns || rd->read_ns < s->retrans_ns)
		return;
	r = req_of(t, rd->born_ns, rd->k);
	base = (int64_t)rd->total_retrans - (int64_t)s->c.n[col] -
	       (r ? (int64_t)r->c.n[col] : 0);
	pid = rd->pid ? rd->pid : s->base_pid;
	proc_add(t, s->base_pid, col, -s->base);
	proc_add(t, pid, col, base);
	s->base = base;
	s->base_pid = pid;
	s->base_ns = rd->read_ns;
	if (rd->read_ns > s->last_ns)
		s->last_ns = rd->read_ns;
}

static void touch(struct ct_tally_sock *s, uint64_t now_ns)
{
	if (s && now_ns > s->last_ns)
		s->last_ns = now_ns;
}

void ct_tally_touch(struct ct_tally *t, uint64_t skaddr,
		    const struct ct_conn *k, uint64_t now_ns)
{
	if (skaddr)
		touch(u64map_get(&t->socks, skaddr), now_ns);
	if (k)
		touch(u64map_get(&t->reqs, conn_tuple(k)), now_ns);
}

/* Kept: an event or a view mentioned it since *ctx (a time, ns). */
static int recent(uint64_t key, const void *val, void *ctx)
{
	const struct ct_tally_sock *s = val;

	(void)key;
	return s->last_ns >= *(const uint64_t *)ctx;
}

/* Drops the entries of m last mentioned before before_ns. */
static int prune_map(struct u64map *m, uint64_t before_ns)
{
	return u64map_retain(m, recent, &before_ns);
}

int ct_tally_prune(struct ct_tally *t, uint64_t before_ns)
{
	int err = prune_map(&t->socks, before_ns);

	return err ? err : prune_map(&t->reqs, before_ns);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t ct_lat_percentile(const struct ct_lat_stats *h, double p)
{
	size_t n = h->count < CT_LAT_KEEP ? (size_t)h->count : CT_LAT_KEEP;
	uint64_t v[CT_LAT_KEEP];
	size_t rank;
	double x;

	if (!n)
		return 0;
	memcpy(v, h->kept, n * sizeof(v[0]));
	qsort(v, n, sizeof(v[0]), cmp_u64);
	/* Nearest rank: the smallest value at or above p percent of them. */
	x = p / 100.0 * (double)n;
	rank = (size_t)x;
	if ((double)rank < x || rank < 1)
		rank++;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}
