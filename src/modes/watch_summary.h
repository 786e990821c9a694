/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * watch --summary: connect latency per remote host, as log2 histograms
 * (the buckets of bcc's tcprtt and biolatency), printed at exit.
 */
#ifndef CT_WATCH_SUMMARY_H
#define CT_WATCH_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/tcpev.h"

/* Bucket i holds [2^i, 2^(i+1)) microseconds; bucket 0 also holds 0. */
#define CT_HIST_BUCKETS 32

struct ct_lat_host {
	uint16_t family;
	uint8_t addr[16];
	uint64_t count;
	uint64_t buckets[CT_HIST_BUCKETS];
};

struct ct_summary {
	struct ct_lat_host *hosts;
	size_t n, cap;
	uint64_t untracked;	/* no memory for a new host */
};

void ct_summary_init(struct ct_summary *s);
void ct_summary_free(struct ct_summary *s);

/* The log2 bucket of a duration in nanoseconds. */
int ct_hist_bucket(uint64_t ns);

/* Counts one connect latency event; other events are ignored. */
void ct_summary_add(struct ct_summary *s, const struct ct_tcp_ev *ev);

/* One histogram per remote host, as text or one JSON object per host. */
void ct_summary_print(const struct ct_summary *s, FILE *f, bool json);

#endif
