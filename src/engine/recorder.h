/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The flight recorder: one session whose records go to a recording
 * (recwrite.h) instead of a screen. Every ring-buffer record is kept: the
 * state transitions as the events engine resolves them (owners, derived
 * TIME_WAIT), the events (retransmits, resets, drops, failed connects,
 * latency) as watch resolves them, every other type verbatim; and every
 * interval, the byte counters of every TCP socket that changed, once more
 * at the end. Each file of the ring starts with a snapshot of the open
 * sockets and their owners.
 */
#ifndef CT_RECORDER_H
#define CT_RECORDER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/events.h"
#include "engine/evsource.h"
#include "engine/owners.h"
#include "engine/recwrite.h"
#include "engine/session.h"
#include "engine/tcpev.h"
#include "engine/tevorder.h"
#include "lib/u64map.h"

struct bpf_link;

struct ct_recorder_opts {
	const char *path;
	uint64_t max_size;	/* 0: no bound */
	unsigned rotate;
	uint64_t interval_ns;	/* between byte-counter snapshots */
	struct ct_kfilter filter;
	const char *cmdline;	/* the options used, for the header */
	uint32_t ring_bytes;	/* the ring buffer's size; 0: the default */
	uint32_t ring_floor;	/* ring_bytes 0: sized at start, this at least */
};

struct ct_recorder {
	struct ct_recorder_opts o;
	struct ct_session session;
	struct ct_owners owners;
	struct ct_events events;
	struct ct_evsource source;
	struct bpf_link *tcp_iter;
	struct ct_rec_writer w;
	struct u64map last;	/* skaddr -> digest at the last snapshot */
	uint64_t next_snap_ns;
	uint64_t next_flush_ns;
	int err;		/* the first write error, which ends the run */
	uint64_t lines, snapshots, walk_errors;
	uint64_t unread;	/* records left in the ring when time was up */
	struct ct_tcpev tev;
	uint64_t tevs;		/* event records written */
	unsigned int tev_kinds;	/* 1 << enum ct_tev_kind: kinds with a hook */
	struct ct_tevorder order;	/* events behind their socket's held lines */
};

/* Loads, attaches, opens the file, writes the first snapshot. 0 or -errno. */
int ct_recorder_start(struct ct_recorder *r, const struct ct_recorder_opts *o,
		      char *err, size_t errlen);

/*
 * Records until *stop is set or CLOCK_MONOTONIC reaches end_ns (0: never).
 * 0 or -errno (a write error, said on stderr).
 */
int ct_recorder_run(struct ct_recorder *r, const volatile sig_atomic_t *stop,
		    uint64_t end_ns);

/* Flushes and closes the file; frees everything. 0 or -errno. */
int ct_recorder_stop(struct ct_recorder *r);

#endif
