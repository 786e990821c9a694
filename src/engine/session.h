/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * A session of the kernel side: probe the kernel, choose the hooks, load
 * and attach the programs of the choice, read what was lost, detach.
 */
#ifndef CT_SESSION_H
#define CT_SESSION_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/filter.h"
#include "engine/kernel.h"
#include "engine/losses.h"

struct conntrace_bpf;
struct bpf_link;
struct ct_cgroup_ids;

struct ct_load_opts {
	struct ct_kfilter filter;
	bool count_bytes;	/* account bytes per socket and process */
	bool io_hooks;		/* load per-call send/receive programs at all */
	bool count_tcp_calls;	/* with count_bytes: count TCP per call, not only UDP */
	bool accept_hook;	/* owners of accepted sockets at accept(), if it can */
	uint32_t max_conns;	/* size of the byte map; 0: the default */
	unsigned int tev_mask;	/* 1 << enum ct_tev_kind: events to load hooks for */
	/* With count_bytes: every transition, not only closes, and idle sockets in the walk. */
	bool all_states;
	/*
	 * With all_states: idle sockets are counted by state in the kernel
	 * (ct_walk_states) rather than each handed over by the walk.
	 */
	bool count_walk_states;
	uint32_t max_socks;	/* size of the socket map (owners); 0: the default */
	uint32_t ring_bytes;	/* size of the ring buffer; 0: CT_RINGBUF_BYTES */
	/*
	 * With ring_bytes 0: the ring holds the rate of new connections seen
	 * while starting (engine/ringsize.h), at least this; 0: no such sizing.
	 */
	uint32_t ring_floor;
};

struct ct_session {
	struct conntrace_bpf *skel;
	struct ct_probe probe;
	struct ct_hook_force force;	/* from CONNTRACE_HOOKS */
	enum ct_hook state_hook;
	enum ct_hook io_hook;	/* CT_HOOK_NONE if no I/O hook attached */
	bool sk_storage;	/* TCP byte counts in socket-local storage */
	bool owners_only;	/* just the owner walk, for ls: no maps */
	bool want_accept;	/* load the accept hook */
	bool accept_hook;	/* the accept hook is attached */
	bool usage_error;	/* start failed on the user's input: exit 2 */
	struct bpf_link **links;
	size_t nlinks, links_cap;
	pthread_t detacher;	/* see ct_session_detach() */
	bool detaching;
	unsigned int tev_mask;	/* kinds of ct_tcp_ev asked for */
	unsigned int tev_failed;	/* kinds whose hook would not attach */
	/* `conntrace hooks`: one family for the event programs; NONE: the probe's */
	enum ct_hook tev_force;
	int tev_err;		/* why the last event program would not attach */
	/* While ct_session_start() tries pairs: the cgroups listed for all. */
	const struct ct_cgroup_ids *cgroups;
	uint32_t ring_bytes;	/* the ring buffer's size; 0: CT_RINGBUF_BYTES */
	uint64_t opens_rate;	/* new connections a second while starting, or 0 */
};

/* Routes libbpf's own messages to stderr only when verbose. */
void ct_session_set_verbose(bool verbose);

/*
 * Probes the kernel, loads the programs and attaches the best hooks that
 * work, falling back down the lists of kernel.h (or to the hooks
 * CONNTRACE_HOOKS forces). On failure, writes a one-line reason to err
 * and returns -errno; s->usage_error tells a bad CONNTRACE_HOOKS.
 */
int ct_session_start(struct ct_session *s, const struct ct_load_opts *o,
		     char *err, size_t errlen);

/*
 * One attempt with one pair of hooks, after ct_probe_kernel() filled
 * s->probe: loads, and attaches if asked. Returns 0 or -errno, and leaves
 * nothing behind on failure. `conntrace hooks` uses it to test each kind.
 */
int ct_session_try(struct ct_session *s, const struct ct_load_opts *o,
		   enum ct_hook state, enum ct_hook io, bool attach);

/*
 * Loads only the lean file-walk iterator, for one-shot owner lookups, and
 * creates none of the maps the other programs need.
 */
int ct_session_open_iter(struct ct_session *s);

/*
 * Starts to detach every program, in a thread of its own: each release of
 * a syscall tracepoint (the accept hooks) waits out grace periods, 45-55
 * ms apiece on Linux 6.18, one after the other, and a stopping mode has
 * its last records to read and print meanwhile. Safe to call twice.
 */
void ct_session_detach(struct ct_session *s);

/*
 * Waits until every program is detached: from then on nothing writes to
 * the ring or the loss counters, and what they hold is final.
 */
void ct_session_detach_wait(struct ct_session *s);

/* Detaches every program and frees everything. Safe to call twice. */
void ct_session_stop(struct ct_session *s);

/* The socket map (ct_socks), where user space writes back owners it found. */
int ct_session_socks_fd(const struct ct_session *s);

/* Sums one counter of the per-CPU stats map. */
uint64_t ct_session_stat(const struct ct_session *s, int idx);

/*
 * Everything the kernel side lost so far: the programs' own counters and
 * each loaded program's recursion misses (0 before Linux 5.12). Free
 * with ct_losses_free(). 0 or -errno.
 */
int ct_session_losses(const struct ct_session *s, struct ct_losses *out);

/*
 * Writes one "conntrace: N <what[g]> missed: ..." line to f for each
 * group g of programs the kernel skipped (recursion), if what[g] is set.
 */
void ct_session_report_missed(const struct ct_session *s, FILE *f,
			      const char *const what[CT_GROUP_KINDS]);

/*
 * How many transitions the state hook's second program took, of those
 * the kernel skipped the first for (recursion), as one line on f.
 */
void ct_session_report_rescues(const struct ct_session *s, FILE *f);

/*
 * The names of the programs of group g that hook (the state or I/O hook;
 * ignored for iterators) loads on kernel p, in names[] (up to max).
 * Returns how many there are, which may be more than max.
 */
size_t ct_session_programs(const struct ct_probe *p, enum ct_prog_group g,
			   enum ct_hook hook, bool sk_storage,
			   const char **names, size_t max);

/*
 * Whether kind k was asked for but cannot come on this kernel; *why says
 * why in a few words.
 */
bool ct_session_tev_missing(const struct ct_session *s, enum ct_tev_kind k,
			    const char **why);

/* Records of each kind written and lost so far, summed over CPUs. 0 or -errno. */
int ct_session_tev_counts(const struct ct_session *s,
			  struct ct_tev_count out[CT_TEV_KINDS]);

/* The kinds of ct_tcp_ev the programs on event tracepoint tp write. */
unsigned int ct_session_tev_kinds(enum ct_tev_tp tp);

/*
 * The names of the programs of hook family `hook` on event tracepoint tp,
 * as ct_session_programs() gives them.
 */
size_t ct_session_tev_programs(enum ct_tev_tp tp, enum ct_hook hook,
			       const char **names, size_t max);

/* The listeners map, walked for their drop counters (ct_listen_drops). */
int ct_session_listeners_fd(const struct ct_session *s);

/* One loaded program's cost, as the kernel counts it while bpf_stats is on. */
typedef void (*ct_run_time_fn)(void *ctx, const char *name, uint64_t run_ns,
			       uint64_t runs);

/*
 * Calls fn for every program the session loaded, iterators too, with the
 * kernel's run time and run count of it (0 while kernel.bpf_stats_enabled
 * is 0). 0 or -errno.
 */
int ct_session_run_times(const struct ct_session *s, ct_run_time_fn fn,
			 void *ctx);

/* Whether the kernel counts programs' run time now (bpf_stats_enabled). */
bool ct_bpf_stats_on(void);

#endif
