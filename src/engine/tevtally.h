/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * What went wrong so far, counted from the event stream for the live
 * views: retransmits, resets and drops per socket and per owning process,
 * and connect latency per remote host (for its percentiles).
 */
#ifndef CT_TEVTALLY_H
#define CT_TEVTALLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/tcpev.h"
#include "lib/u64map.h"

struct ct_tally_counts {
	uint64_t n[CT_TALLY_COLS];
};

/* One socket's counts; a new cookie at the same address starts over. */
struct ct_tally_sock {
	uint64_t cookie;
	uint64_t first_ns;	/* its first event: never before its birth */
	uint64_t last_ns;	/* its last event, or when a view last had it */
	struct ct_tally_counts c;
	/*
	 * Retransmits the kernel counted that no event of ours brought (those
	 * before we started, or lost in a full ring): its total_retrans as
	 * read at base_ns, less the events counted by then. It goes down as
	 * events older than base_ns come in late from the ring, so it may
	 * be negative for a while.
	 */
	int64_t base;
	uint64_t base_ns;	/* 0: the kernel's count never read */
	uint32_t base_pid;	/* the process the base counts for; 0: nobody */
	uint64_t retrans_ns;	/* its latest retransmit event */
};

/* The connect latencies kept per host, for the percentiles. */
#define CT_LAT_KEEP 512

struct ct_lat_stats {
	uint16_t family;
	uint8_t addr[CT_ADDR_LEN];
	uint64_t count;		/* every connect seen */
	uint64_t max_ns;
	uint64_t kept[CT_LAT_KEEP];	/* the last CT_LAT_KEEP, a ring */
};

/* Hosts at most: a scan of many addresses must not grow memory without end. */
#define CT_LAT_MAX_HOSTS 4096

/*
 * A SYN-ACK is sent again by the request socket, before the connection's
 * socket exists: its count waits under the connection's addresses, for
 * the socket that the handshake makes (whose tcpi_total_retrans has it).
 */
#define CT_TALLY_REQ_BEFORE_NS (120ULL * 1000000000ULL)

struct ct_tally {
	struct u64map socks;	/* skaddr -> struct ct_tally_sock */
	struct u64map reqs;	/* hash of the addresses -> struct ct_tally_sock */
	struct u64map procs;	/* pid -> struct ct_tally_counts */
	struct ct_lat_stats *hosts;
	size_t nhosts, caphosts;
	unsigned int missing;	/* 1 << enum ct_tally_col: no hook for it */
	uint64_t untracked;	/* events not counted: no memory, or too many hosts */
};

int ct_tally_init(struct ct_tally *t);
void ct_tally_free(struct ct_tally *t);

/* Counts one event under its socket, its owner and, for latency, its host. */
void ct_tally_add(struct ct_tally *t, const struct ct_tev_line *l);

/*
 * The counts of the socket at skaddr born at born_ns (0: before us), with
 * these addresses (k: its netns, family, addresses and ports; NULL: none),
 * its request's SYN-ACKs included. A socket that had none, or whose entry
 * belongs to an earlier socket at the same address, gets zeros.
 */
void ct_tally_sock(const struct ct_tally *t, uint64_t skaddr, uint64_t born_ns,
		   const struct ct_conn *k, struct ct_tally_counts *out);
void ct_tally_proc(const struct ct_tally *t, uint32_t pid,
		   struct ct_tally_counts *out);

/*
 * What the kernel itself counted for a socket: tcp_sock.total_retrans,
 * read at read_ns (CLOCK_MONOTONIC, with the socket locked, as the
 * retransmit hook runs): at a walk of the sockets or at its CLOSE.
 */
struct ct_tally_read {
	uint64_t skaddr;
	uint64_t born_ns;		/* 0: born before us */
	const struct ct_conn *k;	/* its addresses, for its request's SYN-ACKs */
	uint32_t pid;			/* its owner; 0: unknown (keeps the last) */
	uint64_t read_ns;
	uint64_t total_retrans;
};

/*
 * Makes the socket's retransmits the kernel's lifetime count as of the
 * read, and its process's with it; the events after the read add to it.
 * A read older than the last one, or than an event already counted, is
 * passed over.
 */
void ct_tally_kernel(struct ct_tally *t, const struct ct_tally_read *r);

/* A view still shows the socket at skaddr (addresses k): its counts are kept. */
void ct_tally_touch(struct ct_tally *t, uint64_t skaddr,
		    const struct ct_conn *k, uint64_t now_ns);

/*
 * Forgets sockets neither an event nor ct_tally_touch() mentioned since
 * before_ns, so that memory follows the live sockets. 0 or -ENOMEM.
 */
int ct_tally_prune(struct ct_tally *t, uint64_t before_ns);

/*
 * The p-th percentile (0 < p <= 100) of a host's kept latencies, in ns,
 * nearest rank; 0 without any.
 */
uint64_t ct_lat_percentile(const struct ct_lat_stats *h, double p);

#endif
