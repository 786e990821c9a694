// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#define _GNU_SOURCE
#include "engine/diag.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/netns.h"

int ct_diag_init(struct ct_diag *d)
{
	d->answers = NULL;
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
	free(d->answers);
	d->answers = NULL;
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

/* A request's room in a batch, and an answer's (a lookup's is < 300 bytes). */
#define REQ_SIZE NLMSG_ALIGN(NLMSG_HDRLEN + sizeof(struct inet_diag_req_v2))
#define ANSWER_SIZE 1024

/* What one answer says of the lookup it answers: a state or -errno. */
static int answer_state(const struct nlmsghdr *nlh)
{
	const struct inet_diag_msg *msg = mnl_nlmsg_get_payload(nlh);
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type == NLMSG_ERROR) {
		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)) ||
		    e->error >= 0 || e->error <= -4096)
			return -EBADMSG;
		return e->error;
	}
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*msg)))
		return -EBADMSG;
	return msg->idiag_state;
}

/* Takes the answers in one datagram that are to this batch's requests. */
static size_t take_answers(const char *buf, size_t len, uint32_t portid,
			   uint32_t seq0, size_t n, int *states)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int rem = (int)len;
	size_t got = 0;

	if (len > ANSWER_SIZE || !lengths_fit(buf, len))
		return 0;
	for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
		uint32_t i = nlh->nlmsg_seq - seq0;

		/* Late answers to an earlier request are not ours. */
		if (!mnl_nlmsg_portid_ok(nlh, portid) || i >= n ||
		    states[i] != -ENOBUFS)
			continue;
		states[i] = answer_state(nlh);
		got++;
	}
	return got;
}

/* Reads what the kernel answered, all of it queued by the time send returns. */
static void read_answers(struct ct_diag *d, int fd, uint32_t portid,
			 uint32_t seq0, size_t n, int *states)
{
	struct mmsghdr mh[CT_DIAG_BATCH];
	struct iovec iov[CT_DIAG_BATCH];
	size_t left = n, tries = n + 2;
	int got;

	for (size_t i = 0; i < n; i++) {
		iov[i].iov_base = d->answers + i * ANSWER_SIZE;
		iov[i].iov_len = ANSWER_SIZE;
		memset(&mh[i], 0, sizeof(mh[i]));
		mh[i].msg_hdr.msg_iov = &iov[i];
		mh[i].msg_hdr.msg_iovlen = 1;
	}
	/* Each pass reads one answer at least; an overrun is said once. */
	while (left && tries--) {
		got = recvmmsg(fd, mh, (unsigned int)left, MSG_DONTWAIT, NULL);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && errno == ENOBUFS)
			continue;
		if (got <= 0)
			return;
		for (int i = 0; i < got; i++) {
			size_t took = take_answers(iov[i].iov_base, mh[i].msg_len,
						   portid, seq0, n, states);

			left -= took < left ? took : left;
		}
	}
}

void ct_diag_states(struct ct_diag *d, const struct ct_tuple *t, size_t n,
		    int *states)
{
	char req[CT_DIAG_BATCH * REQ_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct mnl_socket *nl;
	uint32_t seq0 = 0;
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		states[i] = -ENOBUFS;
	if (!n || n > CT_DIAG_BATCH)
		return;
	nl = ct_diag_sock(d, t[0].netns);
	if (!nl || (!d->answers &&
		    !(d->answers = malloc(CT_DIAG_BATCH * ANSWER_SIZE)))) {
		for (size_t i = 0; i < n; i++)
			states[i] = nl ? -ENOMEM : -ENOENT;
		return;
	}
	for (size_t i = 0; i < n; i++, len += REQ_SIZE) {
		char *at = req + len;

		fill_tuple(ct_diag_request(at, t[i].family, IPPROTO_TCP, 0), &t[i]);
		if (!i)
			seq0 = ((struct nlmsghdr *)at)->nlmsg_seq;
	}
	if (mnl_socket_sendto(nl, req, len) < 0) {
		int err = -errno;

		for (size_t i = 0; i < n; i++)
			states[i] = err;
		return;
	}
	read_answers(d, mnl_socket_get_fd(nl), mnl_socket_get_portid(nl), seq0,
		     n, states);
}

int ct_diag_state(struct ct_diag *d, const struct ct_tuple *t)
{
	int state;

	ct_diag_states(d, t, 1, &state);
	return state;
}
