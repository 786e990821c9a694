// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/recmodel.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>

#include "engine/recfile.h"

/*
 * A socket, and the state its counters were read in. Lines and snapshots
 * do not come in the order of what they saw: a snapshot walks the kernel
 * while transitions wait in the ring buffer, so a line applied after it
 * may be older. Counters go with the state of the walk that read them
 * (whether a FIN is counted in them depends on it).
 */
struct entry {
	struct ct_tcp_rec t;
	uint8_t counted_state;	/* 0: no snapshot read its counters */
};

int ct_recmodel_init(struct ct_recmodel *m)
{
	memset(m, 0, sizeof(*m));
	if (u64map_init(&m->listeners, sizeof(uint32_t)))
		return -ENOMEM;
	return u64map_init(&m->socks, sizeof(struct entry));
}

void ct_recmodel_free(struct ct_recmodel *m)
{
	u64map_free(&m->socks);
	u64map_free(&m->listeners);
}

static uint64_t listen_key(uint32_t netns, uint16_t port)
{
	return ((uint64_t)netns << 16 | port) + 1;
}

/* Counts listeners per (netns, port) as sockets enter and leave LISTEN. */
static int count_listener(struct ct_recmodel *m, const struct ct_tcp_rec *t,
			  int delta)
{
	uint32_t *n;

	if (t->state != TCP_LISTEN)
		return 0;
	n = u64map_put(&m->listeners, listen_key(t->netns, t->sport), NULL);
	if (!n)
		return -ENOMEM;
	*n += (uint32_t)delta;
	return 0;
}

static uint64_t skaddr_of(const void *data, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)data + off, sizeof(v));
	return v;
}

static int apply_sock(struct ct_recmodel *m, const struct ct_rec *rec)
{
	struct entry *e;
	struct ct_tcp_rec *t;
	int created = 0;

	/* No socket has address 0: a damaged record, passed over. */
	if (rec->len < CT_REC_SOCK_MIN || !skaddr_of(rec->data, 0))
		return 0;
	e = u64map_put(&m->socks, skaddr_of(rec->data, 0), &created);
	if (!e)
		return -ENOMEM;
	t = &e->t;
	if (!created && !t->state && m->gone)
		m->gone--;
	count_listener(m, t, -1);
	ct_rec_copy(rec, t, sizeof(*t), CT_REC_SOCK_MIN);
	e->counted_state = t->state;
	if (!t->state)
		m->gone++;
	return count_listener(m, t, 1);
}

/*
 * The map has no delete: closed sockets stay as state 0 until they are
 * as many as the open ones, then the open ones move to a new map.
 */
static int compact(struct ct_recmodel *m)
{
	const struct entry *v = (const void *)m->socks.vals;
	struct u64map fresh;

	if (m->gone < 4096 || m->gone < m->socks.len / 2)
		return 0;
	if (u64map_init(&fresh, sizeof(struct entry)))
		return -ENOMEM;
	for (size_t i = 0; i < m->socks.cap; i++) {
		struct entry *e;

		if (!m->socks.keys[i] || !v[i].t.state)
			continue;
		e = u64map_put(&fresh, m->socks.keys[i], NULL);
		if (!e) {
			u64map_free(&fresh);
			return -ENOMEM;
		}
		*e = v[i];
	}
	u64map_free(&m->socks);
	m->socks = fresh;
	m->gone = 0;
	return 0;
}

/* A transition: the socket's new state, its owner, and its end at CLOSE. */
static int apply_line(struct ct_recmodel *m, const struct ct_rec *rec)
{
	struct ct_rec_line l;
	struct ct_tcp_rec *t;
	struct entry *e;
	int created = 0;

	if (!ct_rec_copy(rec, &l, sizeof(l), CT_REC_LINE_MIN) || !l.ev.skaddr)
		return 0;
	if (l.ev.newstate == TCP_CLOSE) {
		e = u64map_get(&m->socks, l.ev.skaddr);
		if (e && e->t.state) {
			count_listener(m, &e->t, -1);
			e->t.state = 0;
			m->gone++;
		}
		return compact(m);
	}
	e = u64map_put(&m->socks, l.ev.skaddr, &created);
	if (!e)
		return -ENOMEM;
	t = &e->t;
	count_listener(m, t, -1);
	if (!created && !t->state && m->gone)
		m->gone--;
	if (created || !t->state) {
		memset(e, 0, sizeof(*e));
		t->skaddr = l.ev.skaddr;
		t->born_ns = l.ev.born_ns;
		t->origin = l.ev.flags & CT_EV_PASSIVE ? CT_ORIGIN_ACCEPT
						       : CT_ORIGIN_CONNECT;
	}
	t->ino = l.ev.ino ? l.ev.ino : t->ino;
	t->netns = l.ev.netns;
	t->family = l.ev.family;
	t->sport = l.ev.sport;
	t->dport = l.ev.dport;
	memcpy(t->saddr, l.ev.saddr, sizeof(t->saddr));
	memcpy(t->daddr, l.ev.daddr, sizeof(t->daddr));
	t->state = l.ev.newstate;
	if (l.ev.owner_src != CT_OWNER_NONE) {
		t->owner.pid = l.ev.pid;
		t->owner.src = l.ev.owner_src;
		memcpy(t->owner.comm, l.ev.comm, sizeof(t->owner.comm));
	}
	return count_listener(m, t, 1);
}

int ct_recmodel_apply(struct ct_recmodel *m, const struct ct_rec *rec)
{
	struct ct_rec_snap h;

	switch (rec->type) {
	case CT_REC_SNAP:
		if (!ct_rec_copy(rec, &h, sizeof(h), sizeof(h)))
			return 0;
		/* A file's first snapshot is the whole truth as of then. */
		if (h.kind == CT_SNAP_OPEN) {
			u64map_clear(&m->socks);
			m->gone = 0;
			u64map_clear(&m->listeners);
		}
		m->snapshots++;
		return 0;
	case CT_REC_SOCK:
		return apply_sock(m, rec);
	case CT_REC_LINE:
		return apply_line(m, rec);
	}
	return 0;
}

int ct_recmodel_each(const struct ct_recmodel *m, ct_recmodel_fn fn, void *ctx)
{
	const struct entry *v = (const void *)m->socks.vals;

	for (size_t i = 0; i < m->socks.cap; i++) {
		int rc;

		if (!m->socks.keys[i] || !v[i].t.state)
			continue;
		rc = fn(&v[i].t, ctx);
		if (rc)
			return rc;
	}
	return 0;
}

int ct_recmodel_each_counted(const struct ct_recmodel *m, ct_recmodel_fn fn,
			     void *ctx)
{
	const struct entry *v = (const void *)m->socks.vals;

	for (size_t i = 0; i < m->socks.cap; i++) {
		struct ct_tcp_rec t;
		int rc;

		/* A time-wait socket has no counters of its own. */
		if (!m->socks.keys[i] || !v[i].t.state || !v[i].counted_state ||
		    v[i].t.state == TCP_TIME_WAIT)
			continue;
		t = v[i].t;
		t.state = v[i].counted_state;
		rc = fn(&t, ctx);
		if (rc)
			return rc;
	}
	return 0;
}

bool ct_recmodel_passive(const struct ct_recmodel *m, const struct ct_tcp_rec *t)
{
	const uint32_t *n;

	if (t->origin != CT_ORIGIN_UNKNOWN)
		return t->origin == CT_ORIGIN_ACCEPT;
	n = u64map_get(&m->listeners, listen_key(t->netns, t->sport));
	return n && *n;
}

bool ct_rec_line_final(const struct ct_rec_line *l)
{
	uint8_t old = l->ev.oldstate;

	if (old == TCP_LISTEN)
		return false;
	if (!l->derived)
		return l->ev.newstate == TCP_CLOSE;
	/* Derived from the hand-off: its FIN_WAIT or CLOSING is left now. */
	return old == TCP_FIN_WAIT1 || old == TCP_FIN_WAIT2 ||
	       old == TCP_CLOSING;
}
