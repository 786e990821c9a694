// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * libFuzzer target for the sock_diag answers: the input is what the kernel
 * sends back, read by the real ct_sockdump_tcp() and ct_diag_state().
 * libmnl's socket calls are replaced below, so nothing reaches a socket;
 * its parsing (mnl_cb_run, mnl_attr_parse) is the real library's.
 *
 * The bytes past what a read returned are poisoned for AddressSanitizer,
 * so a callback that trusts a length and reads on is caught even though
 * the receive buffer is larger than the answer.
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <netinet/in.h>
#include <sanitizer/asan_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/diag.h"
#include "engine/sockdump.h"

/* Any non-NULL pointer: the replaced calls never look inside. */
static struct mnl_socket *const fake_nl = (struct mnl_socket *)&fake_nl;

static const uint8_t *answer;
static size_t answer_len;
static int reads;

ssize_t mnl_socket_sendto(const struct mnl_socket *nl, const void *buf,
			  size_t len)
{
	(void)nl;
	(void)buf;
	reads = 0;
	return (ssize_t)len;
}

/* 0: mnl_cb_run() then takes answers from any port. */
unsigned int mnl_socket_get_portid(const struct mnl_socket *nl)
{
	(void)nl;
	return 0;
}

/* A dump that never says it is done: the kernel's NLMSG_DONE. */
static size_t put_done(void *buf)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = NLMSG_DONE;
	*(int *)mnl_nlmsg_put_extra_header(nlh, sizeof(int)) = 0;
	return nlh->nlmsg_len;
}

/* First the input, then NLMSG_DONE, then an error: every loop ends. */
ssize_t mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf,
			    size_t bufsiz)
{
	size_t n;

	(void)nl;
	ASAN_UNPOISON_MEMORY_REGION(buf, bufsiz);
	switch (reads++) {
	case 0:
		n = answer_len < bufsiz ? answer_len : bufsiz;
		memcpy(buf, answer, n);
		break;
	case 1:
		n = put_done(buf);
		break;
	default:
		errno = EIO;
		return -1;
	}
	ASAN_POISON_MEMORY_REGION((char *)buf + n, bufsiz - n);
	return (ssize_t)n;
}

static void must(int cond, const char *what)
{
	if (cond)
		return;
	fprintf(stderr, "fuzz_sockdiag: %s\n", what);
	abort();
}

static int on_rec(const struct ct_sockrec *r, void *ctx)
{
	(void)ctx;
	must(r->proto == IPPROTO_TCP, "record of another protocol");
	must(r->netns == 1, "record of another namespace");
	return 0;
}

static void try_state(struct ct_diag *d)
{
	struct ct_tuple t = { .netns = 1, .family = AF_INET, .sport = 80,
			      .dport = 40000 };
	int state = ct_diag_state(d, &t);

	/* A state byte, or -errno: nothing in between is an answer. */
	must(state >= -4095 && state <= 255, "state out of range");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ct_diag diag;
	static int ready;
	int created;

	if (!ready) {
		/* Namespace 1's socket is ours, so nothing is opened. */
		must(!ct_diag_init(&diag), "ct_diag_init");
		*(struct mnl_socket **)u64map_put(&diag.socks, 2, &created) =
			fake_nl;
		ready = 1;
	}
	answer = data;
	answer_len = size;
	ct_sockdump_tcp(fake_nl, 1, 0, ~0u, CT_DUMP_INFO | CT_DUMP_MEM, on_rec,
			NULL);
	try_state(&diag);
	return 0;
}
