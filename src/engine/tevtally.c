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
}

/* An event in a listener's queue counts for the listener's process. */
static uint32_t owner_pid(const struct ct_tev_line *l)
{
	return l->ev.pid ? l->ev.pid : l->listener_pid;
}

static void add_proc(struct ct_tally *t, const struct ct_tev_line *l, int col)
{
	uint32_t pid = owner_pid(l);
	struct ct_tally_counts *c;
	int created;

	if (!pid)
		return;	/* nobody's we are sure of */
	c = u64map_put(&t->procs, pid, &created);
	if (!c) {
		t->untracked++;
		return;
	}
	c->n[col] += amount(&l->ev);
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

void ct_tally_sock(const struct ct_tally *t, uint64_t skaddr, uint64_t born_ns,
		   const struct ct_conn *k, struct ct_tally_counts *out)
{
	const struct ct_tally_sock *s = u64map_get(&t->socks, skaddr);
	const struct ct_tally_sock *r = k ? u64map_get(&t->reqs, conn_tuple(k)) : NULL;

	memset(out, 0, sizeof(*out));
	/* An event never comes before its socket's birth. */
	if (s && (!born_ns || s->first_ns >= born_ns))
		*out = s->c;
	/* Its request's come before it, but not long before. */
	if (r && (!born_ns || r->first_ns + CT_TALLY_REQ_BEFORE_NS >= born_ns))
		for (int c = 0; c < CT_TALLY_COLS; c++)
			out->n[c] += r->c.n[c];
}

void ct_tally_proc(const struct ct_tally *t, uint32_t pid,
		   struct ct_tally_counts *out)
{
	const struct ct_tally_counts *c = pid ? u64map_get(&t->procs, pid) : NULL;

	if (c)
		*out = *c;
	else
		memset(out, 0, sizeof(*out));
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

/* The socket in slot i, or NULL for an empty slot. */
static const struct ct_tally_sock *sock_at(const struct u64map *m, size_t i)
{
	return m->keys[i] ? (const void *)(m->vals + i * m->val_size) : NULL;
}

/* Drops the entries of m last mentioned before before_ns. */
static int prune_map(struct u64map *m, uint64_t before_ns)
{
	struct u64map kept;
	size_t stale = 0;
	int created;

	for (size_t i = 0; i < m->cap; i++)
		if (sock_at(m, i) && sock_at(m, i)->last_ns < before_ns)
			stale++;
	if (!stale)
		return 0;
	if (u64map_init(&kept, sizeof(struct ct_tally_sock)) ||
	    u64map_reserve(&kept, m->len - stale))
		goto nomem;
	for (size_t i = 0; i < m->cap; i++) {
		const struct ct_tally_sock *s = sock_at(m, i);
		struct ct_tally_sock *d;

		if (!s || s->last_ns < before_ns)
			continue;
		d = u64map_put(&kept, m->keys[i], &created);
		if (!d)
			goto nomem;
		*d = *s;
	}
	u64map_free(m);
	*m = kept;
	return 0;
nomem:
	u64map_free(&kept);
	return -ENOMEM;
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
