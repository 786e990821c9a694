// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/recorder.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stddef.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "conntrace.skel.h"
#include "engine/losses.h"
#include "engine/privs.h"
#include "engine/recfile.h"
#include "engine/recnames.h"
#include "engine/tcpwalk.h"
#include "lib/grow.h"
#include "output/format.h"

/* The time the end may take to read what the ring holds. */
#define DRAIN_NS (100 * 1000000ULL)
#define POLL_MS 100
/* A kill -9 loses at most this much: the block in hand is written then. */
#define FLUSH_NS (1000ULL * 1000000ULL)

static void keep_err(struct ct_recorder *r, int err)
{
	if (err && !r->err)
		r->err = err;
}

static void put(struct ct_recorder *r, uint16_t type, const void *data,
		size_t len, uint64_t ts)
{
	if (!r->err)
		keep_err(r, ct_rec_put(&r->w, type, data, (uint16_t)len, ts));
}

/* --- records from the ring buffer ---------------------------------------- */

static void on_line(const struct ct_line *l, void *ctx)
{
	struct ct_recorder *r = ctx;
	struct ct_rec_line rl = {
		.ev = l->ev, .ts_ns = l->ts_ns, .delta_ns = l->delta_ns,
		.listener_pid = l->listener_pid, .delta_known = l->delta_known,
		.derived = l->derived,
	};

	memcpy(rl.listener_comm, l->listener_comm, sizeof(rl.listener_comm));
	put(r, CT_REC_LINE, &rl, sizeof(rl), l->ts_ns);
	r->lines++;
}

static void put_tev(const struct ct_tev_line *l, void *ctx)
{
	struct ct_recorder *r = ctx;
	struct ct_rec_tev rt = {
		.ts_ns = l->ev.ts_ns, .listener_pid = l->listener_pid,
		.ev = l->ev,
	};

	memcpy(rt.listener_comm, l->listener_comm, sizeof(rt.listener_comm));
	put(r, CT_REC_TEV, &rt, sizeof(rt), rt.ts_ns);
	r->tevs++;
}

/* In the file as watch prints them: after their socket's held lines. */
static void on_tev(const struct ct_tev_line *l, void *ctx)
{
	struct ct_recorder *r = ctx;

	ct_tevorder_add(&r->order, l);
}

static bool held(void *ctx, uint64_t skaddr, uint64_t cookie)
{
	struct ct_recorder *r = ctx;

	return ct_events_holds(&r->events, skaddr, cookie);
}

/*
 * Every record; transitions and events are kept as the engine resolves
 * them instead.
 */
static void tap(void *ctx, const void *rec, size_t size)
{
	struct ct_recorder *r = ctx;
	uint32_t type;
	uint64_t ts;

	if (size < sizeof(type) || size > UINT16_MAX)
		return;
	memcpy(&type, rec, sizeof(type));
	if (type == CT_MSG_STATE || type == CT_MSG_TCP_EV ||
	    type >= CT_REC_FILE_TYPES)
		return;
	/* The accept record's own time; a type we do not know goes at now. */
	if (type == CT_MSG_ACCEPT && size >= sizeof(struct ct_accept))
		memcpy(&ts, (const char *)rec + offsetof(struct ct_accept, ts_ns),
		       sizeof(ts));
	else
		ts = ct_monotonic_ns();
	put(r, (uint16_t)type, rec, size, ts);
}

/* --- snapshots ----------------------------------------------------------- */

struct snap {
	struct ct_recorder *r;
	struct ct_tcp_rec *v;
	size_t n, cap;
	uint64_t since;
	bool all;		/* CT_SNAP_OPEN: every socket, not the changed */
	struct u64map seen;	/* skaddr -> digest, for the next snapshot */
};

/* FNV-1a over what a replay needs to follow: counters, state, owner. */
static uint64_t digest(const struct ct_tcp_rec *t)
{
	const uint64_t v[] = {
		t->born_ns, t->tcp.bytes_acked, t->tcp.bytes_received,
		(uint64_t)t->tcp.write_seq << 32 | t->tcp.snd_una,
		(uint64_t)t->tcp.copied_seq << 32 | t->tcp.rcv_nxt,
		(uint64_t)t->state << 40 | (uint64_t)t->owner.src << 32 | t->owner.pid,
		t->total_retrans,
	};
	const unsigned char *p = (const unsigned char *)v;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < sizeof(v); i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h | 1;	/* never 0, the empty mark */
}

/* Whether t changed since the last snapshot; remembers it either way. */
static int changed(struct snap *s, const struct ct_tcp_rec *t, bool *out)
{
	uint64_t d = digest(t), *old = u64map_get(&s->r->last, t->skaddr);
	uint64_t *slot = u64map_put(&s->seen, t->skaddr, NULL);

	if (!slot)
		return -ENOMEM;
	*slot = d;
	*out = s->all || !old || *old != d;
	return 0;
}

/* The owner the kernel side recorded, else the holder the last walk saw. */
static void resolve(struct ct_recorder *r, struct ct_tcp_rec *t, uint64_t since)
{
	const struct ct_holder *h;

	if (t->owner.src != CT_OWNER_NONE && t->owner.src != CT_OWNER_LISTENER)
		return;
	if (!t->ino)
		return;
	h = ct_owners_find(&r->owners, t->ino, since);
	if (!h)
		return;
	t->owner.pid = h->pid;
	t->owner.src = CT_OWNER_RESOLVED;
	memcpy(t->owner.comm, h->comm, sizeof(t->owner.comm));
}

/* A socket of the snapshot, if it passes the filter and changed. */
static int add_sock(struct snap *s, const struct ct_tcp_rec *t)
{
	bool keep;
	int err;

	if (!ct_kfilter_match(&s->r->o.filter, t->family, t->state, t->saddr,
			      t->sport, t->daddr, t->dport, t->owner.pid,
			      t->owner.comm, t->owner.cgroup))
		return 0;
	err = changed(s, t, &keep);
	if (err || !keep)
		return err;
	if (ct_grow((void **)&s->v, &s->cap, s->n, sizeof(*s->v)))
		return -ENOMEM;
	s->v[s->n++] = *t;
	return 0;
}

static int on_sock(const void *rec, void *ctx)
{
	struct snap *s = ctx;
	struct ct_tcp_rec t;

	memcpy(&t, rec, sizeof(t));
	resolve(s->r, &t, s->since);
	return add_sock(s, &t);
}

/*
 * A connection handed to a time-wait socket that waits for its peer's
 * FIN: the walk no longer sees it (a time-wait socket has no counters),
 * and its line, which has its last counters, waits for TIME_WAIT. It goes
 * in as the socket it was, in the state the kernel closed it in, so that
 * a replay counts its bytes as live top did at its close.
 */
static int on_held(const struct ct_line *l, void *ctx)
{
	const struct ct_event *ev = &l->ev;
	struct ct_tcp_rec t = {
		.skaddr = ev->skaddr, .ino = ev->ino, .born_ns = ev->born_ns,
		.tcp = ev->tcp, .netns = ev->netns, .family = ev->family,
		.sport = ev->sport, .dport = ev->dport, .state = ev->oldstate,
		.flags = ev->flags & (CT_EV_PEER_FIN | CT_EV_SK_ERROR |
				      CT_EV_HAS_FILE | CT_EV_TOTAL_RETRANS),
		.read_ns = ev->ts_ns, .total_retrans = ev->total_retrans,
		.origin = ev->flags & CT_EV_PASSIVE ? CT_ORIGIN_ACCEPT
						    : CT_ORIGIN_CONNECT,
		.owner = { .pid = ev->pid, .src = ev->owner_src,
			   .cgroup = ev->cgroup },
	};

	memcpy(t.owner.comm, ev->comm, sizeof(t.owner.comm));
	memcpy(t.saddr, ev->saddr, sizeof(t.saddr));
	memcpy(t.daddr, ev->daddr, sizeof(t.daddr));
	return add_sock(ctx, &t);
}

/* Events the ring buffer had no room for, all kinds together. */
static uint64_t tev_lost(const struct ct_recorder *r)
{
	struct ct_tev_count c[CT_TEV_KINDS];
	uint64_t n = 0;

	if (ct_session_tev_counts(&r->session, c))
		return 0;
	for (int k = 0; k < CT_TEV_KINDS; k++)
		n += c[k].lost;
	return n;
}

static void put_losses(struct ct_recorder *r, uint64_t now)
{
	struct ct_losses k;
	struct ct_rec_loss l = {
		.ts_ns = now,
		/*
		 * Left unread at the end, or held with no time left to write
		 * them: lost as if the ring had been full.
		 */
		.ring_drops = ct_session_stat(&r->session, CT_STAT_RB_DROPS) +
			      r->unread + r->events.unprinted,
		.sock_map_full = ct_session_stat(&r->session, CT_STAT_SOCK_MAP_FULL),
		.listen_map_full = ct_session_stat(&r->session, CT_STAT_LISTEN_MAP_FULL),
		.walk_errors = r->walk_errors,
		.accept_ring_drops = ct_session_stat(&r->session,
						     CT_STAT_ACCEPT_RB_DROPS),
		.untracked_time_wait = r->events.untracked_tw,
		.event_ring_drops = tev_lost(r),
	};

	/* Without the programs' counts the rest is still worth writing. */
	if (!ct_session_losses(&r->session, &k)) {
		l.missed_transitions = k.missed[CT_GROUP_STATE];
		l.missed_accepts = k.missed[CT_GROUP_ACCEPT];
		l.missed_events = k.missed[CT_GROUP_TEV];
	}
	ct_losses_free(&k);
	put(r, CT_REC_LOSS, &l, sizeof(l), now);
}

static int snapshot(struct ct_recorder *r, enum ct_rec_snap_kind kind)
{
	struct snap s = { .r = r, .all = kind == CT_SNAP_OPEN };
	struct ct_rec_snap h = { .kind = kind };
	int err = u64map_init(&s.seen, sizeof(uint64_t));

	/* The first snapshot of a file walks the owners anew. */
	s.since = kind == CT_SNAP_OPEN ? ct_monotonic_ns() : r->owners.scanned_ns;
	if (!err)
		err = u64map_reserve(&s.seen, r->last.len);
	if (!err)
		err = ct_tcp_walk(r->tcp_iter, on_sock, &s);
	if (!err)
		err = ct_events_each_fin_wait2(&r->events, on_held, &s);
	if (err) {
		r->walk_errors++;
		free(s.v);
		u64map_free(&s.seen);
		put_losses(r, ct_monotonic_ns());
		return 0;
	}
	u64map_free(&r->last);
	r->last = s.seen;
	h.ts_ns = ct_monotonic_ns();
	h.count = (uint32_t)s.n;
	put(r, CT_REC_SNAP, &h, sizeof(h), h.ts_ns);
	for (size_t i = 0; i < s.n; i++)
		put(r, CT_REC_SOCK, &s.v[i], sizeof(s.v[i]), h.ts_ns);
	free(s.v);
	put_losses(r, h.ts_ns);
	r->snapshots++;
	return r->err;
}

static int on_new_file(struct ct_rec_writer *w, void *ctx)
{
	(void)w;
	return snapshot(ctx, CT_SNAP_OPEN);
}

/* --- the header ---------------------------------------------------------- */

static int make_header(const struct ct_recorder *r, char *buf, size_t len)
{
	struct utsname u = { 0 };
	char host[256] = "";
	uint64_t mono = ct_monotonic_ns();
	uint64_t wall = ct_clock_ns(CLOCK_REALTIME);

	uname(&u);
	gethostname(host, sizeof(host) - 1);
	snprintf(buf, len,
		 "hostname=%s\nkernel=%s\nkernel_version=%s\nmachine=%s\n"
		 "boot_wall_ns=%llu\nstarted_mono_ns=%llu\ninterval_ns=%llu\n"
		 "max_size=%llu\nrotate=%u\noptions=%s\nevents=%u\n",
		 host, u.release, u.version, u.machine,
		 (unsigned long long)(wall - mono), (unsigned long long)mono,
		 (unsigned long long)r->o.interval_ns,
		 (unsigned long long)r->o.max_size, r->o.rotate,
		 r->o.cmdline ? r->o.cmdline : "", r->tev_kinds);
	return ct_recnames_put(&r->tev, buf, len);
}

/* The kinds of event this kernel gives, which a replay can count. */
static unsigned int tev_kinds(const struct ct_session *s)
{
	unsigned int kinds = 0;
	const char *why;

	for (int k = 0; k < CT_TEV_KINDS; k++)
		if (!ct_session_tev_missing(s, k, &why))
			kinds |= CT_TEV_BIT(k);
	return kinds;
}

/* --- start, run, stop ---------------------------------------------------- */

static int open_engine(struct ct_recorder *r, char *err, size_t errlen)
{
	/*
	 * Every transition, as watch: counting bytes would make the kernel
	 * side send only closes. Bytes come from the snapshots' counters.
	 */
	struct ct_load_opts lo = { .filter = r->o.filter, .accept_hook = true,
				   .ring_bytes = r->o.ring_bytes,
				   .ring_floor = r->o.ring_floor,
				   .tev_mask = CT_TEV_ALL };
	int rc;

	if (ct_check_privileges(err, errlen))
		return -EPERM;
	rc = ct_session_start(&r->session, &lo, err, errlen);
	if (rc)
		return rc;
	ct_evsource_init(&r->source, NULL);
	ct_tevorder_init(&r->order, put_tev, r, held, r);
	if (u64map_init(&r->last, sizeof(uint64_t)) ||
	    ct_owners_init(&r->owners, r->session.skel) ||
	    ct_events_init(&r->events, &r->owners,
			   ct_session_socks_fd(&r->session), &r->o.filter,
			   on_line, r) ||
	    ct_tcpev_init(&r->tev, &r->owners, &r->session, &r->o.filter,
			  CT_TEV_ALL, on_tev, r)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->events.accept_hook = r->session.accept_hook;
	if (ct_events_register(&r->events, &r->source)) {
		snprintf(err, errlen, "state and accept records have a handler already");
		return -EINVAL;
	}
	if (ct_tcpev_register(&r->tev, &r->source)) {
		snprintf(err, errlen, "event records have a handler already");
		return -EINVAL;
	}
	/* For the header: a replay names reasons as this kernel does. */
	ct_tcpev_load_reasons(&r->tev);
	ct_tcpev_warn_missing(&r->session, stderr);
	r->tev_kinds = tev_kinds(&r->session);
	ct_evsource_tap(&r->source, tap, r);
	rc = ct_tcp_walk_attach(r->session.skel, &r->tcp_iter, err, errlen);
	if (rc)
		return rc;
	rc = ct_owners_seed(&r->owners);
	if (rc)
		fprintf(stderr,
			"conntrace: warning: cannot list existing sockets (%s); their owners show as ?\n",
			strerror(-rc));
	return ct_evsource_open(&r->source, &r->session, err, errlen);
}

int ct_recorder_start(struct ct_recorder *r, const struct ct_recorder_opts *o,
		      char *err, size_t errlen)
{
	static char header[CT_REC_MAX_HEADER / 2];
	struct ct_rec_writer_opts wo = {
		.path = o->path, .max_size = o->max_size, .rotate = o->rotate,
		.header = header, .newfile = on_new_file, .ctx = r,
	};
	int rc;

	memset(r, 0, sizeof(*r));
	r->o = *o;
	r->w.fd = -1;
	rc = open_engine(r, err, errlen);
	if (rc)
		return rc;
	if (make_header(r, header, sizeof(header))) {
		snprintf(err, errlen, "the kernel's reason names fill more than the header");
		return -E2BIG;
	}
	rc = ct_rec_writer_open(&r->w, &wo, err, errlen);
	if (rc)
		return rc;
	rc = snapshot(r, CT_SNAP_OPEN);
	if (rc) {
		snprintf(err, errlen, "writing %s: %s", o->path, strerror(-rc));
		return rc;
	}
	r->next_snap_ns = ct_monotonic_ns() + o->interval_ns;
	r->next_flush_ns = ct_monotonic_ns() + FLUSH_NS;
	return 0;
}

static void timers(struct ct_recorder *r, uint64_t now)
{
	if (now >= r->next_snap_ns) {
		keep_err(r, snapshot(r, CT_SNAP_COUNTERS));
		r->next_snap_ns = now + r->o.interval_ns;
	}
	if (now >= r->next_flush_ns && !r->err) {
		keep_err(r, ct_rec_flush(&r->w));
		r->next_flush_ns = now + FLUSH_NS;
	}
}

static void flush_held(void *self)
{
	struct ct_recorder *r = self;

	ct_events_flush(&r->events);
	ct_tevorder_flush(&r->order);
}

/*
 * What the ring still holds (under churn, thousands of records, while the
 * user waits on Ctrl-C), then the lines held for ports and accept()s; last
 * the counters as of now (with the final losses), so that a replay ends
 * with the bytes of the connections still open.
 */
static int at_stop(struct ct_recorder *r)
{
	int n = ct_evsource_stop(&r->source, &r->session, DRAIN_NS,
				 flush_held, r);

	if (n < 0)
		fprintf(stderr, "conntrace: reading events: %s\n", strerror(-n));
	else
		r->unread += (uint64_t)n;
	keep_err(r, snapshot(r, CT_SNAP_COUNTERS));
	return n < 0 ? n : 0;
}

int ct_recorder_run(struct ct_recorder *r, const volatile sig_atomic_t *stop,
		    uint64_t end_ns)
{
	uint64_t now;
	int timeout, rc;

	r->source.stop = stop;
	r->events.stop = stop;
	r->events.flush_budget_ns = CT_STOP_PRINT_NS;
	while (!*stop && !r->err) {
		now = ct_monotonic_ns();
		if (end_ns && now >= end_ns)
			break;
		timers(r, now);
		timeout = ct_events_tick(&r->events, now, POLL_MS);
		timeout = ct_tcpev_tick(&r->tev, now, timeout);
		ct_tevorder_release(&r->order);
		if (end_ns && (end_ns - now) / 1000000 < (uint64_t)timeout)
			timeout = (int)((end_ns - now) / 1000000) + 1;
		rc = ct_evsource_poll(&r->source, timeout, CT_EV_BATCH);
		ct_tevorder_release(&r->order);
		if (rc < 0) {
			fprintf(stderr, "conntrace: reading events: %s\n",
				strerror(-rc));
			return rc;
		}
	}
	rc = r->err ? 0 : at_stop(r);
	if (r->err)
		fprintf(stderr, "conntrace: writing %s: %s\n", r->o.path,
			strerror(-r->err));
	return r->err ? r->err : rc;
}

int ct_recorder_stop(struct ct_recorder *r)
{
	int rc = ct_rec_writer_close(&r->w);

	bpf_link__destroy(r->tcp_iter);
	r->tcp_iter = NULL;
	ct_evsource_close(&r->source);
	ct_events_free(&r->events);
	ct_tcpev_free(&r->tev);
	ct_tevorder_free(&r->order);
	ct_owners_free(&r->owners);
	u64map_free(&r->last);
	ct_session_stop(&r->session);
	return rc;
}
