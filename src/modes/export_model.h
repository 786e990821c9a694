/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * What `conntrace export` counts: the engine's records and refreshes
 * turned into metrics. Events (transitions, opens, closes, connect
 * latency) are counted as they are read; bytes, connections by state,
 * nstat and the self metrics at each refresh. Nothing here runs per
 * scrape: a scrape only copies the text of the last refresh.
 */
#ifndef CT_EXPORT_MODEL_H
#define CT_EXPORT_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "conntrace.h"
#include "engine/acct.h"
#include "engine/filter.h"
#include "engine/stats_data.h"
#include "engine/tcpev.h"
#include "lib/u64map.h"
#include "modes/export_opts.h"
#include "output/metrics.h"

/* TCP states are 1 to 12 (include/net/tcp_states.h). */
#define CT_EXPORT_STATES 13

struct ct_export_self {
	uint64_t ring_drops;		/* records lost: ring buffer full */
	uint64_t sock_map_full, listen_map_full, conn_map_full;
	uint64_t evicted;		/* per-call byte entries the LRU dropped */
	uint64_t unclosed;		/* sockets gone without their close record */
	uint64_t scrapes;
	uint64_t last_scrape_ns;	/* how long the last scrape took */
};

struct ct_export_model {
	struct ct_metrics m;
	struct ct_export_by by;
	const struct ct_kfilter *filter;	/* NULL: everything */
	int trans, conns, bytes, opened, closed, failed, latency;
	int nstat, nstat_gauge;
	int lost, maps_full, evictions, unclosed, missed, run_time, runs;
	int scrape_dur, scrapes, series, folded;
	/* The walk of the current refresh. */
	uint32_t states[CT_EXPORT_STATES];
	struct u64map listeners;	/* (netns, port) of the last walk's listeners */
	struct u64map walk_listeners;	/* those of the walk under way */
	int retrans, resets, drops;
	bool kernel_states;	/* states from ct_export_walk_states() */
};

/* 0 or -errno (-ENOMEM, or -EINVAL for a family the code got wrong). */
int ct_export_model_init(struct ct_export_model *x, const struct ct_export_by *by,
			 uint32_t max_series, const struct ct_kfilter *filter);
void ct_export_model_free(struct ct_export_model *x);

/* A state record of the engine. */
void ct_export_event(struct ct_export_model *x, const struct ct_event *ev);

/* A retransmit, reset or drop; reason: the drop's name, or NULL. */
void ct_export_tev(struct ct_export_model *x, const struct ct_tev_line *l,
		   const char *reason);

/*
 * The walk's sockets by state, as the kernel counted them (n slots, by
 * TCP state): from then on, the walk's records count no state.
 */
void ct_export_walk_states(struct ct_export_model *x, const uint32_t *counts,
			   size_t n);

/* A socket of a refresh's walk, listeners included. */
void ct_export_sock(struct ct_export_model *x, const struct ct_tcp_rec *r);

/*
 * The end of a refresh: the walk's counts become the gauges, the bytes of
 * the interval are added per label set, and the kernel counters set.
 * counters may be NULL (not readable).
 */
void ct_export_refresh(struct ct_export_model *x, const struct ct_acct *a,
		       const struct ct_counters *counters,
		       const struct ct_export_self *self);

/* A loaded program's cost, as ct_session_run_times() reports it. */
void ct_export_run_time(void *model, const char *name, uint64_t run_ns,
			uint64_t runs);
/* A program's recursion misses. */
void ct_export_missed(struct ct_export_model *x, const char *name,
		      uint64_t misses);

/*
 * The remote_net label of an address: "10.1.2.0/24", "2001:db8::/64".
 * Exposed for the unit tests.
 */
const char *ct_export_net_str(int family, const uint8_t *addr, unsigned prefix,
			      char *buf, size_t len);

#endif
