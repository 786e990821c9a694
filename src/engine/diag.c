// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/diag.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/netns.h"

int ct_diag_init(struct ct_diag *d)
{
	return u64map_init(&d->socks, sizeof(struct mnl_socket *));
}

/* Closes the socket in slot i, if any, and leaves the slot NULL. */
static void close_slot(struct ct_diag *d, size_t i)
{
	struct mnl_socket **nl;

	nl = (struct mnl_socket **)(d->socks.vals + i * d->socks.val_size);
	if (*nl)
		mnl_socket_close(*nl);
	*nl = NULL;
}

static void close_all(struct ct_diag *d)
{
	for (size_t i = 0; i < d->socks.cap; i++)
		if (d->socks.keys[i])
			close_slot(d, i);
}

void ct_diag_free(struct ct_diag *d)
{
	close_all(d);
	u64map_free(&d->socks);
}

static int kept(uint64_t key, const void *val, void *keep)
{
	(void)val;
	return u64map_get(keep, key) != NULL;
}

void ct_diag_keep(struct ct_diag *d, const struct u64map *keep)
{
	for (size_t i = 0; i < d->socks.cap; i++)
		if (d->socks.keys[i] && !u64map_get(keep, d->socks.keys[i]))
			close_slot(d, i);
	if (!u64map_retain(&d->socks, kept, (void *)keep))
		return;
	/* A closed one left as NULL would read "cannot be entered": none stays. */
	close_all(d);
	u64map_clear(&d->socks);
}

static int open_diag(void *arg)
{
	struct mnl_socket **out = arg;
	struct mnl_socket *nl = mnl_socket_open(NETLINK_SOCK_DIAG);

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		mnl_socket_close(nl);
		return err;
	}
	*out = nl;
	return 0;
}

struct mnl_socket *ct_diag_sock(struct ct_diag *d, uint32_t netns)
{
	struct mnl_socket **slot, *nl = NULL;
	int created;

	slot = u64map_get(&d->socks, (uint64_t)netns + 1);
	if (slot)
		return *slot;
	/* A namespace no process or mount holds cannot be entered; remember. */
	if (ct_netns_run(netns, open_diag, &nl))
		nl = NULL;
	slot = u64map_put(&d->socks, (uint64_t)netns + 1, &created);
	if (!slot) {
		if (nl)
			mnl_socket_close(nl);
		return NULL;
	}
	*slot = nl;
	return nl;
}

struct inet_diag_req_v2 *ct_diag_request(char *buf, int family, int proto,
					 uint16_t flags)
{
	/* Never reused, so a late answer is never taken for ours. */
	static uint32_t seq;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = (uint8_t)family;
	req->sdiag_protocol = (uint8_t)proto;
	return req;
}

/* Large reads: a dump of 100,000 sockets is many messages. */
#define TALK_BUF (64 * 1024)

/*
 * mnl_cb_run() compares a message's length with what is left as an int,
 * so a length of 2^31 or more passes and the callback reads past the
 * buffer. Every length is checked here, unsigned, before a callback runs.
 */
static bool lengths_fit(const char *buf, size_t n)
{
	const struct nlmsghdr *nlh;
	size_t step;

	while (n >= sizeof(*nlh)) {
		nlh = (const struct nlmsghdr *)buf;
		if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > n)
			return false;
		step = NLMSG_ALIGN(nlh->nlmsg_len);
		if (step >= n)
			break;
		buf += step;
		n -= step;
	}
	return true;
}

int ct_diag_talk(struct mnl_socket *nl, char *buf, ct_diag_cb cb, void *data)
{
	const struct nlmsghdr *req = (const struct nlmsghdr *)buf;
	uint32_t seq = req->nlmsg_seq, portid = mnl_socket_get_portid(nl);
	/* Aligned, so that headers can be read in place. */
	char in[TALK_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0)
		return -errno;
	/* A dump comes in many reads; EPROTO is an earlier request's answer. */
	do {
		n = mnl_socket_recvfrom(nl, in, sizeof(in));
		if (n < 0)
			return -errno;
		if (!lengths_fit(in, (size_t)n))
			return -EBADMSG;
		ret = mnl_cb_run(in, (size_t)n, seq, portid, cb, data);
	} while (ret > 0 || (ret < 0 && errno == EPROTO));
	if (ret >= 0)
		return 0;
	/* libmnl passes on an NLMSG_ERROR's number as it came. */
	return errno > 0 && errno < 4096 ? -errno : -EBADMSG;
}

static void fill_tuple(struct inet_diag_req_v2 *req, const struct ct_tuple *t)
{
	req->idiag_states = ~0U;
	req->id.idiag_sport = htons(t->sport);
	req->id.idiag_dport = htons(t->dport);
	memcpy(req->id.idiag_src, t->saddr, t->family == AF_INET ? 4 : 16);
	memcpy(req->id.idiag_dst, t->daddr, t->family == AF_INET ? 4 : 16);
	req->id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	req->id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
}

static int state_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *msg = mnl_nlmsg_get_payload(nlh);

	/* The one answer to a lookup: a short one ends it too. */
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*msg))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	*(int *)data = msg->idiag_state;
	return MNL_CB_STOP;
}

int ct_diag_state(struct ct_diag *d, const struct ct_tuple *t)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = ct_diag_sock(d, t->netns);
	int state = -ENOENT, ret;

	if (!nl)
		return -ENOENT;
	fill_tuple(ct_diag_request(buf, t->family, IPPROTO_TCP, 0), t);
	ret = ct_diag_talk(nl, buf, state_cb, &state);
	return ret ? ret : state;
}
