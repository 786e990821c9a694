// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/ls_out.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "output/format.h"
#include "output/json.h"
#include "engine/payload.h"
#include "lib/grow.h"
#include "output/strbuf.h"
#include "output/table.h"
#include "modes/cgroup_out.h"
#include "modes/ls_groups.h"

const char *ct_ls_state_name(const struct ct_sockrec *r)
{
	if (r->proto == IPPROTO_UDP)
		return r->state == TCP_ESTABLISHED ? "ESTABLISHED" : "UNCONN";
	return ct_state_name(r->state);
}

uint64_t ct_ls_cgroup(uint64_t sock_cgroup, const struct ct_holder *h)
{
	return h && h->cgroup ? h->cgroup : sock_cgroup;
}

static const char *netid(const struct ct_sockrec *r)
{
	return r->proto == IPPROTO_UDP ? "udp" : "tcp";
}

static const char *timer_name(uint8_t t)
{
	static const char *const names[] = { "off", "on", "keepalive",
					     "timewait", "persist" };

	return t < 5 ? names[t] : "unknown";
}

/* ss's columns; the owner and the extras follow, outside the table. */
static const struct ct_col ls_cols[] = {
	{ "Netns", CT_LEFT, 10, 0 },
	{ "Netid", CT_LEFT, 5, 0 },
	{ "State", CT_LEFT, 11, 0 },
	{ "Recv-Q", CT_RIGHT, 6, 0 },
	{ "Send-Q", CT_RIGHT, 6, 0 },
	{ "Local Address:Port", CT_LEFT, 27, 0 },
	{ "Peer Address:Port", CT_LEFT, 27, 0 },
	{ "Sent", CT_RIGHT, 12, 0 },
	{ "Received", CT_RIGHT, 12, 0 },
	/* -T only: they are the last, so without it the table stops short. */
	{ "Retrans", CT_RIGHT, 7, 0 },
	{ "Drops", CT_RIGHT, 5, 0 },
};
#define TROUBLE_COLS 2

void ct_ls_out_init(struct ct_ls_out *lo, FILE *f, const struct ct_ls_opts *o,
		    bool show_netns)
{
	int skip = show_netns ? 0 : 1;	/* the Netns column */
	int n = (int)(sizeof(ls_cols) / sizeof(ls_cols[0])) - skip;

	lo->f = f;
	lo->o = o;
	lo->show_netns = show_netns;
	lo->held = NULL;
	lo->text = NULL;
	lo->recs = NULL;
	lo->nheld = lo->capheld = lo->ntext = lo->captext = 0;
	lo->nrecs = lo->caprecs = 0;
	lo->resolver = NULL;
	lo->time = NULL;
	ct_cols_init(&lo->cols, ls_cols + skip,
		     o->trouble ? n : n - TROUBLE_COLS);
	json_init(&lo->json, f);
}

void ct_ls_header(struct ct_ls_out *lo)
{
	struct ct_strbuf b;

	if (lo->o->json || lo->o->summary)
		return;
	ct_sb_reset(&b);
	ct_cols_header(&lo->cols, &b);
	if (lo->o->procs)
		ct_sb_str(&b, " PID/Program");
	ct_sb_str(&b, " Container");
	ct_sb_char(&b, '\n');
	fwrite(b.buf, 1, b.len, lo->f);
}

static void text_extras(struct ct_strbuf *b, const struct ct_ls_opts *o,
			const struct ct_sockrec *r)
{
	if (o->ext)
		ct_sb_printf(b, " uid:%u ino:%" PRIu64 " sk:%" PRIx64, r->uid,
			     r->inode, r->cookie);
	if (o->timers && r->timer)
		ct_sb_printf(b, " timer:(%s,%ums,%u)", timer_name(r->timer),
			     r->expires_ms, r->retrans);
	if (o->info && r->has_info)
		ct_sb_printf(b, " rtt:%.3f/%.3f cwnd:%u retrans:%u/%u rate:%" PRIu64 "B/s",
			     r->info.rtt_us / 1000.0, r->info.rttvar_us / 1000.0,
			     r->info.snd_cwnd, r->info.retrans,
			     r->info.total_retrans, r->info.delivery_rate);
	if (o->mem && r->has_mem)
		ct_sb_printf(b, " skmem:(r%u,rb%u,t%u,tb%u,f%u,w%u,o%u,bl%u,d%u)",
			     r->mem.rmem_alloc, r->mem.rcvbuf, r->mem.wmem_alloc,
			     r->mem.sndbuf, r->mem.fwd_alloc, r->mem.wmem_queued,
			     r->mem.optmem, r->mem.backlog, r->mem.drops);
}

/* "host:service" for -r, else as ss prints it numerically. */
static void addr_cell(const struct ct_ls_out *lo, const struct ct_sockrec *r,
		      const uint8_t *addr, uint16_t port, struct ct_row *row)
{
	char host[256], svc[32];

	if (!lo->resolver) {
		ct_sb_addrport(&row->b, r->family, addr, port, 0);
	} else {
		ct_resolve_host(lo->resolver, r->family, addr, host, sizeof(host));
		ct_sb_str(&row->b, host);
		ct_sb_char(&row->b, ':');
		ct_sb_str(&row->b, ct_service_name(port, r->proto == IPPROTO_UDP,
						   svc, sizeof(svc)));
	}
	ct_row_end_cell(row);
}

/* A TCP connection's retransmits; "-" where tcp_info says nothing. */
static bool has_retrans(const struct ct_sockrec *r)
{
	return r->proto == IPPROTO_TCP && r->has_info && r->state != TCP_LISTEN;
}

static void trouble_cells(const struct ct_sockrec *r, struct ct_row *row)
{
	if (has_retrans(r))
		ct_row_u64(row, r->info.total_retrans);
	else
		ct_row_str(row, "-");
	if (r->has_mem)
		ct_row_u64(row, r->mem.drops);
	else
		ct_row_str(row, "-");
}

static void cells(const struct ct_ls_out *lo, const struct ct_sockrec *r,
		  struct ct_row *row)
{
	uint64_t tx, rx;

	ct_row_reset(row);
	if (lo->show_netns)
		ct_row_u64(row, r->netns);
	ct_row_str(row, netid(r));
	ct_row_str(row, ct_ls_state_name(r));
	ct_row_u64(row, r->rqueue);
	ct_row_u64(row, r->wqueue);
	addr_cell(lo, r, r->saddr, r->sport, row);
	addr_cell(lo, r, r->daddr, r->dport, row);
	if (r->has_info && r->state != TCP_LISTEN) {
		ct_sockrec_payload(r, &tx, &rx);
		ct_row_bytes(row, tx, lo->o->human);
		ct_row_bytes(row, rx, lo->o->human);
	} else {
		ct_row_str(row, "-");
		ct_row_str(row, "-");
	}
	if (lo->o->trouble)
		trouble_cells(r, row);
}

void ct_ls_fit(struct ct_ls_out *lo, const struct ct_sockrec *r)
{
	struct ct_row row;

	if (lo->o->json)
		return;
	cells(lo, r, &row);
	ct_cols_fit(&lo->cols, &row);
}

/*
 * Writes a fitted row laid out, the extras (outside the table), then the
 * owner.
 */
static void text_line(struct ct_ls_out *lo, const struct ct_row *row,
		      const char *extras, size_t extras_len,
		      const struct ct_holder *h, uint64_t cgroup)
{
	struct ct_strbuf b;

	ct_sb_reset(&b);
	ct_cols_row(&lo->cols, row, &b);
	if (extras_len) {
		fwrite(b.buf, 1, b.len, lo->f);
		fwrite(extras, 1, extras_len, lo->f);
		ct_sb_reset(&b);
	}
	if (lo->o->procs && h) {
		ct_sb_char(&b, ' ');
		ct_sb_u64(&b, h->pid, 0);
		ct_sb_char(&b, '/');
		ct_sb_strn(&b, h->comm, sizeof(h->comm) - 1);
	} else if (lo->o->procs) {
		ct_sb_str(&b, " -");
	}
	/* Last, after the owner: the columns before it stay where they were. */
	ct_sb_char(&b, ' ');
	ct_sb_str(&b, ct_container_cell(ct_ls_cgroup(cgroup, h)));
	ct_sb_char(&b, '\n');
	fwrite(b.buf, 1, b.len, lo->f);
}

static void text_row(struct ct_ls_out *lo, const struct ct_sockrec *r,
		     const struct ct_holder *h)
{
	struct ct_strbuf e;
	struct ct_row row;

	cells(lo, r, &row);
	/* A row wider than the header's columns widens them from here on. */
	ct_cols_fit(&lo->cols, &row);
	ct_sb_reset(&e);
	text_extras(&e, lo->o, r);
	text_line(lo, &row, e.buf, e.len, h, r->cgroup);
}

static void json_extras(struct json_writer *j, const struct ct_ls_opts *o,
			const struct ct_sockrec *r)
{
	if (o->ext) {
		json_u64(j, "uid", r->uid);
		json_u64(j, "inode", r->inode);
		json_u64(j, "cookie", r->cookie);
	}
	if (o->timers) {
		json_str(j, "timer", timer_name(r->timer));
		json_u64(j, "timer_ms", r->expires_ms);
		json_u64(j, "timer_retrans", r->retrans);
	}
	if (o->info && r->has_info) {
		json_double(j, "rtt_ms", r->info.rtt_us / 1000.0, 3);
		json_double(j, "rttvar_ms", r->info.rttvar_us / 1000.0, 3);
		json_u64(j, "cwnd", r->info.snd_cwnd);
		json_u64(j, "retrans", r->info.retrans);
		json_u64(j, "total_retrans", r->info.total_retrans);
		json_u64(j, "delivery_rate", r->info.delivery_rate);
	}
	/* -T's two, unless -i or -m wrote them already. */
	if (o->trouble && !(o->info && r->has_info)) {
		if (has_retrans(r))
			json_u64(j, "total_retrans", r->info.total_retrans);
		else
			json_null(j, "total_retrans");
	}
	if (o->trouble && !(o->mem && r->has_mem)) {
		if (r->has_mem)
			json_u64(j, "drops", r->mem.drops);
		else
			json_null(j, "drops");
	}
	if (o->mem && r->has_mem) {
		json_u64(j, "rmem_alloc", r->mem.rmem_alloc);
		json_u64(j, "rcvbuf", r->mem.rcvbuf);
		json_u64(j, "wmem_alloc", r->mem.wmem_alloc);
		json_u64(j, "sndbuf", r->mem.sndbuf);
		json_u64(j, "wmem_queued", r->mem.wmem_queued);
		json_u64(j, "drops", r->mem.drops);
	}
}

/* "cgroup" and "container", then "cgroup_of": whose cgroup they are. */
static void cgroup_json(struct json_writer *j, uint64_t sock_cgroup,
			const struct ct_holder *h)
{
	bool owners = h && h->cgroup;

	if (ct_cgroup_json(j, ct_ls_cgroup(sock_cgroup, h)))
		json_str(j, "cgroup_of", owners ? "owner" : "socket");
	else
		json_null(j, "cgroup_of");
}

static void json_row(struct ct_ls_out *lo, const struct ct_sockrec *r,
		     const struct ct_holder *h)
{
	struct json_writer *j = &lo->json;
	char a[CT_ADDR_STR_LEN];

	json_obj_begin(j, NULL);
	if (lo->time)
		json_str(j, "time", lo->time);
	json_str(j, "netid", netid(r));
	json_str(j, "state", ct_ls_state_name(r));
	json_str(j, "family", r->family == AF_INET6 ? "ipv6" : "ipv4");
	json_u64(j, "recv_q", r->rqueue);
	json_u64(j, "send_q", r->wqueue);
	json_str(j, "laddr", ct_addr_str(r->family, r->saddr, a, sizeof(a)));
	json_u64(j, "lport", r->sport);
	json_str(j, "raddr", ct_addr_str(r->family, r->daddr, a, sizeof(a)));
	json_u64(j, "rport", r->dport);
	json_u64(j, "netns", r->netns);
	cgroup_json(j, r->cgroup, h);
	ct_netns_name_json(j, r->netns);
	if (r->has_info && r->state != TCP_LISTEN) {
		uint64_t tx, rx;

		ct_sockrec_payload(r, &tx, &rx);
		json_u64(j, "tx_bytes", tx);
		json_u64(j, "rx_bytes", rx);
	}
	json_extras(j, lo->o, r);
	if (lo->o->procs && h) {
		json_u64(j, "pid", h->pid);
		json_str(j, "comm", h->comm);
	} else {
		json_null(j, "pid");
		json_null(j, "comm");
	}
	json_obj_end(j);
}

void ct_ls_row(struct ct_ls_out *lo, const struct ct_sockrec *r,
	       const struct ct_holder *h)
{
	if (lo->o->json)
		json_row(lo, r, h);
	else
		text_row(lo, r, h);
}

/* A text row's cells and extras go in once; it is laid out from them. */
static int hold_text(struct ct_ls_out *lo, const struct ct_sockrec *r)
{
	struct ct_ls_held *h;
	struct ct_strbuf e;
	struct ct_row row;
	size_t need;

	cells(lo, r, &row);
	ct_cols_fit(&lo->cols, &row);
	ct_sb_reset(&e);
	text_extras(&e, lo->o, r);
	need = lo->ntext + row.b.len + e.len;
	if (ct_grow((void **)&lo->held, &lo->capheld, lo->nheld, sizeof(*lo->held)))
		return -ENOMEM;
	while (need > lo->captext)
		if (ct_grow((void **)&lo->text, &lo->captext, lo->captext, 1))
			return -ENOMEM;
	h = &lo->held[lo->nheld++];
	h->inode = r->inode;
	h->cgroup = r->cgroup;
	h->off = lo->ntext;
	h->cells_len = (uint16_t)row.b.len;
	h->extras_len = (uint16_t)e.len;
	h->n = (uint8_t)row.n;
	memcpy(h->end, row.end, sizeof(h->end));
	memcpy(lo->text + lo->ntext, row.b.buf, row.b.len);
	memcpy(lo->text + lo->ntext + row.b.len, e.buf, e.len);
	lo->ntext = need;
	return 0;
}

/* A JSON row waits whole: only its owner is missing. */
static int hold_json(struct ct_ls_out *lo, const struct ct_sockrec *r)
{
	if (ct_grow((void **)&lo->recs, &lo->caprecs, lo->nrecs, sizeof(*lo->recs)))
		return -ENOMEM;
	lo->recs[lo->nrecs++] = *r;
	return 0;
}

int ct_ls_hold(struct ct_ls_out *lo, const struct ct_sockrec *r)
{
	return lo->o->json ? hold_json(lo, r) : hold_text(lo, r);
}

size_t ct_ls_nheld(const struct ct_ls_out *lo)
{
	return lo->nheld + lo->nrecs;
}

static void write_held_text(struct ct_ls_out *lo, ct_ls_owner_fn owner,
			    void *ctx)
{
	struct ct_row row;

	for (size_t i = 0; i < lo->nheld; i++) {
		const struct ct_ls_held *h = &lo->held[i];
		const char *t = lo->text + h->off;

		memcpy(row.b.buf, t, h->cells_len);
		row.b.len = h->cells_len;
		memcpy(row.end, h->end, sizeof(row.end));
		row.n = h->n;
		text_line(lo, &row, t + h->cells_len, h->extras_len,
			  owner(ctx, h->inode), h->cgroup);
	}
}

void ct_ls_write_held(struct ct_ls_out *lo, ct_ls_owner_fn owner, void *ctx)
{
	ct_ls_header(lo);
	write_held_text(lo, owner, ctx);
	for (size_t i = 0; i < lo->nrecs; i++)
		json_row(lo, &lo->recs[i], owner(ctx, lo->recs[i].inode));
	ct_ls_out_free(lo);
}

void ct_ls_out_free(struct ct_ls_out *lo)
{
	free(lo->held);
	free(lo->text);
	free(lo->recs);
	lo->held = NULL;
	lo->text = NULL;
	lo->recs = NULL;
	lo->nheld = lo->capheld = lo->ntext = lo->captext = 0;
	lo->nrecs = lo->caprecs = 0;
}

void ct_ls_count(struct ct_ls_summary *s, const struct ct_sockrec *r)
{
	int udp = r->proto == IPPROTO_UDP;

	(udp ? s->udp_states : s->tcp_states)[r->state & 15]++;
	s->total[udp][r->family == AF_INET6]++;
}

/* Indices of the non-zero states, most sockets first, as sort | uniq -c. */
static int by_count(const uint64_t *counts, int *order)
{
	int n = 0;

	for (int st = 0; st < 16; st++)
		if (counts[st])
			order[n++] = st;
	for (int i = 1; i < n; i++)
		for (int k = i; k > 0 && counts[order[k]] > counts[order[k - 1]]; k--) {
			int t = order[k];

			order[k] = order[k - 1];
			order[k - 1] = t;
		}
	return n;
}

static void summary_json(FILE *f, const struct ct_ls_summary *s,
			 const int *order, int n)
{
	struct json_writer j;

	json_init(&j, f);
	json_obj_begin(&j, NULL);
	json_obj_begin(&j, "states");
	for (int i = 0; i < n; i++)
		json_u64(&j, ct_state_name(order[i]), s->tcp_states[order[i]]);
	json_obj_end(&j);
	json_u64(&j, "tcp_ipv4", s->total[0][0]);
	json_u64(&j, "tcp_ipv6", s->total[0][1]);
	json_u64(&j, "udp_ipv4", s->total[1][0]);
	json_u64(&j, "udp_ipv6", s->total[1][1]);
	if (s->groups)
		ct_ls_groups_json(&j, s->groups);
	json_obj_end(&j);
}

static const struct ct_col summary_cols[] = {
	{ "COUNT", CT_RIGHT, 8, 0 },
	{ "TCP STATE", CT_LEFT, 0, 0 },
};

static void summary_cells(struct ct_row *row, const struct ct_ls_summary *s,
			  int state)
{
	ct_row_reset(row);
	ct_row_u64(row, s->tcp_states[state]);
	ct_row_str(row, ct_state_name(state));
}

void ct_ls_print_summary(FILE *f, const struct ct_ls_summary *s, bool json)
{
	int order[16], n = by_count(s->tcp_states, order);
	struct ct_cols c;
	struct ct_row row;

	if (json) {
		summary_json(f, s, order, n);
		return;
	}
	ct_cols_init(&c, summary_cols, 2);
	for (int i = 0; i < n; i++) {
		summary_cells(&row, s, order[i]);
		ct_cols_fit(&c, &row);
	}
	ct_cols_write(f, &c, NULL);
	for (int i = 0; i < n; i++) {
		summary_cells(&row, s, order[i]);
		ct_cols_write(f, &c, &row);
	}
	fprintf(f, "\nTCP: %" PRIu64 " (IPv4 %" PRIu64 ", IPv6 %" PRIu64 ")"
		   "  UDP: %" PRIu64 " (IPv4 %" PRIu64 ", IPv6 %" PRIu64 ")\n",
		s->total[0][0] + s->total[0][1], s->total[0][0], s->total[0][1],
		s->total[1][0] + s->total[1][1], s->total[1][0], s->total[1][1]);
	if (s->groups) {
		fputc('\n', f);
		ct_ls_groups_print(f, s->groups);
	}
}
