// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/top_view.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "modes/options.h"
#include "output/format.h"
#include "output/strbuf.h"
#include "output/json.h"

static const char *const view_names[CT_VIEW_MAX] = { "processes",
						     "connections", "hosts" };

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

int ct_sort_parse(const char *name)
{
	if (!strcmp(name, "total"))
		return CT_SORT_TOTAL;
	if (!strcmp(name, "sent"))
		return CT_SORT_SENT;
	if (!strcmp(name, "recv") || !strcmp(name, "received"))
		return CT_SORT_RECV;
	return -1;
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
	default:
		return false;
	}
}

const char *ct_bytes_str(double v, bool per_second, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	/* Past what rounds up to 1024, the next unit reads better. */
	while (u < 4 && v >= (u ? 1023.95 : 1023.5)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s%s" : "%.0f %s%s", v, units[u],
		 per_second ? "/s" : "");
	return buf;
}

/* The expression sees open TCP shares as ESTABLISHED, closed as CLOSE. */
bool ct_share_match(const struct ct_kfilter *f, const struct ct_share *s)
{
	return ct_kfilter_match(f, s->k.family,
				s->closed_ns ? TCP_CLOSE : TCP_ESTABLISHED,
				s->k.saddr, s->k.sport, s->k.daddr, s->k.dport,
				s->pid, s->k.comm);
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
};

static enum ct_sort sort_key;

static double sort_value(const struct item *it)
{
	if (sort_key == CT_SORT_SENT)
		return it->v[CT_TX];
	if (sort_key == CT_SORT_RECV)
		return it->v[CT_RX];
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

static void pair_str(const struct item *it, bool totals, char *tx, char *rx,
		     size_t len)
{
	ct_bytes_str(it->v[CT_TX], !totals, tx, len);
	ct_bytes_str(it->v[CT_RX], !totals, rx, len);
}

static int procs_table(const struct ct_acct *a, const struct ct_top_state *st,
		       struct ct_table *t)
{
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
		it[m++].idx = (size_t)i;
	}
	sort_items(it, m, st->sort);
	snprintf(t->header, CT_ROW_LEN, "%-8s %-15s %5s %14s %14s", "PID",
		 "COMM", "CONNS", st->totals ? "SENT" : "SEND/s",
		 st->totals ? "RECEIVED" : "RECV/s");
	for (size_t i = 0; i < m; i++) {
		const struct ct_proc *q = &p[it[i].idx];
		char tx[32], rx[32];

		pair_str(&it[i], st->totals, tx, rx, sizeof(tx));
		snprintf(t->rows[t->nrows++], CT_ROW_LEN, "%-8u %-15.15s %5u %14s %14s",
			 q->pid, q->comm, q->nconns, tx, rx);
	}
	free(it);
	free(p);
	return 0;
}

static const char *proto_name(uint16_t proto)
{
	return proto == 17 ? "udp" : "tcp";
}

/* top -v: whether the kernel agrees; "-" where it cannot say. */
static const char *check_str(const struct ct_top_state *st,
			     const struct ct_share *s)
{
	if (!st->check)
		return "";
	if (!s->checked)
		return " -";
	return s->check_ok ? " agrees" : " DIFFERS";
}

static int conns_table(const struct ct_acct *a, const struct ct_top_state *st,
		       struct ct_table *t)
{
	struct item *it = calloc(a->nshares + 1, sizeof(*it));
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
		it[m++].idx = i;
	}
	sort_items(it, m, st->sort);
	snprintf(t->header, CT_ROW_LEN, "%-8s %-15s %-3s %-23s %-23s %14s %14s%s",
		 "PID", "COMM", "PRO", "LADDR:LPORT", "RADDR:RPORT",
		 st->totals ? "SENT" : "SEND/s", st->totals ? "RECEIVED" : "RECV/s",
		 st->check ? " KERNEL" : "");
	for (size_t i = 0; i < m; i++) {
		const struct ct_share *s = &a->shares[it[i].idx];
		char la[CT_ADDRPORT_LEN], ra[CT_ADDRPORT_LEN], tx[32], rx[32];
		char pid[16];

		ct_addrport_str(s->k.family, s->k.saddr, s->k.sport, la, sizeof(la));
		ct_addrport_str(s->k.family, s->k.daddr, s->k.dport, ra, sizeof(ra));
		pair_str(&it[i], st->totals, tx, rx, sizeof(tx));
		snprintf(pid, sizeof(pid), s->pid ? "%u" : "?", s->pid);
		snprintf(t->rows[t->nrows++], CT_ROW_LEN,
			 "%-8s %-15.15s %-3s %-23s %-23s %14s %14s%s%s", pid,
			 s->pid ? s->k.comm : "?", proto_name(s->k.proto), la, ra,
			 tx, rx, check_str(st, s), s->shared ? " shared" : "");
	}
	free(it);
	return 0;
}

static int hosts_table(const struct ct_acct *a, const struct ct_top_state *st,
		       struct ct_table *t)
{
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
	snprintf(t->header, CT_ROW_LEN, "%-39s %5s %23s %23s %23s", "REMOTE",
		 "CONNS", "2s SEND / RECV", "10s SEND / RECV", "40s SEND / RECV");
	for (size_t i = 0; i < a->nhosts; i++) {
		const struct ct_host *h = &a->hosts[it[i].idx];
		char addr[CT_ADDR_STR_LEN], w[CT_WINDOWS][2][16];
		int len;

		ct_addr_str(h->family, h->addr, addr, sizeof(addr));
		for (int k = 0; k < CT_WINDOWS; k++)
			for (int d = 0; d < 2; d++)
				ct_bytes_str(h->avg[k][d], false, w[k][d], 16);
		len = snprintf(t->rows[t->nrows++], CT_ROW_LEN, "%-39s %5u", addr,
			       h->nconns);
		for (int k = 0; k < CT_WINDOWS && len < CT_ROW_LEN; k++)
			len += snprintf(t->rows[t->nrows - 1] + len,
					CT_ROW_LEN - (size_t)len, " %11s/%-11s",
					w[k][CT_TX], w[k][CT_RX]);
	}
	free(it);
	return 0;
}

int ct_top_table(const struct ct_acct *a, const struct ct_top_state *st,
		 uint64_t now_ns, struct ct_table *t)
{
	(void)now_ns;
	switch (st->view) {
	case CT_VIEW_CONNS:
		return conns_table(a, st, t);
	case CT_VIEW_HOSTS:
		return hosts_table(a, st, t);
	default:
		return procs_table(a, st, t);
	}
}

static void json_pair(struct json_obj *o, const char *tx_key,
		      const char *rx_key, const uint64_t v[2])
{
	json_u64(o, tx_key, v[CT_TX]);
	json_u64(o, rx_key, v[CT_RX]);
}

static void json_rates(struct json_obj *o, const uint64_t delta[2],
		       double interval_s)
{
	json_double(o, "tx_rate", rate(delta[CT_TX], interval_s), 1);
	json_double(o, "rx_rate", rate(delta[CT_RX], interval_s), 1);
}

static void json_procs(FILE *f, const struct ct_acct *a,
		       const struct ct_top_state *st)
{
	struct ct_proc *p;
	int n = ct_acct_procs(a, &p);
	bool first = true;

	fputs(",\"processes\":[", f);
	for (int i = 0; i < n; i++) {
		struct json_obj o;

		if (!proc_match(&st->filter, &p[i]))
			continue;
		if (!first)
			fputc(',', f);
		first = false;
		json_begin(&o, f);
		json_u64(&o, "pid", p[i].pid);
		json_str(&o, "comm", p[i].comm);
		json_u64(&o, "conns", p[i].nconns);
		json_pair(&o, "tx_bytes", "rx_bytes", p[i].total);
		json_rates(&o, p[i].delta, a->interval_s);
		json_end(&o);
	}
	fputc(']', f);
	if (n >= 0)
		free(p);
}

static void json_check(struct json_obj *o, const struct ct_share *s)
{
	if (!s->checked)
		return;
	json_u64(o, "kernel_tx_bytes", s->kernel[CT_TX]);
	json_u64(o, "kernel_rx_bytes", s->kernel[CT_RX]);
	json_bool(o, "kernel_agrees", s->check_ok);
}

static void json_share(FILE *f, const struct ct_share *s, double interval_s)
{
	char addr[CT_ADDR_STR_LEN], sk[24];
	struct json_obj o;

	json_begin(&o, f);
	/* Never a process we are not sure of. */
	if (s->pid) {
		json_u64(&o, "pid", s->pid);
		json_str(&o, "comm", s->k.comm);
	} else {
		json_null(&o, "pid");
		json_null(&o, "comm");
	}
	json_str(&o, "proto", proto_name(s->k.proto));
	json_str(&o, "family", s->k.family == AF_INET6 ? "ipv6" : "ipv4");
	json_str(&o, "laddr", ct_addr_str(s->k.family, s->k.saddr, addr, sizeof(addr)));
	json_u64(&o, "lport", s->k.sport);
	json_str(&o, "raddr", ct_addr_str(s->k.family, s->k.daddr, addr, sizeof(addr)));
	json_u64(&o, "rport", s->k.dport);
	json_u64(&o, "netns", s->k.netns);
	snprintf(sk, sizeof(sk), "0x%llx", (unsigned long long)s->key.skaddr);
	json_str(&o, "sock", sk);
	json_pair(&o, "tx_bytes", "rx_bytes", s->total);
	json_u64(&o, "tx_calls", s->k.calls[CT_TX]);
	json_u64(&o, "rx_calls", s->k.calls[CT_RX]);
	json_rates(&o, s->delta, interval_s);
	json_bool(&o, "closed", s->closed_ns != 0);
	json_bool(&o, "shared", s->shared);
	json_check(&o, s);
	json_end(&o);
}

static void json_hosts(FILE *f, const struct ct_acct *a)
{
	fputs(",\"hosts\":[", f);
	for (size_t i = 0; i < a->nhosts; i++) {
		const struct ct_host *h = &a->hosts[i];
		char addr[CT_ADDR_STR_LEN], key[16];
		struct json_obj o;

		if (i)
			fputc(',', f);
		json_begin(&o, f);
		json_str(&o, "raddr", ct_addr_str(h->family, h->addr, addr, sizeof(addr)));
		json_u64(&o, "conns", h->nconns);
		json_pair(&o, "tx_bytes", "rx_bytes", h->total);
		for (int k = 0; k < CT_WINDOWS; k++) {
			snprintf(key, sizeof(key), "tx_rate_%us", ct_window_s[k]);
			json_double(&o, key, h->avg[k][CT_TX], 1);
			snprintf(key, sizeof(key), "rx_rate_%us", ct_window_s[k]);
			json_double(&o, key, h->avg[k][CT_RX], 1);
		}
		json_end(&o);
	}
	fputc(']', f);
}

void ct_top_json(FILE *f, const struct ct_acct *a,
		 const struct ct_top_state *st, uint64_t wall_ns,
		 uint64_t evicted, uint64_t lost)
{
	char t[40];
	struct json_obj o;
	bool first = true;

	json_begin(&o, f);
	json_str(&o, "time", ct_iso_time_str(wall_ns, t, sizeof(t)));
	json_double(&o, "interval_s", a->interval_s, 3);
	json_u64(&o, "evicted", evicted);
	json_u64(&o, "lost", lost);
	json_procs(f, a, st);
	fputs(",\"connections\":[", f);
	for (size_t i = 0; i < a->nshares; i++) {
		if (!ct_share_match(&st->filter, &a->shares[i]))
			continue;
		if (!first)
			fputc(',', f);
		first = false;
		json_share(f, &a->shares[i], a->interval_s);
	}
	fputc(']', f);
	json_hosts(f, a);
	json_end(&o);
	fputc('\n', f);
}
