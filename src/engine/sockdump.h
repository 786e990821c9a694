/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Every socket of one protocol and family in one network namespace, from
 * the kernel's socket diagnostics (NETLINK_SOCK_DIAG), as ss lists them:
 * full sockets, request sockets (SYN-RECV) and time-wait sockets.
 */
#ifndef CT_SOCKDUMP_H
#define CT_SOCKDUMP_H

#include <stdbool.h>
#include <stdint.h>

struct mnl_socket;

struct ct_tcpinfo {
	uint32_t rtt_us, rttvar_us;
	uint32_t snd_cwnd, total_retrans, retrans;
	uint64_t delivery_rate;	/* bytes per second */
	uint64_t bytes_acked, bytes_received;
};

struct ct_skmem {
	uint32_t rmem_alloc, rcvbuf, wmem_alloc, sndbuf;
	uint32_t fwd_alloc, wmem_queued, optmem, backlog, drops;
};

struct ct_sockrec {
	uint32_t netns;
	uint8_t family;
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t state;		/* kernel numbering; UDP: CLOSE or ESTABLISHED */
	uint8_t timer;		/* 0 none, 1 retransmit, 2 keepalive, 3 time-wait, 4 probe */
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport;
	uint32_t rqueue, wqueue;
	uint32_t uid;
	uint64_t inode;
	uint64_t cookie;
	uint32_t expires_ms;
	uint8_t retrans;
	bool has_info, has_mem;
	bool accepted;		/* set by the caller: local port is a listener's */
	struct ct_tcpinfo info;
	struct ct_skmem mem;
	uint64_t cgroup;	/* the socket's cgroup v2 id (its maker's); 0 */
};

typedef int (*ct_sockrec_fn)(const struct ct_sockrec *r, void *ctx);

/* The extensions to ask for: they cost the kernel time, so only on demand. */
#define CT_DUMP_INFO (1 << 0)
#define CT_DUMP_MEM (1 << 1)

/*
 * Dumps sockets of (family, proto) whose state is in the `states` mask
 * (1 << state), calling fn for each. Returns 0 or -errno; a non-zero
 * return from fn stops the dump and is returned.
 */
int ct_sockdump(struct mnl_socket *nl, uint32_t netns, int family, int proto,
		uint32_t states, unsigned ext, ct_sockrec_fn fn, void *ctx);

/*
 * TCP sockets of one family (0: both) like ct_sockdump(), with accepted
 * set from a first dump of the namespace's listeners, and INFO asked for.
 */
int ct_sockdump_tcp(struct mnl_socket *nl, uint32_t netns, int family,
		    uint32_t states, unsigned ext, ct_sockrec_fn fn, void *ctx);

#endif
