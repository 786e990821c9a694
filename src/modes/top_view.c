// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/top_view.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "engine/cgroup.h"
#include "engine/netns.h"
#include "modes/cgroup_out.h"
#include "modes/options.h"
#include "output/format.h"
#include "output/strbuf.h"
#include "output/json.h"
#include "output/table.h"

static const char *const view_names[CT_VIEW_MAX] = { "processes",
						     "connections", "hosts",
						     "containers", "latency" };

const char *ct_view_name(enum ct_view v)
{
	return v < CT_VIEW_MAX ? view_names[v] : "?";
}

int ct_view_parse(const char *name)
{
	for (int v = 0; v < CT_VIEW_MAX; v++)
		if (!strncmp(name, view_names[v], strlen(name)) && name[0])
			return v;
	return -1;
}

static const char *const sort_names[] = {
	[CT_SORT_TOTAL] = "total", [CT_SORT_SENT] = "sent",
	[CT_SORT_RECV] = "received", [CT_SORT_RETRANS] = "retrans",
	[CT_SORT_RESETS] = "resets", [CT_SORT_DROPS] = "drops",
};

int ct_sort_parse(const char *name)
{
	if (!strcmp(name, "recv"))
		return CT_SORT_RECV;
	for (size_t i = 0; i < sizeof(sort_names) / sizeof(sort_names[0]); i++)
		if (!strcmp(name, sort_names[i]))
			return (int)i;
	return -1;
}

const char *ct_sort_name(enum ct_sort s)
{
	return (size_t)s < sizeof(sort_names) / sizeof(sort_names[0]) ?
	       sort_names[s] : "?";
}

bool ct_top_key(struct ct_top_state *st, int key)
{
	switch (key) {
	case 's':
		st->sort = CT_SORT_SENT;
		return true;
	case 'r':
		st->sort = CT_SORT_RECV;
		return true;
	case 't':
		st->sort = CT_SORT_TOTAL;
		return true;
	case 'R':
		st->sort = CT_SORT_RETRANS;
		return true;
	case 'X':
		st->sort = CT_SORT_RESETS;
		return true;
	case 'D':
		st->sort = CT_SORT_DROPS;
		return true;
	case 'm':
		st->totals = !st->totals;
		return true;
	case '\t':
	case 'v':
		st->view = (st->view + 1) % CT_VIEW_MAX;
		return true;
	case 'p':
		st->view = CT_VIEW_PROCS;
		return true;
	case 'c':
		st->view = CT_VIEW_CONNS;
		return true;
	case 'h':
		st->view = CT_VIEW_HOSTS;
		return true;
	case 'C':
		st->view = CT_VIEW_CONTAINERS;
		return true;
	case 'l':
		st->view = CT_VIEW_LATENCY;
		return true;
	default:
		return false;
	}
}

const char *ct_bytes_str(double v, bool per_second, char *buf, size_t len)
{
	return ct_human_bytes(v, per_second, buf, len);
}

/* The expression sees open TCP shares as ESTABLISHED, closed as CLOSE. */
bool ct_share_match(const struct ct_kfilter *f, const struct ct_share *s)
{
	if (f->netns && s->k.netns != f->netns)
		return false;
	return ct_kfilter_match(f, s->k.family,
				s->closed_ns ? TCP_CLOSE : TCP_ESTABLISHED,
				s->k.saddr, s->k.sport, s->k.daddr, s->k.dport,
				s->pid, s->k.comm, s->k.cgroup);
}

/* The filters a process row can be held to: its pid and command. */
static bool proc_match(const struct ct_kfilter *f, const struct ct_proc *p)
{
	if (f->pid && p->pid != f->pid)
		return false;
	return !f->comm[0] || !strncmp(f->comm, p->comm, sizeof(p->comm));
}

/* What one row shows, per direction, and what it is sorted by. */
struct item {
	double v[2];
	size_t idx;
	struct ct_tally_counts ev;	/* retransmits, resets, drops so far */
};

static enum ct_sort sort_key;

static double sort_value(const struct item *it)
{
	if (sort_key == CT_SORT_SENT)
		return it->v[CT_TX];
	if (sort_key == CT_SORT_RECV)
		return it->v[CT_RX];
	if (sort_key >= CT_SORT_RETRANS)
		return (double)it->ev.n[sort_key - CT_SORT_RETRANS];
	return it->v[CT_TX] + it->v[CT_RX];
}

static int item_cmp(const void *x, const void *y)
{
	double a = sort_value(x), b = sort_value(y);
	const struct item *ix = x, *iy = y;

	if (a != b)
		return a < b ? 1 : -1;
	return ix->idx < iy->idx ? -1 : ix->idx > iy->idx;
}

static void sort_items(struct item *it, size_t n, enum ct_sort by)
{
	sort_key = by;
	qsort(it, n, sizeof(*it), item_cmp);
}

static double rate(uint64_t delta, double interval_s)
{
	return interval_s > 0 ? (double)delta / interval_s : 0;
}

/* The two numbers a row shows: rates or totals, as the state says. */
static void pick(struct item *it, const uint64_t delta[2],
		 const uint64_t total[2], const struct ct_top_state *st,
		 double interval_s)
{
	for (int d = 0; d < 2; d++)
		it->v[d] = st->totals ? (double)total[d] : rate(delta[d], interval_s);
}

static int alloc_table(struct ct_table *t, size_t n)
{
	memset(t, 0, sizeof(*t));
	t->rows = calloc(n ? n : 1, sizeof(*t->rows));
	return t->rows ? 0 : -ENOMEM;
}

void ct_table_free(struct ct_table *t)
{
	free(t->rows);
	memset(t, 0, sizeof(*t));
}

/* What a view's rows are built from. */
struct view {
	const struct item *it;		/* the rows, sorted */
	const struct ct_proc *procs;
	const struct ct_acct *a;
	const struct ct_top_state *st;
	bool shared;			/* connections: some row is shared */
	const struct ct_group *groups;	/* containers */
	bool netns;			/* connections: some row is in another netns */
};

typedef void (*row_fn)(const struct view *v, size_t i, struct ct_row *r);

static void copy_line(char *dst, const struct ct_strbuf *b)
{
	snprintf(dst, CT_ROW_LEN, "%.*s", (int)b->len, b->buf);
}

/* Columns as wide as the widest of the n rows, then the lines. */
static void lay_out(struct ct_table *t, const struct ct_col *col, int ncol,
		    const struct view *v, size_t n, row_fn build)
{
	struct ct_strbuf b;
	struct ct_cols c;
	struct ct_row r;

	ct_cols_init(&c, col, ncol);
	for (size_t i = 0; i < n; i++) {
		build(v, i, &r);
		ct_cols_fit(&c, &r);
	}
	ct_sb_reset(&b);
	ct_cols_header(&c, &b);
	copy_line(t->header, &b);
	for (size_t i = 0; i < n; i++) {
		build(v, i, &r);
		ct_sb_reset(&b);
		ct_cols_row(&c, &r, &b);
		copy_line(t->rows[t->nrows++], &b);
	}
}

/* The two byte columns: rates or totals, as the state says. */
static void pair_cells(const struct item *it, bool totals, struct ct_row *r)
{
	char buf[32];

	ct_row_str(r, ct_bytes_str(it->v[CT_TX], !totals, buf, sizeof(buf)));
	ct_row_str(r, ct_bytes_str(it->v[CT_RX], !totals, buf, sizeof(buf)));
}

/* The count, or "-" where this kernel has no hook for it. */
static void trouble_cells(const struct view *v, const struct item *it,
			  struct ct_row *r)
{
	if (!v->st->tally)
		return;
	for (int c = 0; c < CT_TALLY_COLS; c++) {
		if (v->st->tally->missing & (1U << c))
			ct_row_str(r, "-");
		else
			ct_row_u64(r, it->ev.n[c]);
	}
}

/* Appends the trouble columns to cols[0..n), if counted; the new n. */
static int trouble_cols(const struct ct_top_state *st, struct ct_col *cols,
			int n)
{
	static const struct ct_col trouble[CT_TALLY_COLS] = {
		{ "RETRANS", CT_RIGHT, 7, 0 },
		{ "RESETS", CT_RIGHT, 6, 0 },
		{ "DROPS", CT_RIGHT, 6, 0 },
	};

	if (!st->tally)
		return n;
	for (int c = 0; c < CT_TALLY_COLS; c++)
		cols[n++] = trouble[c];
	return n;
}

static void comm_cell(struct ct_row *r, const char *comm, size_t size)
{
	ct_sb_strn(&r->b, comm, size - 1);
	ct_row_end_cell(r);
}

static void proc_row(const struct view *v, size_t i, struct ct_row *r)
{
	const struct ct_proc *q = &v->procs[v->it[i].idx];

	ct_row_reset(r);
	ct_row_u64(r, q->pid);
	comm_cell(r, q->comm, sizeof(q->comm));
	ct_row_u64(r, q->nconns);
	pair_cells(&v->it[i], v->st->totals, r);
	trouble_cells(v, &v->it[i], r);
}

static int procs_table(const struct ct_acct *a, const struct ct_top_state *st,
		       struct ct_table *t)
{
	struct ct_col cols[5 + CT_TALLY_COLS] = {
		{ "PID", CT_LEFT, 8, 0 },
		{ "COMM", CT_LEFT, 15, 0 },
		{ "CONNS", CT_RIGHT, 5, 0 },
		{ st->totals ? "SENT" : "SEND/s", CT_RIGHT, 14, 0 },
		{ st->totals ? "RECEIVED" : "RECV/s", CT_RIGHT, 14, 0 },
	};
	int ncols = trouble_cols(st, cols, 5);
	struct ct_proc *p;
	struct item *it;
	int n = ct_acct_procs(a, &p);
	size_t m = 0;

	if (n < 0)
		return n;
	it = calloc((size_t)n + 1, sizeof(*it));
	if (!it || alloc_table(t, (size_t)n)) {
		free(p);
		free(it);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		if (!proc_match(&st->filter, &p[i]))
			continue;
		pick(&it[m], p[i].delta, p[i].total, st, a->interval_s);
		if (st->tally)
			ct_tally_proc(st->tally, p[i].pid, &it[m].ev);
		it[m++].idx = (size_t)i;
	}
	sort_items(it, m, st->sort);
	lay_out(t, cols, ncols, &(struct view){ it, p, a, st, false, NULL, false }, m, proc_row);
	free(it);
	free(p);
	return 0;
}

static const char *proto_name(uint16_t proto)
{
	return proto == 17 ? "udp" : "tcp";
}

/* top -v: whether the kernel agrees; "-" where it cannot say. */
static const char *check_str(const struct ct_share *s)
{
	if (!s->checked)
		return "-";
	return s->check_ok ? "agrees" : "DIFFERS";
}

static void conn_row(const struct view *v, size_t i, struct ct_row *r)
{
	const struct ct_share *s = &v->a->shares[v->it[i].idx];

	ct_row_reset(r);
	/* Never a process we are not sure of. */
	if (s->pid) {
		ct_row_u64(r, s->pid);
		comm_cell(r, s->k.comm, sizeof(s->k.comm));
	} else {
		ct_row_str(r, "?");
		ct_row_str(r, "?");
	}
	ct_row_str(r, proto_name(s->k.proto));
	ct_sb_addrport(&r->b, s->k.family, s->k.saddr, s->k.sport, 0);
	ct_row_end_cell(r);
	ct_sb_addrport(&r->b, s->k.family, s->k.daddr, s->k.dport, 0);
	ct_row_end_cell(r);
	pair_cells(&v->it[i], v->st->totals, r);
	trouble_cells(v, &v->it[i], r);
	if (v->st->check)
		ct_row_str(r, check_str(s));
	if (v->shared)
		ct_row_str(r, s->shared ? "shared" : "");
	if (v->netns) {
		char ns[16];

		ct_row_str(r, ct_netns_cell(s->k.netns, ns, sizeof(ns)));
	}
}

/* A connection's counts: its socket's, not its process's. */
static void share_trouble(const struct ct_top_state *st,
			  const struct ct_share *s, struct ct_tally_counts *out)
{
	if (st->tally)
		ct_tally_sock(st->tally, s->key.skaddr, s->k.first_ns, &s->k, out);
}

static int conns_table(const struct ct_acct *a, const struct ct_top_state *st,
		       struct ct_table *t)
{
	const struct ct_col cols[] = {
		{ "PID", CT_LEFT, 8, 0 },
		{ "COMM", CT_LEFT, 15, 0 },
		{ "PRO", CT_LEFT, 3, 0 },
		{ "LADDR:LPORT", CT_LEFT, 23, 0 },
		{ "RADDR:RPORT", CT_LEFT, 23, 0 },
		{ st->totals ? "SENT" : "SEND/s", CT_RIGHT, 14, 0 },
		{ st->totals ? "RECEIVED" : "RECV/s", CT_RIGHT, 14, 0 },
		{ "KERNEL", CT_LEFT, 0, 0 },	/* top -v only */
		{ "SHARED", CT_LEFT, 0, 0 },	/* only when a row is */
		{ "NETNS", CT_LEFT, 0, 0 },	/* only when a row is in another */
	};
	struct item *it = calloc(a->nshares + 1, sizeof(*it));
	struct ct_col use[sizeof(cols) / sizeof(cols[0]) + CT_TALLY_COLS];
	uint32_t self = ct_netns_self();
	bool shared = false, netns = false;
	int ncols = 7;
	size_t m = 0;

	if (!it || alloc_table(t, a->nshares)) {
		free(it);
		return -ENOMEM;
	}
	for (size_t i = 0; i < a->nshares; i++) {
		if (!ct_share_match(&st->filter, &a->shares[i]))
			continue;
		pick(&it[m], a->shares[i].delta, a->shares[i].total, st,
		     a->interval_s);
		share_trouble(st, &a->shares[i], &it[m].ev);
		shared |= a->shares[i].shared;
		netns |= a->shares[i].k.netns && a->shares[i].k.netns != self;
		it[m++].idx = i;
	}
	sort_items(it, m, st->sort);
	memcpy(use, cols, sizeof(cols[0]) * 7);
	ncols = trouble_cols(st, use, ncols);
	if (st->check)
		use[ncols++] = cols[7];
	if (shared)
		use[ncols++] = cols[8];
	if (netns)
		use[ncols++] = cols[9];
	lay_out(t, use, ncols,
		&(struct view){ it, NULL, a, st, shared, NULL, netns },
		m, conn_row);
	free(it);
	return 0;
}

/* Rates: each window's pair, sent and received meeting at the '/'. */
static void host_rates(const struct ct_host *h, struct ct_row *r)
{
	char w[2][24], pair[56];

	for (int k = 0; k < CT_WINDOWS; k++) {
		for (int d = 0; d < 2; d++)
			ct_bytes_str(h->avg[k][d], true, w[d], sizeof(w[d]));
		snprintf(pair, sizeof(pair), "%12s / %-12s", w[CT_TX], w[CT_RX]);
		ct_row_str(r, pair);
	}
}

static void host_row(const struct view *v, size_t i, struct ct_row *r)
{
	const struct ct_host *h = &v->a->hosts[v->it[i].idx];
	char addr[CT_ADDR_STR_LEN];

	ct_row_reset(r);
	ct_row_str(r, ct_addr_str(h->family, h->addr, addr, sizeof(addr)));
	ct_row_u64(r, h->nconns);
	if (v->st->totals)
		pair_cells(&v->it[i], true, r);
	else
		host_rates(h, r);
}

static int hosts_table(const struct ct_acct *a, const struct ct_top_state *st,
		       struct ct_table *t)
{
	static const struct ct_col rates[] = {
		{ "REMOTE", CT_LEFT, 39, 0 },
		{ "CONNS", CT_RIGHT, 5, 0 },
		{ "2s SEND/s / RECV/s", CT_RIGHT, 27, 0 },
		{ "10s SEND/s / RECV/s", CT_RIGHT, 27, 0 },
		{ "40s SEND/s / RECV/s", CT_RIGHT, 27, 0 },
	};
	static const struct ct_col totals[] = {
		{ "REMOTE", CT_LEFT, 39, 0 },
		{ "CONNS", CT_RIGHT, 5, 0 },
		{ "SENT", CT_RIGHT, 14, 0 },
		{ "RECEIVED", CT_RIGHT, 14, 0 },
	};
	struct item *it = calloc(a->nhosts + 1, sizeof(*it));

	if (!it || alloc_table(t, a->nhosts)) {
		free(it);
		return -ENOMEM;
	}
	for (size_t i = 0; i < a->nhosts; i++) {
		const struct ct_host *h = &a->hosts[i];

		for (int d = 0; d < 2; d++)
			it[i].v[d] = st->totals ? (double)h->total[d] : h->avg[0][d];
		it[i].idx = i;
	}
	sort_items(it, a->nhosts, st->sort);
	lay_out(t, st->totals ? totals : rates, st->totals ? 4 : 5,
		&(struct view){ it, NULL, a, st, false, NULL, false }, a->nhosts,
		host_row);
	free(it);
	return 0;
}

/* The filters a container row can be held to: its cgroup and container. */
static bool group_match(const struct ct_kfilter *f, const struct ct_group *g)
{
	if (f->cgroup && !ct_cgroup_id_under(g->cgroup, f->cgroup))
		return false;
	return !f->container || ct_cgroup_id_is(g->cgroup, f->container);
}

static void group_row(const struct view *v, size_t i, struct ct_row *r)
{
	const struct ct_group *g = &v->groups[v->it[i].idx];

	ct_row_reset(r);
	ct_row_str(r, ct_container_cell(g->cgroup));
	ct_row_u64(r, g->nconns);
	pair_cells(&v->it[i], v->st->totals, r);
}

static int groups_table(const struct ct_acct *a, const struct ct_top_state *st,
			struct ct_table *t)
{
	const struct ct_col cols[] = {
		{ "CONTAINER", CT_LEFT, 24, 0 },
		{ "CONNS", CT_RIGHT, 5, 0 },
		{ st->totals ? "SENT" : "SEND/s", CT_RIGHT, 14, 0 },
		{ st->totals ? "RECEIVED" : "RECV/s", CT_RIGHT, 14, 0 },
	};
	struct ct_group *g;
	struct item *it;
	int n = ct_acct_groups(a, &g);
	size_t m = 0;

	if (n < 0)
		return n;
	it = calloc((size_t)n + 1, sizeof(*it));
	if (!it || alloc_table(t, (size_t)n)) {
		free(g);
		free(it);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		if (!group_match(&st->filter, &g[i]))
			continue;
		pick(&it[m], g[i].delta, g[i].total, st, a->interval_s);
		it[m++].idx = (size_t)i;
	}
	sort_items(it, m, st->sort);
	lay_out(t, cols, 4, &(struct view){ .it = it, .a = a, .st = st, .groups = g },
		m, group_row);
	free(it);
	free(g);
	return 0;
}

/* Milliseconds with microseconds, as watch prints latency. */
static void ms_cell(struct ct_row *r, uint64_t ns)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.3f", (double)ns / 1e6);
	ct_row_str(r, buf);
}

static void latency_row(const struct view *v, size_t i, struct ct_row *r)
{
	const struct ct_lat_stats *h = &v->st->tally->hosts[v->it[i].idx];
	char addr[CT_ADDR_STR_LEN];

	ct_row_reset(r);
	ct_row_str(r, ct_addr_str(h->family, h->addr, addr, sizeof(addr)));
	ct_row_u64(r, h->count);
	ms_cell(r, ct_lat_percentile(h, 50));
	ms_cell(r, ct_lat_percentile(h, 99));
	ms_cell(r, h->max_ns);
}

/* Connect latency per remote host, the most connected first. */
static int latency_table(const struct ct_top_state *st, struct ct_table *t)
{
	static const struct ct_col cols[] = {
		{ "REMOTE", CT_LEFT, 39, 0 },
		{ "CONNECTS", CT_RIGHT, 8, 0 },
		{ "P50_MS", CT_RIGHT, 9, 0 },
		{ "P99_MS", CT_RIGHT, 9, 0 },
		{ "MAX_MS", CT_RIGHT, 9, 0 },
	};
	size_t n = st->tally ? st->tally->nhosts : 0;
	struct item *it = calloc(n + 1, sizeof(*it));

	if (!it || alloc_table(t, n)) {
		free(it);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		it[i].v[0] = (double)st->tally->hosts[i].count;
		it[i].idx = i;
	}
	sort_items(it, n, CT_SORT_SENT);
	lay_out(t, cols, 5, &(struct view){ .it = it, .st = st }, n, latency_row);
	free(it);
	return 0;
}

int ct_top_table(const struct ct_acct *a, const struct ct_top_state *st,
		 uint64_t now_ns, struct ct_table *t)
{
	(void)now_ns;
	switch (st->view) {
	case CT_VIEW_LATENCY:
		return latency_table(st, t);
	case CT_VIEW_CONTAINERS:
		return groups_table(a, st, t);
	case CT_VIEW_CONNS:
		return conns_table(a, st, t);
	case CT_VIEW_HOSTS:
		return hosts_table(a, st, t);
	default:
		return procs_table(a, st, t);
	}
}

static void json_pair(struct json_writer *w, const char *tx_key,
		      const char *rx_key, const uint64_t v[2])
{
	json_u64(w, tx_key, v[CT_TX]);
	json_u64(w, rx_key, v[CT_RX]);
}

static void json_rates(struct json_writer *w, const uint64_t delta[2],
		       double interval_s)
{
	json_double(w, "tx_rate", rate(delta[CT_TX], interval_s), 1);
	json_double(w, "rx_rate", rate(delta[CT_RX], interval_s), 1);
}

/*
 * Each count, or null where this kernel has no hook for it; nothing when
 * the events are not counted at all (a replay of a recording made
 * before events were recorded).
 */
static void json_trouble(struct json_writer *w, const struct ct_top_state *st,
			 const struct ct_tally_counts *c)
{
	static const char *const keys[CT_TALLY_COLS] = { "retrans", "resets",
							 "drops" };

	if (!st->tally)
		return;
	for (int k = 0; k < CT_TALLY_COLS; k++) {
		if (st->tally->missing & (1U << k))
			json_null(w, keys[k]);
		else
			json_u64(w, keys[k], c->n[k]);
	}
}

static void json_procs(struct json_writer *w, const struct ct_acct *a,
		       const struct ct_top_state *st)
{
	struct ct_tally_counts c = { { 0 } };

	struct ct_proc *p;
	int n = ct_acct_procs(a, &p);

	json_arr_begin(w, "processes");
	for (int i = 0; i < n; i++) {
		if (!proc_match(&st->filter, &p[i]))
			continue;
		json_obj_begin(w, NULL);
		json_u64(w, "pid", p[i].pid);
		json_str(w, "comm", p[i].comm);
		json_u64(w, "conns", p[i].nconns);
		json_pair(w, "tx_bytes", "rx_bytes", p[i].total);
		json_rates(w, p[i].delta, a->interval_s);
		if (st->tally)
			ct_tally_proc(st->tally, p[i].pid, &c);
		json_trouble(w, st, &c);
		json_obj_end(w);
	}
	json_arr_end(w);
	if (n >= 0)
		free(p);
}

static void json_check(struct json_writer *w, const struct ct_share *s)
{
	if (!s->checked)
		return;
	json_u64(w, "kernel_tx_bytes", s->kernel[CT_TX]);
	json_u64(w, "kernel_rx_bytes", s->kernel[CT_RX]);
	json_bool(w, "kernel_agrees", s->check_ok);
}

static void json_share(struct json_writer *w, const struct ct_share *s,
		       const struct ct_top_state *st, double interval_s)
{
	struct ct_tally_counts c = { { 0 } };
	char addr[CT_ADDR_STR_LEN], sk[24];

	json_obj_begin(w, NULL);
	/* Never a process we are not sure of. */
	if (s->pid) {
		json_u64(w, "pid", s->pid);
		json_str(w, "comm", s->k.comm);
	} else {
		json_null(w, "pid");
		json_null(w, "comm");
	}
	json_str(w, "proto", proto_name(s->k.proto));
	json_str(w, "family", s->k.family == AF_INET6 ? "ipv6" : "ipv4");
	json_str(w, "laddr", ct_addr_str(s->k.family, s->k.saddr, addr, sizeof(addr)));
	json_u64(w, "lport", s->k.sport);
	json_str(w, "raddr", ct_addr_str(s->k.family, s->k.daddr, addr, sizeof(addr)));
	json_u64(w, "rport", s->k.dport);
	json_u64(w, "netns", s->k.netns);
	ct_cgroup_json(w, s->pid ? s->k.cgroup : 0);
	ct_netns_name_json(w, s->k.netns);
	snprintf(sk, sizeof(sk), "0x%llx", (unsigned long long)s->key.skaddr);
	json_str(w, "sock", sk);
	json_pair(w, "tx_bytes", "rx_bytes", s->total);
	json_u64(w, "tx_calls", s->k.calls[CT_TX]);
	json_u64(w, "rx_calls", s->k.calls[CT_RX]);
	json_rates(w, s->delta, interval_s);
	json_bool(w, "closed", s->closed_ns != 0);
	json_bool(w, "shared", s->shared);
	json_check(w, s);
	share_trouble(st, s, &c);
	json_trouble(w, st, &c);
	json_obj_end(w);
}

static void json_conns(struct json_writer *w, const struct ct_acct *a,
		       const struct ct_top_state *st)
{
	json_arr_begin(w, "connections");
	for (size_t i = 0; i < a->nshares; i++)
		if (ct_share_match(&st->filter, &a->shares[i]))
			json_share(w, &a->shares[i], st, a->interval_s);
	json_arr_end(w);
}

static void json_hosts(struct json_writer *w, const struct ct_acct *a)
{
	json_arr_begin(w, "hosts");
	for (size_t i = 0; i < a->nhosts; i++) {
		const struct ct_host *h = &a->hosts[i];
		char addr[CT_ADDR_STR_LEN], key[16];

		json_obj_begin(w, NULL);
		json_str(w, "raddr", ct_addr_str(h->family, h->addr, addr, sizeof(addr)));
		json_u64(w, "conns", h->nconns);
		json_pair(w, "tx_bytes", "rx_bytes", h->total);
		for (int k = 0; k < CT_WINDOWS; k++) {
			snprintf(key, sizeof(key), "tx_rate_%us", ct_window_s[k]);
			json_double(w, key, h->avg[k][CT_TX], 1);
			snprintf(key, sizeof(key), "rx_rate_%us", ct_window_s[k]);
			json_double(w, key, h->avg[k][CT_RX], 1);
		}
		json_obj_end(w);
	}
	json_arr_end(w);
}

static void json_groups(struct json_writer *w, const struct ct_acct *a,
			const struct ct_top_state *st)
{
	struct ct_group *g;
	int n = ct_acct_groups(a, &g);

	json_arr_begin(w, "containers");
	for (int i = 0; i < n; i++) {
		if (!group_match(&st->filter, &g[i]))
			continue;
		json_obj_begin(w, NULL);
		ct_cgroup_json(w, g[i].cgroup);
		json_u64(w, "conns", g[i].nconns);
		json_pair(w, "tx_bytes", "rx_bytes", g[i].total);
		json_rates(w, g[i].delta, a->interval_s);
		json_obj_end(w);
	}
	json_arr_end(w);
	if (n >= 0)
		free(g);
}

static void json_latency(struct json_writer *w, const struct ct_top_state *st)
{
	size_t n = st->tally ? st->tally->nhosts : 0;

	if (!st->tally)
		return;
	json_arr_begin(w, "latency");
	for (size_t i = 0; i < n; i++) {
		const struct ct_lat_stats *h = &st->tally->hosts[i];
		char addr[CT_ADDR_STR_LEN];

		json_obj_begin(w, NULL);
		json_str(w, "raddr", ct_addr_str(h->family, h->addr, addr, sizeof(addr)));
		json_u64(w, "connects", h->count);
		json_double(w, "p50_ms", (double)ct_lat_percentile(h, 50) / 1e6, 3);
		json_double(w, "p99_ms", (double)ct_lat_percentile(h, 99) / 1e6, 3);
		json_double(w, "max_ms", (double)h->max_ns / 1e6, 3);
		json_obj_end(w);
	}
	json_arr_end(w);
}

void ct_top_json(FILE *f, const struct ct_acct *a,
		 const struct ct_top_state *st, uint64_t wall_ns,
		 uint64_t evicted, uint64_t lost)
{
	struct json_writer w;
	char t[40];

	json_init(&w, f);
	json_obj_begin(&w, NULL);
	json_str(&w, "time", ct_iso_time_str(wall_ns, t, sizeof(t)));
	json_double(&w, "interval_s", a->interval_s, 3);
	json_u64(&w, "evicted", evicted);
	json_u64(&w, "lost", lost);
	json_procs(&w, a, st);
	json_conns(&w, a, st);
	json_hosts(&w, a);
	json_groups(&w, a, st);
	json_latency(&w, st);
	json_obj_end(&w);
}

void ct_table_print(const struct ct_table *t, FILE *f)
{
	fprintf(f, "%s\n", t->header);
	for (size_t i = 0; i < t->nrows; i++)
		fprintf(f, "%s\n", t->rows[i]);
	fputc('\n', f);
}
