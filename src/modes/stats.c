// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* ppoll() */
#define _GNU_SOURCE
#include "modes/stats.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "output/format.h"
#include "engine/stats_data.h"
#include "modes/runner.h"
#include "modes/stats_opts.h"
#include "modes/stats_out.h"
#include "engine/stats_proc.h"
#include "engine/stopsig.h"
#include "output/ostream.h"

#define NS_PER_S 1000000000ULL

/*
 * The ending signals stay blocked but while ppoll() sleeps with *waitmask,
 * so one that comes during a read ends the next sleep instead of being lost.
 */
static int install_signals(sigset_t *waitmask)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	sigset_t block;
	int err = ct_stop_on_signals();

	if (err)
		return err;
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++)
		sigaddset(&block, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &block, waitmask))
		return -errno;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++)
		sigdelset(waitmask, sigs[i]);
	return 0;
}

/* Returns at deadline (CLOCK_MONOTONIC ns) or on a signal; 0 or -errno. */
static int sleep_until(uint64_t deadline, const sigset_t *waitmask)
{
	/* stdout polls POLLERR once the reader of its pipe is gone. */
	struct pollfd out = { .fd = STDOUT_FILENO };
	struct timespec ts;
	uint64_t now;

	while (!ct_stop && (now = ct_monotonic_ns()) < deadline) {
		ts.tv_sec = (time_t)((deadline - now) / NS_PER_S);
		ts.tv_nsec = (long)((deadline - now) % NS_PER_S);
		if (ppoll(&out, 1, &ts, waitmask) < 0 && errno != EINTR)
			return -errno;
		if (ct_out_gone(stdout))
			ct_stop = 1;
	}
	return 0;
}

struct stats {
	struct ct_stats_opts opts;
	struct ct_stats_view view;
	struct ct_stats_snap prev, cur, delta;
	uint64_t prev_mono, cur_mono;
};

static int take(struct stats *st, struct ct_stats_snap *s, uint64_t *mono)
{
	char err[512];
	int rc;

	*mono = ct_monotonic_ns();
	s->wall_ns = ct_clock_ns(CLOCK_REALTIME);
	s->interval_s = -1;
	if (st->opts.interfaces)
		rc = ct_read_ifaces(CT_PROCNET_DIR, CT_SYSNET_DIR, &s->ifaces,
				    err, sizeof(err));
	else
		rc = ct_read_counters(CT_PROCNET_DIR, &s->counters, err,
				      sizeof(err));
	if (rc)
		fprintf(stderr, "conntrace: %s\n", err);
	return rc;
}

/* 0, or -EIO once stdout fails (its reader went away). */
static int print(struct stats *st, const struct ct_stats_snap *s)
{
	if (st->opts.interfaces)
		ct_stats_print_ifaces(stdout, s, &st->view);
	else
		ct_stats_print_counters(stdout, s, &st->view);
	ct_out_flush(stdout);
	return ct_out_failed(stdout) ? -EIO : 0;
}

static int print_delta(struct stats *st)
{
	struct ct_stats_snap *d = &st->delta;
	int rc;

	d->wall_ns = st->cur.wall_ns;
	d->interval_s = (double)(st->cur_mono - st->prev_mono) / 1e9;
	if (st->opts.interfaces)
		rc = ct_ifaces_delta(&st->prev.ifaces, &st->cur.ifaces,
				     &d->ifaces);
	else
		rc = ct_counters_delta(&st->prev.counters, &st->cur.counters,
				       &d->counters);
	if (rc) {
		fprintf(stderr, "conntrace: out of memory\n");
		return rc;
	}
	return print(st, d);
}

/* The next tick on the grid started at the first read, skipping missed ones. */
static uint64_t next_deadline(uint64_t deadline, uint64_t step)
{
	uint64_t now = ct_monotonic_ns();

	do
		deadline += step;
	while (deadline <= now);
	return deadline;
}

static int run_intervals(struct stats *st, const sigset_t *waitmask)
{
	uint64_t step = (uint64_t)(st->opts.interval_s * 1e9);
	uint64_t deadline = st->prev_mono;
	struct ct_stats_snap tmp;
	int rc;

	for (uint32_t n = 0; !st->opts.count || n < st->opts.count; n++) {
		deadline = next_deadline(deadline, step);
		rc = sleep_until(deadline, waitmask);
		if (rc) {
			fprintf(stderr, "conntrace: waiting: %s\n",
				strerror(-rc));
			return 1;
		}
		if (ct_stop)
			return 0;
		if (take(st, &st->cur, &st->cur_mono))
			return 1;
		if (print_delta(st))
			return ct_stop ? 0 : 1;
		tmp = st->prev;
		st->prev = st->cur;
		st->cur = tmp;
		st->prev_mono = st->cur_mono;
	}
	return 0;
}

static void free_snap(struct ct_stats_snap *s)
{
	ct_counters_free(&s->counters);
	ct_ifaces_free(&s->ifaces);
}

static int run(void *self)
{
	struct stats *st = self;
	sigset_t waitmask;
	int rc;

	if (st->opts.interval_s > 0) {
		rc = install_signals(&waitmask);
		if (rc) {
			fprintf(stderr, "conntrace: cannot handle signals: %s\n",
				strerror(-rc));
			return 1;
		}
	}
	if (take(st, &st->prev, &st->prev_mono))
		return 1;
	if (st->opts.interval_s > 0)
		return run_intervals(st, &waitmask);
	return print(st, &st->prev) ? 1 : 0;
}

static enum ct_parse_result parse(void *self, int argc, char **argv,
				  char *err, size_t errlen)
{
	struct stats *st = self;
	enum ct_parse_result rc;

	rc = ct_stats_parse(argc, argv, &st->opts, err, errlen);
	st->view = (struct ct_stats_view){
		.json = st->opts.json,
		.zeros = st->opts.zeros,
		.globs = st->opts.globs,
		.nglobs = st->opts.nglobs,
	};
	return rc;
}

static void finish(void *self)
{
	struct stats *st = self;

	free_snap(&st->prev);
	free_snap(&st->cur);
	free_snap(&st->delta);
}

/* The stop signals are set up by run, only for intervals: see install_signals. */
static const struct ct_mode stats_mode = {
	.cmd = &ct_stats_cmd, .parse = parse, .run = run, .finish = finish,
};

int ct_stats_main(int argc, char **argv)
{
	struct stats st = { 0 };

	return ct_mode_run(&stats_mode, &st, argc, argv);
}
