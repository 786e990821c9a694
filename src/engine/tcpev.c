// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/tcpev.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/evsource.h"
#include "engine/sockdump.h"
#include "engine/kernel.h"
#include "engine/owners.h"
#include "engine/session.h"

#define MS 1000000ULL
/* How often the listeners' drop counters are read. */
#define LISTEN_WALK_NS (250 * MS)

int ct_tcpev_init(struct ct_tcpev *t, struct ct_owners *owners,
		  const struct ct_session *session,
		  const struct ct_kfilter *filter, unsigned int mask,
		  ct_tev_fn emit, void *ctx)
{
	memset(t, 0, sizeof(*t));
	t->owners = owners;
	t->session = session;
	t->filter = *filter;
	t->mask = mask;
	t->emit = emit;
	t->emit_ctx = ctx;
	t->walk_every_ns = LISTEN_WALK_NS;
	if (u64map_init(&t->listen_drops, sizeof(struct ct_listen_seen)))
		return -ENOMEM;
	return ct_diag_init(&t->diag);
}

void ct_tcpev_free(struct ct_tcpev *t)
{
	u64map_free(&t->listen_drops);
	ct_diag_free(&t->diag);
	ct_kernel_enum_free(t->drop_names, t->ndrop);
	ct_kernel_enum_free(t->rst_names, t->nrst);
	t->drop_names = t->rst_names = NULL;
	t->ndrop = t->nrst = 0;
}

bool ct_tev_loss_line(int kind, const struct ct_tev_count *c, bool all,
		      char *buf, size_t len)
{
	buf[0] = '\0';
	if (kind < 0 || kind >= CT_TEV_KINDS || (!c->lost && !all))
		return false;
	snprintf(buf, len, "%s events: %llu written, %llu lost (ring buffer full)",
		 ct_tev_kind(kind)->label, (unsigned long long)c->events,
		 (unsigned long long)c->lost);
	return true;
}

void ct_tev_report_losses(const struct ct_session *s, unsigned int mask,
			  bool verbose, FILE *f)
{
	struct ct_tev_count c[CT_TEV_KINDS];
	int rc = ct_session_tev_counts(s, c);
	char line[160];

	if (rc) {
		fprintf(f, "conntrace: cannot read the event counters: %s\n",
			strerror(-rc));
		return;
	}
	for (int k = 0; k < CT_TEV_KINDS; k++)
		if (ct_tev_loss_line(k, &c[k], verbose && (mask & CT_TEV_BIT(k)),
				     line, sizeof(line)))
			fprintf(f, "conntrace: %s\n", line);
}

void ct_tcpev_warn_missing(const struct ct_session *s, FILE *f)
{
	const char *why;

	for (int k = 0; k < CT_TEV_KINDS; k++)
		if (ct_session_tev_missing(s, k, &why))
			fprintf(f, "conntrace: warning: no %s events: %s\n",
				ct_tev_kind(k)->name, why);
}

/* The kinds one --events word names; 0 if it names none. */
static unsigned int kinds_of(const char *word, size_t len)
{
	unsigned int m = 0;

	if (len == 3 && !strncmp(word, "all", 3))
		return CT_TEV_ALL;
	for (int k = 0; k < CT_TEV_KINDS; k++)
		if (strlen(ct_tev_kind(k)->name) == len &&
		    !strncmp(word, ct_tev_kind(k)->name, len))
			m |= CT_TEV_BIT(k);
	return m;
}

int ct_tev_parse_list(const char *list, unsigned int *mask, bool *states,
		      char *err, size_t errlen)
{
	const char *p = list;

	*mask = 0;
	*states = false;
	if (!*p)
		goto bad;
	while (*p) {
		size_t len = strcspn(p, ",");
		unsigned int m = kinds_of(p, len);

		if (len == 5 && !strncmp(p, "state", 5))
			*states = true;
		else if (m)
			*mask |= m;
		else
			goto bad_word;
		if (len == 3 && !strncmp(p, "all", 3))
			*states = true;
		p += len;
		if (*p == ',' && !*++p)
			goto bad;
	}
	return 0;
bad_word:
	snprintf(err, errlen,
		 "--events: unknown kind '%.*s' (expected state, retrans, reset, fail, drop, latency or all)",
		 (int)strcspn(p, ","), p);
	return -EINVAL;
bad:
	snprintf(err, errlen,
		 "--events: empty list or empty item in '%s'", list);
	return -EINVAL;
}

int ct_tev_select(const char *list, bool lifetime, unsigned int *mask,
		  bool *states, char *err, size_t errlen)
{
	if (list)
		return ct_tev_parse_list(list, mask, states, err, errlen);
	*states = true;
	*mask = lifetime ? 0 : ct_tev_trouble_kinds();
	return 0;
}

bool ct_tcpev_match(const struct ct_kfilter *f, const struct ct_tcp_ev *ev)
{
	return ct_kfilter_match(f, ev->family, ev->state, ev->saddr, ev->sport,
				ev->daddr, ev->dport, ev->pid, ev->comm,
				ev->cgroup);
}

static bool passes(const struct ct_tcpev *t, const struct ct_tcp_ev *ev)
{
	return (t->mask & CT_TEV_BIT(ev->kind)) && ct_tcpev_match(&t->filter, ev);
}

static void clear_owner(struct ct_tcp_ev *ev)
{
	ev->pid = 0;
	ev->owner_src = CT_OWNER_NONE;
	memset(ev->comm, 0, sizeof(ev->comm));
	ev->cgroup = 0;
}

/*
 * The kernel's entry is believed, as for transitions; an owner it did
 * not know is looked up by the socket's file, and never guessed.
 */
static void resolve_owner(struct ct_tcpev *t, struct ct_tev_line *l)
{
	struct ct_tcp_ev *ev = &l->ev;
	const struct ct_holder *h = NULL;

	if (ev->owner_src == CT_OWNER_LISTENER && !ev->ino) {
		/* In the accept queue: the listener's, not yet anyone's. */
		l->listener_pid = ev->pid;
		memcpy(l->listener_comm, ev->comm, sizeof(l->listener_comm));
		l->listener_cgroup = ev->cgroup;
		clear_owner(ev);
		return;
	}
	if (ev->owner_src != CT_OWNER_NONE &&
	    ev->owner_src != CT_OWNER_LISTENER)
		return;
	if (t->owners && ev->ino)
		h = ct_owners_find(t->owners, ev->ino, ev->ts_ns);
	if (!h) {
		clear_owner(ev);
		return;
	}
	ev->pid = h->pid;
	ev->owner_src = CT_OWNER_RESOLVED;
	memcpy(ev->comm, h->comm, sizeof(ev->comm));
	ev->cgroup = h->cgroup;
}

struct ct_tev_party ct_tev_party(const struct ct_tev_line *l)
{
	if (l->ev.pid)
		return (struct ct_tev_party){ l->ev.pid, l->ev.comm, l->ev.cgroup };
	if (l->listener_pid)
		return (struct ct_tev_party){ l->listener_pid, l->listener_comm,
					      l->listener_cgroup };
	return (struct ct_tev_party){ 0, "", 0 };
}

void ct_tcpev_handle(struct ct_tcpev *t, const struct ct_tcp_ev *raw)
{
	struct ct_tev_line l;

	if (raw->kind >= CT_TEV_KINDS || !(t->mask & CT_TEV_BIT(raw->kind)))
		return;
	memset(&l, 0, sizeof(l));
	l.ev = *raw;
	resolve_owner(t, &l);
	if (!passes(t, &l.ev))
		return;
	t->handled[l.ev.kind]++;
	t->emit(&l, t->emit_ctx);
}

static void on_record(void *ctx, const void *rec, size_t size)
{
	(void)size;
	ct_tcpev_handle(ctx, rec);
}

int ct_tcpev_register(struct ct_tcpev *t, struct ct_evsource *s)
{
	return ct_evsource_register(s, CT_MSG_TCP_EV, sizeof(struct ct_tcp_ev),
				    on_record, t);
}

/* A listener is known by its cookie; by its address without one. */
static uint64_t listener_id(const struct ct_listen_drops *d)
{
	return d->cookie ? d->cookie : d->l.skaddr;
}

void ct_tcpev_listener(struct ct_tcpev *t, const struct ct_listen_drops *d,
		       uint64_t now_ns)
{
	struct ct_tcp_ev ev;
	int created = 0;
	/* Stored plus one, so that 0 means "not seen yet" in a fresh slot. */
	struct ct_listen_seen *last = u64map_put(&t->listen_drops,
						 listener_id(d), &created);
	uint64_t before;

	if (!last)
		return;
	before = last->drops;
	last->drops = d->drops + 1;
	last->walk = t->walks;
	/* A listener first seen at the first walk may have dropped long ago. */
	if (created && !t->next_walk_ns)
		return;
	if (d->drops + 1 <= before || (created && !d->drops))
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = CT_MSG_TCP_EV;
	ev.kind = CT_TEV_DROP;
	ev.state = TCP_LISTEN;
	ev.flags = CT_TEV_FROM_COUNTER;
	ev.ts_ns = now_ns;
	ev.skaddr = d->l.skaddr;
	ev.cookie = d->cookie;
	ev.ino = d->ino;
	ev.value = d->drops + 1 - (created ? 1 : before);
	ev.code = -1;
	ev.pid = d->l.owner.pid;
	ev.owner_src = d->l.owner.src;
	memcpy(ev.comm, d->l.owner.comm, sizeof(ev.comm));
	ev.cgroup = d->l.owner.cgroup;
	ev.netns = d->key.netns;
	ev.family = d->key.family;
	ev.sport = d->key.port;
	memcpy(ev.saddr, d->key.addr, sizeof(ev.saddr));
	ct_tcpev_handle(t, &ev);
}

struct walk {
	struct ct_tcpev *t;
	uint64_t now;
	int listeners_fd;
};

/* One listening socket from sock_diag: is it one of ours, and did it drop? */
static int on_listener(const struct ct_sockrec *r, void *ctx)
{
	struct walk *w = ctx;
	struct ct_listen_drops d;

	memset(&d, 0, sizeof(d));
	d.key.netns = r->netns;
	d.key.family = r->family;
	d.key.port = r->sport;
	memcpy(d.key.addr, r->saddr, sizeof(d.key.addr));
	/* Listeners the state hook or the seed walk never saw are nobody's. */
	if (bpf_map_lookup_elem(w->listeners_fd, &d.key, &d.l))
		return 0;
	d.drops = r->mem.drops;
	d.cookie = r->cookie;
	d.ino = r->inode;
	ct_tcpev_listener(w->t, &d, w->now);
	return 0;
}

/* The namespaces the known listeners are in, each once. */
static int listener_netns(int fd, struct u64map *out)
{
	struct ct_listen_key key, next;
	int created, err = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (!u64map_put(out, (uint64_t)next.netns + 1, &created))
			return -ENOMEM;
		key = next;
		prev = &key;
	}
	if (errno != ENOENT)
		err = -errno;
	return err;
}

static int dump_netns(struct walk *w, uint32_t netns)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct mnl_socket *nl = ct_diag_sock(&w->t->diag, netns);
	int err = 0;

	if (!nl)
		return 0;	/* gone since: nothing of it to count */
	for (size_t i = 0; !err && i < sizeof(families) / sizeof(families[0]); i++)
		err = ct_sockdump(nl, netns, families[i], IPPROTO_TCP,
				  1U << TCP_LISTEN, CT_DUMP_MEM, on_listener, w);
	return err;
}

/* Seen by the walk that just ended. */
static int seen_last(uint64_t key, const void *val, void *ctx)
{
	const struct ct_listen_seen *s = val;
	const struct ct_tcpev *t = ctx;

	(void)key;
	return s->walk == t->walks;
}

int ct_tcpev_forget_gone(struct ct_tcpev *t)
{
	return u64map_retain(&t->listen_drops, seen_last, t);
}

static void walk_listeners(struct ct_tcpev *t, uint64_t now)
{
	struct walk w = { t, now, ct_session_listeners_fd(t->session) };
	struct u64map nets;
	int err;

	if (u64map_init(&nets, 1))
		return;
	t->walks++;
	err = listener_netns(w.listeners_fd, &nets);
	for (size_t i = 0; !err && i < nets.cap; i++)
		if (nets.keys[i])
			err = dump_netns(&w, (uint32_t)(nets.keys[i] - 1));
	/* A walk cut short proves nothing gone; no memory is no loss to tell. */
	if (!err) {
		ct_tcpev_forget_gone(t);
		ct_diag_keep(&t->diag, &nets);
	}
	u64map_free(&nets);
	if (err && !t->walk_err)
		fprintf(stderr,
			"conntrace: warning: cannot read the listeners' drop counters: %s\n",
			strerror(-err));
	t->walk_err = err;
}

int ct_tcpev_tick(struct ct_tcpev *t, uint64_t now, int max_ms)
{
	uint64_t next;

	if (!t->session || !t->session->skel ||
	    !(t->mask & CT_TEV_BIT(CT_TEV_DROP)))
		return max_ms;
	if (now >= t->next_walk_ns) {
		walk_listeners(t, now);
		t->next_walk_ns = now + t->walk_every_ns;
	}
	next = t->next_walk_ns - now;
	return next / MS < (uint64_t)max_ms ? (int)((next + MS - 1) / MS) : max_ms;
}

static const char *name_in(char **names, size_t n, int code)
{
	if (code < 0 || (size_t)code >= n)
		return NULL;
	return names[code];
}

#define DROP_ENUM "skb_drop_reason"
#define DROP_PREFIX "SKB_DROP_REASON_"
#define RST_ENUM "sk_rst_reason"
#define RST_PREFIX "SK_RST_REASON_"

void ct_tcpev_load_reasons(struct ct_tcpev *t)
{
	struct ct_enum_names e[] = {
		{ .enum_name = DROP_ENUM, .prefix = DROP_PREFIX },
		{ .enum_name = RST_ENUM, .prefix = RST_PREFIX },
	};

	if (t->drop_tried || t->rst_tried ||
	    !(t->mask & (CT_TEV_BIT(CT_TEV_DROP) | CT_TEV_BIT(CT_TEV_RESET_SENT))))
		return;
	/* A missing enum leaves its names NULL: the reason prints as unknown. */
	ct_kernel_enums(e, sizeof(e) / sizeof(e[0]));
	t->drop_names = e[0].names;
	t->ndrop = e[0].n;
	t->rst_names = e[1].names;
	t->nrst = e[1].n;
	t->drop_tried = t->rst_tried = true;
}

const char *ct_tcpev_reason(struct ct_tcpev *t, const struct ct_tcp_ev *ev)
{
	if (ev->kind == CT_TEV_DROP) {
		if (ev->flags & CT_TEV_FROM_COUNTER)
			return "LISTEN_DROP";
		if (!t->drop_tried)
			ct_kernel_enum_names(DROP_ENUM, DROP_PREFIX, &t->drop_names, &t->ndrop);
		t->drop_tried = true;
		return name_in(t->drop_names, t->ndrop, ev->code);
	}
	if (ev->kind == CT_TEV_RESET_SENT) {
		if (!t->rst_tried)
			ct_kernel_enum_names(RST_ENUM, RST_PREFIX, &t->rst_names, &t->nrst);
		t->rst_tried = true;
		return name_in(t->rst_names, t->nrst, ev->code);
	}
	return NULL;
}
