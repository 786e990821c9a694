// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/ls_out.h"

#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "output/format.h"
#include "output/json.h"
#include "engine/payload.h"
#include "output/strbuf.h"

#define ADDR_W 27

const char *ct_ls_state_name(const struct ct_sockrec *r)
{
	if (r->proto == IPPROTO_UDP)
		return r->state == TCP_ESTABLISHED ? "ESTABLISHED" : "UNCONN";
	return ct_state_name(r->state);
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

void ct_ls_header(FILE *f, const struct ct_ls_opts *o, bool show_netns)
{
	if (o->json || o->summary)
		return;
	if (show_netns)
		fprintf(f, "%-10s ", "Netns");
	fprintf(f, "%-5s %-11s %6s %6s %-*s %-*s %12s %12s", "Netid", "State",
		"Recv-Q", "Send-Q", ADDR_W, "Local Address:Port", ADDR_W,
		"Peer Address:Port", "Sent", "Received");
	if (o->procs)
		fprintf(f, " %s", "PID/Program");
	fputc('\n', f);
}

static void text_extras(FILE *f, const struct ct_ls_opts *o,
			const struct ct_sockrec *r)
{
	if (o->ext)
		fprintf(f, " uid:%u ino:%" PRIu64 " sk:%" PRIx64, r->uid, r->inode,
			r->cookie);
	if (o->timers && r->timer)
		fprintf(f, " timer:(%s,%ums,%u)", timer_name(r->timer),
			r->expires_ms, r->retrans);
	if (o->info && r->has_info)
		fprintf(f, " rtt:%.3f/%.3f cwnd:%u retrans:%u/%u rate:%" PRIu64 "B/s",
			r->info.rtt_us / 1000.0, r->info.rttvar_us / 1000.0,
			r->info.snd_cwnd, r->info.retrans, r->info.total_retrans,
			r->info.delivery_rate);
	if (o->mem && r->has_mem)
		fprintf(f, " skmem:(r%u,rb%u,t%u,tb%u,f%u,w%u,o%u,bl%u,d%u)",
			r->mem.rmem_alloc, r->mem.rcvbuf, r->mem.wmem_alloc,
			r->mem.sndbuf, r->mem.fwd_alloc, r->mem.wmem_queued,
			r->mem.optmem, r->mem.backlog, r->mem.drops);
}

static void text_body(FILE *f, const struct ct_ls_opts *o,
		      const struct ct_sockrec *r, bool show_netns)
{
	struct ct_strbuf b;
	uint64_t tx, rx;

	ct_sb_reset(&b);
	if (show_netns) {
		ct_sb_u64(&b, r->netns, 0);
		ct_sb_left(&b, "", 10 - (int)b.len);
		ct_sb_char(&b, ' ');
	}
	ct_sb_left(&b, netid(r), 5);
	ct_sb_char(&b, ' ');
	ct_sb_left(&b, ct_ls_state_name(r), 11);
	ct_sb_u64(&b, r->rqueue, 7);
	ct_sb_u64(&b, r->wqueue, 7);
	ct_sb_char(&b, ' ');
	ct_sb_addrport(&b, r->family, r->saddr, r->sport, ADDR_W);
	ct_sb_char(&b, ' ');
	ct_sb_addrport(&b, r->family, r->daddr, r->dport, ADDR_W);
	if (r->has_info && r->state != TCP_LISTEN) {
		ct_sockrec_payload(r, &tx, &rx);
		ct_sb_u64(&b, tx, 13);
		ct_sb_u64(&b, rx, 13);
	} else {
		ct_sb_str(&b, "            -            -");
	}
	fwrite(b.buf, 1, b.len, f);
	text_extras(f, o, r);
}

static void json_extras(struct json_obj *j, const struct ct_ls_opts *o,
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
	if (o->mem && r->has_mem) {
		json_u64(j, "rmem_alloc", r->mem.rmem_alloc);
		json_u64(j, "rcvbuf", r->mem.rcvbuf);
		json_u64(j, "wmem_alloc", r->mem.wmem_alloc);
		json_u64(j, "sndbuf", r->mem.sndbuf);
		json_u64(j, "wmem_queued", r->mem.wmem_queued);
		json_u64(j, "drops", r->mem.drops);
	}
}

static void json_body(FILE *f, const struct ct_ls_opts *o,
		      const struct ct_sockrec *r)
{
	char a[CT_ADDR_STR_LEN];
	struct json_obj j;

	json_begin(&j, f);
	json_str(&j, "netid", netid(r));
	json_str(&j, "state", ct_ls_state_name(r));
	json_str(&j, "family", r->family == AF_INET6 ? "ipv6" : "ipv4");
	json_u64(&j, "recv_q", r->rqueue);
	json_u64(&j, "send_q", r->wqueue);
	json_str(&j, "laddr", ct_addr_str(r->family, r->saddr, a, sizeof(a)));
	json_u64(&j, "lport", r->sport);
	json_str(&j, "raddr", ct_addr_str(r->family, r->daddr, a, sizeof(a)));
	json_u64(&j, "rport", r->dport);
	json_u64(&j, "netns", r->netns);
	if (r->has_info && r->state != TCP_LISTEN) {
		uint64_t tx, rx;

		ct_sockrec_payload(r, &tx, &rx);
		json_u64(&j, "tx_bytes", tx);
		json_u64(&j, "rx_bytes", rx);
	}
	json_extras(&j, o, r);
}

void ct_ls_body(FILE *f, const struct ct_ls_opts *o, const struct ct_sockrec *r,
		bool show_netns)
{
	if (o->json)
		json_body(f, o, r);
	else
		text_body(f, o, r, show_netns);
}

void ct_ls_end(FILE *f, const struct ct_ls_opts *o, const struct ct_holder *h)
{
	struct ct_strbuf b;

	ct_sb_reset(&b);
	if (o->json) {
		if (h) {
			fprintf(f, ",\"pid\":%u,\"comm\":", h->pid);
			json_write_str(f, h->comm);
		} else {
			fputs(",\"pid\":null,\"comm\":null", f);
		}
		fputs("}\n", f);
		return;
	}
	if (o->procs && h) {
		ct_sb_char(&b, ' ');
		ct_sb_u64(&b, h->pid, 0);
		ct_sb_char(&b, '/');
		ct_sb_str(&b, h->comm);
	} else if (o->procs) {
		ct_sb_str(&b, " -");
	}
	ct_sb_char(&b, '\n');
	fwrite(b.buf, 1, b.len, f);
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
	struct json_obj j, st;

	json_begin(&j, f);
	json_key(&j, "states");
	json_begin(&st, f);
	for (int i = 0; i < n; i++)
		json_u64(&st, ct_state_name(order[i]), s->tcp_states[order[i]]);
	json_end(&st);
	json_u64(&j, "tcp_ipv4", s->total[0][0]);
	json_u64(&j, "tcp_ipv6", s->total[0][1]);
	json_u64(&j, "udp_ipv4", s->total[1][0]);
	json_u64(&j, "udp_ipv6", s->total[1][1]);
	json_end(&j);
	fputc('\n', f);
}

void ct_ls_print_summary(FILE *f, const struct ct_ls_summary *s, bool json)
{
	int order[16], n = by_count(s->tcp_states, order);

	if (json) {
		summary_json(f, s, order, n);
		return;
	}
	fprintf(f, "%8s %s\n", "COUNT", "TCP STATE");
	for (int i = 0; i < n; i++)
		fprintf(f, "%8" PRIu64 " %s\n", s->tcp_states[order[i]],
			ct_state_name(order[i]));
	fprintf(f, "\nTCP: %" PRIu64 " (IPv4 %" PRIu64 ", IPv6 %" PRIu64 ")"
		   "  UDP: %" PRIu64 " (IPv4 %" PRIu64 ", IPv6 %" PRIu64 ")\n",
		s->total[0][0] + s->total[0][1], s->total[0][0], s->total[0][1],
		s->total[1][0] + s->total[1][1], s->total[1][0], s->total[1][1]);
}
