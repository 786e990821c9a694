/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Turns raw kernel events into the lines conntrace prints: resolves owners
 * the kernel could not know, and derives what the tracepoint cannot see
 * (the local port of a fresh connect, TIME_WAIT and its end).
 */
#ifndef CT_EVENTS_H
#define CT_EVENTS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conntrace.h"
#include "engine/diag.h"
#include "lib/u64map.h"
#include "engine/session.h"

struct ct_owners;
struct ct_evsource;

struct ct_line {
	struct ct_event ev;	/* owner fields hold the resolved owner */
	uint64_t ts_ns;		/* CLOCK_MONOTONIC instant of the transition */
	uint64_t delta_ns;	/* time spent in ev.oldstate */
	bool delta_known;
	bool derived;		/* inferred by user space, not a tracepoint */
	/*
	 * Not accepted in time: nobody owns it yet, and the process holding
	 * its listener (when one does) is said as that, not as its owner.
	 */
	uint32_t listener_pid;
	char listener_comm[CT_COMM_LEN];
};

typedef void (*ct_line_fn)(const struct ct_line *line, void *ctx);

struct ct_hold;

struct ct_holds {
	struct ct_hold *v;
	size_t n, cap;
};

struct ct_events {
	struct ct_owners *owners;	/* NULL: no owner resolution */
	int socks_fd;			/* ct_socks map, -1 if none */
	struct ct_kfilter filter;
	bool lifetime;			/* emit only the close of each connection */
	bool accept_hook;		/* accept() tells owners: hold lines until then */
	ct_line_fn emit;
	void *emit_ctx;
	struct ct_diag diag;
	/*
	 * Lines held in arrival order: connect() lines waiting for their local
	 * port, and an accepted socket's lines waiting for accept()
	 */
	struct ct_holds ports;
	/*
	 * Time-wait sockets watched until they go: heaps, soonest due first,
	 * as under churn they hold a minute of connections (tens of thousands)
	 * and a tick must not visit them all. Those still waiting for the
	 * peer's FIN are few, and apart: every server's close looks for its
	 * peer among them.
	 */
	struct ct_holds watches;
	struct ct_holds fin_wait2;
	uint64_t latest_ns;		/* the newest transition handled */
	bool no_lookups;		/* flushing late: no kernel lookups per line */
	uint64_t untracked_tw;	/* TIME_WAIT candidates we had no room for */
	/*
	 * Each socket's lines in `ports` (by kernel address), chained oldest
	 * first: most records are of sockets with none, and a socket's own
	 * are found without a walk of the thousands held under churn.
	 * held_unknown: the map is short of a socket, so walk. ports_done:
	 * released lines not yet compacted away (which renumbers the chains).
	 */
	struct u64map held_socks;
	bool held_unknown;
	size_t ports_done;
	uint64_t ports_due_ns;	/* no line in `ports` is due before */
	/*
	 * Closes handed to time-wait, held in `ports` while their lookups
	 * gather: one batch asks the kernel about them all (indices in ports).
	 */
	uint32_t handoffs[CT_DIAG_BATCH];
	size_t n_handoffs;
	/*
	 * The local ports of the sockets in SYN_SENT at the last dump of them
	 * (by cookie, and by inode with the top bit set), and when it was.
	 * A dump walks every socket of the namespace: under churn with SYNs
	 * unanswered, one serves every connect() line due, at most one per
	 * SYN_DUMP_GAP_NS, where one per line was a fifth of watch's time.
	 */
	struct u64map syn_ports;
	uint64_t syn_dump_ns;
	/*
	 * A stop under load must end soon (Ctrl-C): set, a tick ends when
	 * *stop does; with flush_budget_ns, the flush prints held lines that
	 * long and counts the rest in unprinted (0: prints them all).
	 */
	const volatile sig_atomic_t *stop;
	uint64_t flush_budget_ns;
	uint64_t unprinted;
};

/*
 * The flush budget of a mode that stops on a signal. At a stop under
 * churn tens of thousands of lines can be held (for an accept() whose
 * record was lost or is left in the ring): printing them all took 0.1-0.3
 * s at a quarter of a CPU, and 50 ms of printing used two of its 25 ms
 * shares. Those past it are counted lost instead.
 */
#define CT_STOP_PRINT_NS (20 * 1000000ULL)

int ct_events_init(struct ct_events *e, struct ct_owners *owners, int socks_fd,
		   const struct ct_kfilter *filter, ct_line_fn emit, void *ctx);
void ct_events_free(struct ct_events *e);

/* Takes the state and accept records (CT_MSG_STATE, CT_MSG_ACCEPT) of s; 0 or -errno. */
int ct_events_register(struct ct_events *e, struct ct_evsource *s);

/* Feeds one kernel event; may emit lines now or hold them. */
void ct_events_handle(struct ct_events *e, const struct ct_event *ev);

/* A process accepted a socket: the lines held for it take that owner. */
void ct_events_accept(struct ct_events *e, const struct ct_accept *a);

/*
 * Acts on held lines that are due at now_ns; returns the delay in ms until
 * the next one is due (capped by max_ms).
 */
int ct_events_tick(struct ct_events *e, uint64_t now_ns, int max_ms);

/*
 * Before exit: emits every line still held (for a local port or an
 * accept()), and the FIN_WAIT2 -> CLOSE of time-wait sockets still waiting
 * for the peer's FIN. Those in TIME_WAIT said theirs already.
 */
void ct_events_flush(struct ct_events *e);

/* What the flush had no time for: one line on f, or nothing. */
void ct_events_report(const struct ct_events *e, FILE *f);

/*
 * Whether a line of this socket is held back (for its port, its accept,
 * or its close's lookup): whatever else is said of it must wait behind it.
 */
bool ct_events_holds(const struct ct_events *e, uint64_t skaddr,
		     uint64_t cookie);

/* True if the owner fields of ev pass the user's pid and comm filters. */
bool ct_filter_match(const struct ct_kfilter *f, const struct ct_event *ev);

/*
 * Calls fn for each connection handed to a time-wait socket that still
 * waits for its peer's FIN: its line (the kernel's CLOSE, with the last
 * counters) is held until TIME_WAIT, maybe for minutes. Stops at a
 * non-zero return, which it returns.
 */
typedef int (*ct_held_line_fn)(const struct ct_line *line, void *ctx);
int ct_events_each_fin_wait2(const struct ct_events *e, ct_held_line_fn fn,
			     void *ctx);

#endif
