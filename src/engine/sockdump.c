// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/sockdump.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/diag.h"
#include "lib/u64map.h"

struct dump_ctx {
	uint32_t netns;
	int proto;
	ct_sockrec_fn fn;
	void *ctx;
	int ret;
};

static void copy_info(struct ct_sockrec *r, const void *data, size_t len)
{
	struct tcp_info ti;

	/* Older kernels send a shorter struct: the rest stays zero. */
	if (len < sizeof(ti))
		memset(&ti, 0, sizeof(ti));
	memcpy(&ti, data, len < sizeof(ti) ? len : sizeof(ti));
	r->has_info = true;
	r->info.rtt_us = ti.tcpi_rtt;
	r->info.rttvar_us = ti.tcpi_rttvar;
	r->info.snd_cwnd = ti.tcpi_snd_cwnd;
	r->info.total_retrans = ti.tcpi_total_retrans;
	r->info.retrans = ti.tcpi_retrans;
	r->info.delivery_rate = ti.tcpi_delivery_rate;
	r->info.bytes_acked = ti.tcpi_bytes_acked;
	r->info.bytes_received = ti.tcpi_bytes_received;
}

static void copy_mem(struct ct_sockrec *r, const uint32_t *m, size_t len)
{
	uint32_t v[SK_MEMINFO_VARS] = { 0 };

	memcpy(v, m, len < sizeof(v) ? len : sizeof(v));
	r->has_mem = true;
	r->mem = (struct ct_skmem){
		.rmem_alloc = v[SK_MEMINFO_RMEM_ALLOC],
		.rcvbuf = v[SK_MEMINFO_RCVBUF],
		.wmem_alloc = v[SK_MEMINFO_WMEM_ALLOC],
		.sndbuf = v[SK_MEMINFO_SNDBUF],
		.fwd_alloc = v[SK_MEMINFO_FWD_ALLOC],
		.wmem_queued = v[SK_MEMINFO_WMEM_QUEUED],
		.optmem = v[SK_MEMINFO_OPTMEM],
		.backlog = v[SK_MEMINFO_BACKLOG],
		.drops = v[SK_MEMINFO_DROPS],
	};
}

static int attr_cb(const struct nlattr *a, void *data)
{
	struct ct_sockrec *r = data;
	size_t len = mnl_attr_get_payload_len(a);

	if (mnl_attr_get_type(a) == INET_DIAG_INFO)
		copy_info(r, mnl_attr_get_payload(a), len);
	else if (mnl_attr_get_type(a) == INET_DIAG_SKMEMINFO)
		copy_mem(r, mnl_attr_get_payload(a), len);
	/* Sent unasked since Linux 5.7, as ss shows it. */
	else if (mnl_attr_get_type(a) == INET_DIAG_CGROUP_ID &&
		 len >= sizeof(uint64_t))
		memcpy(&r->cgroup, mnl_attr_get_payload(a), sizeof(r->cgroup));
	return MNL_CB_OK;
}

static void fill_rec(struct ct_sockrec *r, const struct inet_diag_msg *m,
		     const struct dump_ctx *d)
{
	size_t alen = m->idiag_family == AF_INET ? 4 : 16;

	memset(r, 0, sizeof(*r));
	r->netns = d->netns;
	r->family = m->idiag_family;
	r->proto = (uint8_t)d->proto;
	r->state = m->idiag_state;
	r->timer = m->idiag_timer;
	r->retrans = m->idiag_retrans;
	r->expires_ms = m->idiag_expires;
	memcpy(r->saddr, m->id.idiag_src, alen);
	memcpy(r->daddr, m->id.idiag_dst, alen);
	r->sport = ntohs(m->id.idiag_sport);
	r->dport = ntohs(m->id.idiag_dport);
	r->rqueue = m->idiag_rqueue;
	r->wqueue = m->idiag_wqueue;
	r->uid = m->idiag_uid;
	r->inode = m->idiag_inode;
	r->cookie = (uint64_t)m->id.idiag_cookie[1] << 32 | m->id.idiag_cookie[0];
}

static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *d = data;
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct ct_sockrec r;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*m)))
		return MNL_CB_OK;
	fill_rec(&r, m, d);
	mnl_attr_parse(nlh, sizeof(*m), attr_cb, &r);
	d->ret = d->fn(&r, d->ctx);
	return d->ret ? MNL_CB_STOP : MNL_CB_OK;
}

int ct_sockdump(struct mnl_socket *nl, uint32_t netns, int family, int proto,
		uint32_t states, unsigned ext, ct_sockrec_fn fn, void *ctx)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct dump_ctx d = { netns, proto, fn, ctx, 0 };
	struct inet_diag_req_v2 *req;
	int ret;

	req = ct_diag_request(buf, family, proto, NLM_F_DUMP);
	req->idiag_states = states;
	if (ext & CT_DUMP_INFO)
		req->idiag_ext |= 1 << (INET_DIAG_INFO - 1);
	if (ext & CT_DUMP_MEM)
		req->idiag_ext |= 1 << (INET_DIAG_SKMEMINFO - 1);
	ret = ct_diag_talk(nl, buf, msg_cb, &d);
	if (d.ret)
		return d.ret;
	/* A protocol the kernel does not have (no IPv6, no UDP diag) is empty. */
	return ret == -ENOENT ? 0 : ret;
}

struct tcp_ctx {
	struct u64map ports;	/* ports with a listener */
	ct_sockrec_fn fn;
	void *ctx;
};

static uint64_t port_key(int family, uint16_t port)
{
	return ((uint64_t)family << 16 | port) + 1;
}

static int on_listener(const struct ct_sockrec *r, void *ctx)
{
	struct tcp_ctx *t = ctx;

	return u64map_put(&t->ports, port_key(r->family, r->sport), NULL) ?
		       0 : -ENOMEM;
}

static int on_tcp(const struct ct_sockrec *r, void *ctx)
{
	struct tcp_ctx *t = ctx;
	struct ct_sockrec c = *r;

	c.accepted = u64map_get(&t->ports, port_key(r->family, r->sport));
	return t->fn(&c, t->ctx);
}

/* TCP_LISTEN, numbered as the kernel does. */
#define LISTEN_MASK (1u << 10)

int ct_sockdump_tcp(struct mnl_socket *nl, uint32_t netns, int family,
		    uint32_t states, unsigned ext, ct_sockrec_fn fn, void *ctx)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	struct tcp_ctx t = { .fn = fn, .ctx = ctx };
	int rc = u64map_init(&t.ports, 1);

	/* Accepted or connected decides what bytes_acked counts. */
	for (int i = 0; !rc && i < 2; i++)
		rc = ct_sockdump(nl, netns, fams[i], IPPROTO_TCP, LISTEN_MASK, 0,
				 on_listener, &t);
	for (int i = 0; !rc && i < 2; i++)
		if (!family || family == fams[i])
			rc = ct_sockdump(nl, netns, fams[i], IPPROTO_TCP, states,
					 ext | CT_DUMP_INFO, on_tcp, &t);
	u64map_free(&t.ports);
	return rc;
}
