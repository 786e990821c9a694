// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/sampler.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conntrace.skel.h"
#include "engine/iter.h"
#include "engine/netns.h"
#include "engine/payload.h"
#include "engine/privs.h"
#include "engine/stopsig.h"
#include "engine/tcpwalk.h"
#include "lib/grow.h"
#include "output/format.h"

/* Per-call shares idle this long are collected, to keep room in the map. */
#define IDLE_COLLECT_NS (30ULL * 1000000000ULL)
/* How often the file walk looks again for sockets several processes hold. */
#define SHARED_RESCAN_NS (2ULL * 1000000000ULL)
/*
 * The namespace list stats every process's namespace, which on a busy host
 * costs more than reading an idle host's sockets: it is made again only
 * when the named namespaces change (ip netns add or delete), a close comes
 * from a namespace not in it, or it is this old.
 */
#define NETNS_RELIST_NS (5ULL * 1000000000ULL)
/*
 * What a walk's callback returns once the stop flag is set: the sample ends
 * there and leaves the model as it was, so Ctrl-C is never kept waiting.
 */
#define STOPPED (-ECANCELED)
/* How long a socket's event counts outlive its last row in the views. */
#define TALLY_KEEP_NS (10ULL * 1000000000ULL)

/* An owner worth printing: one the kernel side or a file walk is sure of. */
static uint32_t sure_owner(const struct ct_owner *o)
{
	/* A listener's owner is only a guess until a process accepts it. */
	if (o->src == CT_OWNER_NONE || o->src == CT_OWNER_LISTENER)
		return 0;
	return o->pid;
}

static void socket_share(struct ct_share *sh, uint64_t skaddr, uint64_t born,
			 uint64_t ino, const struct ct_owner *o)
{
	memset(sh, 0, sizeof(*sh));
	sh->src = CT_SHARE_SOCKET;
	sh->key.skaddr = skaddr;
	sh->k.first_ns = born;
	sh->k.proto = IPPROTO_TCP;
	sh->ino = ino;
	sh->pid = sure_owner(o);
	if (sh->pid) {
		memcpy(sh->k.comm, o->comm, sizeof(sh->k.comm));
		sh->k.cgroup = o->cgroup;
	}
}

static void set_addrs(struct ct_conn *k, uint32_t netns, uint16_t family,
		      uint16_t sport, uint16_t dport, const uint8_t *saddr,
		      const uint8_t *daddr)
{
	k->netns = netns;
	k->family = family;
	k->sport = sport;
	k->dport = dport;
	memcpy(k->saddr, saddr, sizeof(k->saddr));
	memcpy(k->daddr, daddr, sizeof(k->daddr));
}

bool ct_sampler_rec_share(const struct ct_tcp_rec *r, bool passive,
			  struct ct_share *out)
{
	struct ct_tcp_counts c;
	uint64_t tx, rx;

	if (r->state == TCP_LISTEN)
		return false;
	ct_tcp_rec_counts(r, passive, &c);
	ct_payload_seq(&c, &tx, &rx);
	if (!tx && !rx)
		return false;
	socket_share(out, r->skaddr, r->born_ns, r->ino, &r->owner);
	set_addrs(&out->k, r->netns, r->family, r->sport, r->dport, r->saddr,
		  r->daddr);
	out->k.bytes[CT_TX] = tx;
	out->k.bytes[CT_RX] = rx;
	if (r->flags & CT_EV_TOTAL_RETRANS) {
		out->retrans_ns = r->read_ns;
		out->total_retrans = r->total_retrans;
	}
	return true;
}

bool ct_sampler_close_share(const struct ct_event *ev, struct ct_share *out)
{
	struct ct_owner o = { .pid = ev->pid, .src = ev->owner_src,
			      .cgroup = ev->cgroup };
	struct ct_tcp_counts c;
	uint64_t tx, rx;

	ct_close_counts(ev, &c);
	ct_payload_seq(&c, &tx, &rx);
	if (!tx && !rx)
		return false;
	memcpy(o.comm, ev->comm, sizeof(o.comm));
	socket_share(out, ev->skaddr, ev->born_ns, ev->ino, &o);
	set_addrs(&out->k, ev->netns, ev->family, ev->sport, ev->dport,
		  ev->saddr, ev->daddr);
	out->k.bytes[CT_TX] = tx;
	out->k.bytes[CT_RX] = rx;
	/* Read in the state hook, with the socket locked, at ts_ns. */
	if (ev->flags & CT_EV_TOTAL_RETRANS) {
		out->retrans_ns = ev->ts_ns;
		out->total_retrans = ev->total_retrans;
	}
	return true;
}

void ct_sampler_tally_kernel(struct ct_tally *t, const struct ct_acct *a,
			     const struct ct_share *sh)
{
	struct ct_tally_read rd = {
		.skaddr = sh->key.skaddr, .born_ns = sh->k.first_ns,
		.k = &sh->k, .pid = sh->pid, .read_ns = sh->retrans_ns,
		.total_retrans = sh->total_retrans,
	};

	if (sh->retrans_ns && (!a->keep || a->keep(sh, a->keep_ctx)))
		ct_tally_kernel(t, &rd);
}

/* --- one refresh's snapshot ---------------------------------------------- */

struct snapshot {
	struct ct_share *arr;
	size_t n, cap;
	struct u64map listeners;	/* (netns, port) of this refresh's listeners */
	const struct ct_sampler *sampler;
};

static struct ct_share *snap_slot(struct snapshot *s)
{
	if (ct_grow((void **)&s->arr, &s->cap, s->n, sizeof(*s->arr)))
		return NULL;
	return &s->arr[s->n];
}

static uint64_t listen_key(uint32_t netns, uint16_t port)
{
	return ((uint64_t)netns << 16 | port) + 1;
}

/* Older than conntrace: accepted if a listener has its local port. */
static bool rec_passive(const struct snapshot *s, const struct ct_tcp_rec *r)
{
	if (r->origin != CT_ORIGIN_UNKNOWN)
		return r->origin == CT_ORIGIN_ACCEPT;
	return u64map_get(&s->listeners, listen_key(r->netns, r->sport));
}

static int on_tcp_rec(const void *rec, void *ctx)
{
	const struct ct_tcp_rec *r = rec;
	struct snapshot *s = ctx;
	struct ct_share *sh;

	if (ct_stop)
		return STOPPED;
	if (s->sampler->on_sock)
		s->sampler->on_sock(s->sampler->hook_ctx, r);
	/* The walk gives a namespace's listeners before its connections. */
	if (r->state == TCP_LISTEN)
		return u64map_put(&s->listeners, listen_key(r->netns, r->sport),
				  NULL) ? 0 : -ENOMEM;
	sh = snap_slot(s);
	if (!sh)
		return -ENOMEM;
	if (ct_sampler_rec_share(r, rec_passive(s, r), sh))
		s->n++;
	return 0;
}

static int read_netns(struct ct_sampler *s, uint32_t netns,
		      struct snapshot *snap)
{
	return ct_tcp_walk_netns(s->tcp_iter, netns, on_tcp_rec, snap);
}

static int64_t named_netns_mtime(void)
{
	struct stat st;

	if (stat("/run/netns", &st))
		return 0;
	return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

static void list_netns(struct ct_sampler *s)
{
	uint64_t now = ct_monotonic_ns();
	int64_t mtime = named_netns_mtime();

	if (s->netns_listed_ns && now - s->netns_listed_ns < NETNS_RELIST_NS &&
	    mtime == s->named_netns_mtime)
		return;
	s->nnetns = ct_netns_all(s->netns, CT_SAMPLER_MAX_NETNS);
	s->netns_listed_ns = now;
	s->named_netns_mtime = mtime;
}

static bool netns_listed(const struct ct_sampler *s, uint32_t netns)
{
	for (int i = 0; i < s->nnetns; i++)
		if (s->netns[i] == netns)
			return true;
	return false;
}

static int read_sockets(struct ct_sampler *s, struct snapshot *snap)
{
	uint32_t *counts = s->session.skel->bss->ct_walk_states;
	int err = 0;

	list_netns(s);
	memset(counts, 0, sizeof(s->walk_states));
	for (int i = 0; !err && i < s->nnetns; i++)
		err = read_netns(s, s->netns[i], snap);
	if (!err)
		memcpy(s->walk_states, counts, sizeof(s->walk_states));
	return err;
}

static int add_stored(const void *rec, void *ctx)
{
	const struct ct_conn_end *m = rec;
	struct ct_share *sh = snap_slot(ctx);

	if (!sh)
		return -ENOMEM;
	memset(sh, 0, sizeof(*sh));
	sh->src = CT_SHARE_STORAGE;
	sh->key = m->key;
	sh->k = m->conn;
	sh->pid = m->key.pid;
	((struct snapshot *)ctx)->n++;
	return 0;
}

/* The per-call path: the LRU map's entries, then sockets' own storage. */
static int read_calls(struct ct_sampler *s, struct snapshot *snap)
{
	struct conntrace_bpf *skel = s->session.skel;
	int n = ct_acct_read_map(s->conns_fd, &snap->arr);

	if (n < 0)
		return n;
	snap->n = snap->cap = (size_t)n;
	s->nhash = snap->n;
	if (!s->session.sk_storage)
		return 0;
	return ct_iter_read(skel->progs.ct_dump_sk_conns,
			    bpf_map__fd(skel->maps.ct_sk_conns),
			    sizeof(struct ct_conn_end), add_stored, snap);
}

/* --- owners -------------------------------------------------------------- */

/* Tells the kernel side, so the next walk of this socket knows its owner. */
static void write_back(struct ct_sampler *s, const struct ct_share *sh)
{
	int fd = bpf_map__fd(s->session.skel->maps.ct_socks);
	struct ct_sock k;

	/*
	 * Only over the listener's guess: a close or connect the state hook
	 * recorded since the walk is newer than what the walk saw.
	 */
	if (bpf_map_lookup_elem(fd, &sh->key.skaddr, &k) ||
	    k.born_ns != sh->k.first_ns ||
	    (k.owner.src != CT_OWNER_NONE && k.owner.src != CT_OWNER_LISTENER))
		return;
	k.owner.pid = sh->pid;
	k.owner.src = CT_OWNER_RESOLVED;
	memcpy(k.owner.comm, sh->k.comm, sizeof(k.owner.comm));
	k.owner.cgroup = sh->k.cgroup;
	bpf_map_update_elem(fd, &sh->key.skaddr, &k, BPF_EXIST);
}

/*
 * Accepted sockets whose owner is only the listener's, found by one file
 * walk for the whole refresh; never a guess: unknown stays unknown.
 */
static void resolve(struct ct_sampler *s, struct ct_share *sh, uint64_t since,
		    bool open)
{
	const struct ct_holder *h;

	if (sh->pid || !sh->ino)
		return;
	h = ct_owners_find(&s->owners, sh->ino, since);
	if (!h)
		return;
	sh->pid = h->pid;
	memcpy(sh->k.comm, h->comm, sizeof(sh->k.comm));
	sh->k.cgroup = h->cgroup;
	if (open)
		write_back(s, sh);
}

/* Whether the file walk has anything to tell this refresh. */
static bool walk_wanted(const struct ct_sampler *s, const struct snapshot *snap)
{
	if (!s->opts.owners_only)
		return snap->n;
	for (size_t i = 0; i < snap->n; i++)
		if (!snap->arr[i].pid && snap->arr[i].ino)
			return true;
	return false;
}

static void resolve_snapshot(struct ct_sampler *s, struct snapshot *snap,
			     uint64_t since)
{
	bool rescan = since - s->shared_walk_ns >= SHARED_RESCAN_NS;

	if (rescan && walk_wanted(s, snap) && !ct_owners_walk(&s->owners))
		s->shared_walk_ns = since;
	for (size_t i = 0; i < snap->n && !ct_stop; i++) {
		struct ct_share *sh = &snap->arr[i];

		resolve(s, sh, since, true);
		/* Only a walk of this refresh can tell. */
		if (s->owners.scanned_ns >= since)
			sh->shared = ct_owners_shared(&s->owners, sh->ino);
	}
}

/* --- closes -------------------------------------------------------------- */

static int on_close(struct ct_sampler *s, const struct ct_event *ev)
{
	struct ct_share sh;

	if (ev->newstate != TCP_CLOSE || !ct_sampler_close_share(ev, &sh))
		return 0;
	/* A namespace made since the list: its open sockets count too. */
	if (!netns_listed(s, ev->netns))
		s->netns_listed_ns = 0;
	resolve(s, &sh, ev->ts_ns, false);
	if (s->tev_on)
		ct_sampler_tally_kernel(&s->tally, &s->acct, &sh);
	return ct_acct_end(&s->acct, &sh);
}

static void keep_err(struct ct_sampler *s, int err)
{
	if (err && !s->cb_err)
		s->cb_err = err;
}

static void on_conn_end(void *ctx, const void *rec, size_t size)
{
	struct ct_sampler *s = ctx;

	(void)size;
	keep_err(s, ct_acct_conn_end(&s->acct, rec));
}

static void on_state(void *ctx, const void *rec, size_t size)
{
	struct ct_sampler *s = ctx;

	(void)size;
	if (s->on_event)
		s->on_event(s->hook_ctx, rec);
	if (!s->opts.shares)
		keep_err(s, on_close(s, rec));
}

/* --- the refresh --------------------------------------------------------- */

/* Entries the LRU dropped: all ever added, less ours and those still there. */
static void count_evictions(struct ct_sampler *s)
{
	uint64_t inserted = ct_session_stat(&s->session, CT_STAT_CONN_INSERTS);
	uint64_t kept = s->acct.deleted + s->nhash;
	uint64_t n = inserted > kept ? inserted - kept : 0;

	if (n > s->evicted)
		s->evicted = n;
	if (s->acct.evicted > s->evicted)
		s->evicted = s->acct.evicted;
}

static int read_snapshot(struct ct_sampler *s, struct snapshot *snap,
			 uint64_t since)
{
	int err = 0;

	if (ct_sampler_per_call(s))
		err = read_calls(s, snap);
	if (!err && !s->opts.shares)
		err = read_sockets(s, snap);
	if (!err)
		resolve_snapshot(s, snap, since);
	/*
	 * Before the ring is read: every event counted so far is older than
	 * these reads, as ct_tally_kernel() wants.
	 */
	for (size_t i = 0; !err && s->tev_on && i < snap->n; i++)
		ct_sampler_tally_kernel(&s->tally, &s->acct, &snap->arr[i]);
	return err;
}

/*
 * The counts of sockets the views still show are kept; those of sockets
 * gone from them for a while are forgotten.
 */
int ct_sampler_keep_tally(struct ct_tally *t, const struct ct_acct *a)
{
	uint64_t now = a->last_ns;

	for (size_t i = 0; i < a->nshares; i++)
		ct_tally_touch(t, a->shares[i].key.skaddr, &a->shares[i].k, now);
	return now > TALLY_KEEP_NS ? ct_tally_prune(t, now - TALLY_KEEP_NS) : 0;
}

static int keep_tally(struct ct_sampler *s)
{
	return s->tev_on ? ct_sampler_keep_tally(&s->tally, &s->acct) : 0;
}

int ct_sampler_sample(struct ct_sampler *s)
{
	struct snapshot snap = { .sampler = s };
	uint64_t since = ct_monotonic_ns();
	int err = u64map_init(&snap.listeners, 0);

	/* Counters first, closes after: a close is never older than them. */
	if (!err)
		err = read_snapshot(s, &snap, since);
	if (!err && s->tev_on)
		ct_tcpev_tick(&s->tev, since, 0);
	u64map_free(&snap.listeners);
	if (!err) {
		/* At most a ring's worth, so a refresh ends while closes pour in. */
		err = ct_evsource_consume(&s->source, CT_EV_RING_RECORDS);
		err = err < 0 ? err : s->cb_err;
	}
	if (err || ct_stop) {
		free(snap.arr);
		return err == STOPPED ? 0 : err;
	}
	err = ct_acct_update(&s->acct, snap.arr, snap.n, ct_monotonic_ns());
	if (!err)
		err = keep_tally(s);
	if (err)
		return err;
	if (ct_sampler_per_call(s)) {
		count_evictions(s);
		/* Stopping: collecting is upkeep for an interval that never comes. */
		if (!ct_stop)
			ct_acct_collect(&s->acct, s->conns_fd, IDLE_COLLECT_NS);
	}
	return 0;
}

bool ct_sampler_per_call(const struct ct_sampler *s)
{
	return s->session.io_hook != CT_HOOK_NONE;
}

void ct_sampler_loss(const struct ct_sampler *s, struct ct_sampler_loss *out)
{
	out->ring_drops = ct_session_stat(&s->session, CT_STAT_RB_DROPS);
	out->map_full = ct_session_stat(&s->session, CT_STAT_CONN_MAP_FULL);
	out->evicted = s->evicted;
	out->unclosed = s->acct.unclosed;
	out->sharers_full = ct_session_stat(&s->session, CT_STAT_SHARERS_FULL);
}

static void on_tev(const struct ct_tev_line *l, void *ctx)
{
	struct ct_sampler *s = ctx;

	ct_tally_add(&s->tally, l);
}

/* Which tally columns have no hook on this kernel. */
static unsigned int tally_missing(const struct ct_sampler *s)
{
	unsigned int missing = 0;
	const char *why;

	for (int k = 0; k < CT_TEV_KINDS; k++)
		if (ct_tev_kind(k)->tally >= 0 &&
		    ct_session_tev_missing(&s->session, k, &why))
			missing |= 1U << ct_tev_kind(k)->tally;
	return missing;
}

/* Events counted by socket and process; the views filter them, not this. */
static int open_events(struct ct_sampler *s, char *err, size_t errlen)
{
	struct ct_kfilter all = { 0 };

	if (ct_tally_init(&s->tally) ||
	    ct_tcpev_init(&s->tev, &s->owners, &s->session, &all,
			  s->opts.tev_mask, on_tev, s)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->tev_on = true;
	s->tally.missing = tally_missing(s);
	if (ct_tcpev_register(&s->tev, &s->source)) {
		snprintf(err, errlen, "event records have a handler already");
		return -EINVAL;
	}
	return 0;
}

static int open_parts(struct ct_sampler *s, char *err, size_t errlen)
{
	struct conntrace_bpf *skel = s->session.skel;
	int rc;

	if (ct_acct_init(&s->acct) || ct_owners_init(&s->owners, skel)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->conns_fd = bpf_map__fd(skel->maps.ct_conns);
	ct_evsource_init(&s->source, &ct_stop);
	if (ct_evsource_register(&s->source, CT_MSG_CONN_END,
				 sizeof(struct ct_conn_end), on_conn_end, s) ||
	    ct_evsource_register(&s->source, CT_MSG_STATE,
				 sizeof(struct ct_event), on_state, s)) {
		snprintf(err, errlen, "closes have a handler already");
		return -EINVAL;
	}
	if (s->opts.tev_mask && !s->opts.tev_elsewhere &&
	    (rc = open_events(s, err, errlen)))
		return rc;
	rc = ct_evsource_open(&s->source, &s->session, err, errlen);
	if (rc)
		return rc;
	if (s->opts.shares)
		return 0;
	rc = ct_tcp_walk_attach(skel, &s->tcp_iter, err, errlen);
	if (rc)
		return rc;
	/* Sockets older than us get their holders as owners. */
	rc = ct_owners_seed(&s->owners);
	if (rc)
		fprintf(stderr,
			"conntrace: warning: cannot list existing sockets (%s); their owners show as ?\n",
			strerror(-rc));
	return 0;
}

int ct_sampler_start(struct ct_sampler *s, const struct ct_sampler_opts *o,
		     char *err, size_t errlen)
{
	struct ct_load_opts lo = {
		.count_bytes = true,
		.io_hooks = o->shares || o->udp,
		.count_tcp_calls = o->shares,
		.max_conns = o->max_conns,
		.all_states = o->all_states,
		.count_walk_states = o->count_walk_states,
		.tev_mask = o->tev_mask,
		.accept_hook = o->accept_hook,
		.max_socks = o->max_socks,
		.ring_bytes = o->ring_bytes,
	};
	int rc;

	memset(s, 0, sizeof(*s));
	s->opts = *o;
	if (ct_check_privileges(err, errlen))
		return -EPERM;
	rc = ct_session_start(&s->session, &lo, err, errlen);
	if (rc)
		return rc;
	return open_parts(s, err, errlen);
}

void ct_sampler_stop(struct ct_sampler *s)
{
	bpf_link__destroy(s->tcp_iter);
	s->tcp_iter = NULL;
	ct_evsource_close(&s->source);
	if (s->tev_on) {
		ct_tcpev_free(&s->tev);
		ct_tally_free(&s->tally);
		s->tev_on = false;
	}
	ct_owners_free(&s->owners);
	ct_acct_free(&s->acct);
	ct_session_stop(&s->session);
}
