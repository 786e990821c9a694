/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Exact lookups of one TCP connection through NETLINK_SOCK_DIAG, as ss
 * does. The state tracepoint cannot see time-wait mini-sockets; this can.
 */
#ifndef CT_DIAG_H
#define CT_DIAG_H

#include <stdint.h>

#include "lib/u64map.h"

struct ct_diag {
	struct u64map socks;	/* netns inode -> struct mnl_socket * */
	char *answers;		/* ct_diag_states()'s, allocated on first use */
};

/*
 * Most lookups sent at once. Their answers wait on the socket together,
 * well within its default receive buffer (about 1 KiB each of 208 KiB).
 */
#define CT_DIAG_BATCH 64

struct ct_tuple {
	uint32_t netns;
	uint16_t family;
	uint16_t sport;
	uint16_t dport;
	uint8_t saddr[16];
	uint8_t daddr[16];
};

struct mnl_socket;
struct nlmsghdr;
struct inet_diag_req_v2;

/* What ct_diag_talk() calls for each answer: libmnl's mnl_cb_t. */
typedef int (*ct_diag_cb)(const struct nlmsghdr *nlh, void *data);

/*
 * Starts a SOCK_DIAG_BY_FAMILY request in buf (NLM_F_REQUEST plus flags),
 * with a sequence number never used before, and returns its body.
 */
struct inet_diag_req_v2 *ct_diag_request(char *buf, int family, int proto,
					 uint16_t flags);

/*
 * Sends the request in buf and runs cb over every answer, skipping late
 * answers to earlier requests. 0, or -errno (the kernel's error too).
 */
int ct_diag_talk(struct mnl_socket *nl, char *buf, ct_diag_cb cb, void *data);

int ct_diag_init(struct ct_diag *d);

/*
 * The sock_diag netlink socket for a network namespace (by inode number),
 * opened inside it on first use; NULL if it cannot be entered.
 */
struct mnl_socket *ct_diag_sock(struct ct_diag *d, uint32_t netns);
void ct_diag_free(struct ct_diag *d);

/*
 * Closes the sockets of every namespace but those of keep (keys: netns
 * inode plus one, as u64map_put() takes them). A socket holds its
 * namespace: one kept for a namespace nobody uses any more would keep
 * it, and its devices, alive.
 */
void ct_diag_keep(struct ct_diag *d, const struct u64map *keep);

/*
 * The kernel's state of the connection: for a time-wait mini-socket its
 * substate (TIME_WAIT, or FIN_WAIT2 while the peer's FIN is awaited).
 * -ENOENT if no such connection exists, other -errno on failure.
 */
int ct_diag_state(struct ct_diag *d, const struct ct_tuple *t);

/*
 * ct_diag_state() for n connections (n <= CT_DIAG_BATCH) of t[0]'s
 * namespace, all asked in one send and answered in one read: a lookup
 * per system call pair was a third of watch's time under churn.
 * states[i] is t[i]'s state or -errno; an answer that did not come is
 * -ENOBUFS.
 */
void ct_diag_states(struct ct_diag *d, const struct ct_tuple *t, size_t n,
		    int *states);

#endif
