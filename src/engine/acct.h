/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Byte accounting in user space: turns successive snapshots of the kernel's
 * per-(socket, process) counters into cumulative totals, per-interval rates,
 * and the three views of `conntrace top`.
 *
 * Snapshots are kept sorted by key, so two of them are compared by one
 * merge: entries in both gained bytes, entries only in the new one are new,
 * entries only in the old one are gone (closed and collected, or evicted).
 */
#ifndef CT_ACCT_H
#define CT_ACCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conntrace.h"
#include "lib/u64map.h"

/* iftop's windows for the hosts view, in seconds. */
#define CT_WINDOWS 3
extern const unsigned ct_window_s[CT_WINDOWS];
#define CT_HISTORY 128	/* samples kept per host: 40 s at up to 3.2 Hz */
#define CT_MIN_INTERVAL_S 0.5	/* so the history always spans 40 s */

/* Where a share's counts come from, which says how they may change. */
enum ct_share_src {
	CT_SHARE_CALLS = 0,	/* per-call hooks, ct_conns: an LRU entry */
	CT_SHARE_STORAGE,	/* per-call hooks, the socket's own storage */
	CT_SHARE_SOCKET,	/* the kernel's TCP counters: never go down */
};

struct ct_share {
	/* With k.first_ns, the identity; key.pid is 0 for CT_SHARE_SOCKET. */
	struct ct_conn_key key;
	struct ct_conn k;	/* the kernel's entry at the last snapshot */
	uint32_t pid;		/* the process it is counted for; 0: unknown */
	uint8_t src;		/* enum ct_share_src */
	uint64_t ino;		/* socket inode for the owner walk; 0: none */
	bool shared;		/* several processes hold the socket */
	uint64_t total[2];	/* bytes since conntrace started, per direction */
	uint64_t delta[2];	/* bytes in the last interval */
	uint64_t idle_ns;	/* how long the counters have not moved */
	uint64_t closed_ns;	/* when the socket closed; 0 while open */
	/* top --verbose: the kernel's view of the whole socket, all processes */
	bool checked;		/* the kernel still had it */
	bool check_ok;		/* our counts and the kernel's agree */
	uint64_t kernel[2];	/* what the kernel says the processes moved */
	/*
	 * The kernel's count of the socket's retransmits (tcpi_total_retrans)
	 * and when it was read; retrans_ns 0: not read (per-call shares, a
	 * recording older than the field).
	 */
	uint64_t retrans_ns;
	uint32_t total_retrans;
};

/* How long a closed connection stays in the connections view. */
#define CT_CLOSED_LINGER_NS (5ULL * 1000000000ULL)

struct ct_proc {
	uint32_t pid;
	char comm[CT_COMM_LEN];
	uint32_t nconns;
	uint64_t total[2];
	uint64_t delta[2];
};

/* One cgroup's connections: a row of top's containers view. */
struct ct_group {
	uint64_t cgroup;	/* cgroup v2 id of the owners; 0: not known */
	uint32_t nconns;
	uint64_t total[2];
	uint64_t delta[2];
};

struct ct_host_sample {
	uint64_t ts_ns;		/* when the interval ended */
	uint64_t bytes[2];
	uint64_t start_ns;	/* when it began (the snapshot before) */
};

struct ct_host {
	uint16_t family;
	uint8_t addr[CT_ADDR_LEN];
	uint32_t nconns;
	uint64_t total[2];
	uint64_t delta[2];
	struct ct_host_sample hist[CT_HISTORY];	/* ring, newest at head-1 */
	unsigned head, len;
	double avg[CT_WINDOWS][2];	/* bytes per second over each window */
	uint64_t from_ns;	/* the accounting's first snapshot */
};

struct ct_acct {
	struct ct_share *shares;	/* sorted by key, then birth */
	size_t nshares;
	struct ct_share *ends;		/* closes read since the last update */
	size_t nends, capends;
	struct ct_host *hosts;		/* sorted by (family, addr) */
	size_t nhosts;
	struct u64map gone;		/* pid -> struct ct_proc of closed shares */
	uint64_t last_ns;		/* time of the last snapshot */
	double interval_s;		/* length of the last interval */
	uint64_t deleted;		/* entries removed from ct_conns, not evicted */
	uint64_t evicted;		/* entries the kernel's LRU dropped */
	uint64_t unclosed;		/* sockets gone without a close record */
	size_t nkernel;			/* entries in the last raw snapshot */
	/* Shares the user wants; NULL: all. Others are never accounted. */
	bool (*keep)(const struct ct_share *s, const void *ctx);
	const void *keep_ctx;
	uint64_t first_ns;		/* time of the first snapshot */
	struct u64map gone_groups;	/* cgroup + 1 -> struct ct_group, closed */
	/*
	 * Only each update's deltas are read (export): a closed share leaves
	 * at the next update, and neither the hosts' histories nor the totals
	 * of shares gone are kept, as no view reads them. Under churn the
	 * lingering closes were most of the shares, and the totals of gone
	 * shares grow with every pid that ever closed a connection.
	 */
	bool counts_only;
};

int ct_acct_init(struct ct_acct *a);
void ct_acct_free(struct ct_acct *a);

/*
 * Takes a new snapshot (any order; it is sorted here) taken at now_ns and
 * updates totals, deltas and host windows, with the closes queued since
 * the last update. Takes ownership of snap. O(n log n) in the shares.
 */
int ct_acct_update(struct ct_acct *a, struct ct_share *snap, size_t n,
		   uint64_t now_ns);

/*
 * A socket closed with these last counts (src, key, k and pid set): queued
 * in O(1), counted at the next update, then shown closed for a while.
 * Read the snapshot before the closes, so that a close is never older
 * than the snapshot it is merged with. 0 or -ENOMEM.
 */
int ct_acct_end(struct ct_acct *a, const struct ct_share *last);

/* The same, for a per-call share's close record from the kernel. */
int ct_acct_conn_end(struct ct_acct *a, const struct ct_conn_end *m);

/* Compares two keys: the sort order of shares. */
int ct_conn_key_cmp(const struct ct_conn_key *x, const struct ct_conn_key *y);


/*
 * Builds the processes view into a new array (free it): live shares plus
 * what closed shares moved. Returns the count, or -ENOMEM.
 */
int ct_acct_procs(const struct ct_acct *a, struct ct_proc **out);

/* The containers view, as ct_acct_procs() builds the processes view. */
int ct_acct_groups(const struct ct_acct *a, struct ct_group **out);

/*
 * Mean bytes per second of a host over the last `window_s` seconds: over
 * the whole intervals that reach into the window, and never over time
 * before the accounting's first snapshot (nothing was seen then).
 */
void ct_host_window(const struct ct_host *h, uint64_t now_ns,
		    unsigned window_s, double out[2]);

/*
 * Reads the kernel map into a snapshot: every entry of ct_conns, with the
 * per-process share. Returns the count or -errno; *out must be freed.
 */
int ct_acct_read_map(int map_fd, struct ct_share **out);

/*
 * Removes from the kernel the shares idle for at least idle_ns, folding
 * their last bytes in first, so that the map keeps room for live sockets.
 */
void ct_acct_collect(struct ct_acct *a, int map_fd, uint64_t idle_ns);

#endif
