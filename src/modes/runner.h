/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The shape every mode shares: parse the command line, set up stdout and
 * the stop signals, start, run, report, finish. A mode fills in a
 * struct ct_mode; ct_mode_run() does the rest in one order for all.
 */
#ifndef CT_RUNNER_H
#define CT_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "modes/options.h"

enum ct_mode_out {
	CT_OUT_STDIO = 0,	/* the C library's own buffering */
	CT_OUT_LINES,		/* live modes: each line reaches a pipe at once */
	CT_OUT_BLOCKS,		/* listings: large writes */
};

struct ct_mode {
	const struct ct_cmd *cmd;	/* its command line, for --help and errors */
	/* Fills self's options from argv; err holds one line on error. */
	enum ct_parse_result (*parse)(void *self, int argc, char **argv,
				      char *err, size_t errlen);
	enum ct_mode_out out;
	/* Long-running: SIGINT, SIGTERM and SIGHUP set ct_stop. */
	bool stop_on_signals;
	/*
	 * 0, or after one line on stderr -1 (cannot run: exit 1) or 2 (bad
	 * input found only at load time, such as a filter). May be NULL.
	 */
	int (*start)(void *self);
	/* The exit status. */
	int (*run)(void *self);
	/* After run and stdout is flushed: losses, on stderr. May be NULL. */
	void (*report)(void *self);
	/* Frees what start made, even when start failed. May be NULL. */
	void (*finish)(void *self);
};

/*
 * Waits secs seconds in short steps, so that a stop signal or a reader
 * that went away ends the wait at once.
 */
void ct_wait_interval(double secs);

/* Runs one mode over self, its state; returns the process exit status. */
int ct_mode_run(const struct ct_mode *m, void *self, int argc, char **argv);

/*
 * After records were lost to a full ring buffer: one line on stderr naming
 * the setting that helps (ring_bytes 0: the kernel side's default).
 */
void ct_ring_hint(uint64_t lost, uint32_t ring_bytes);

/* --boost: raises the priority, or says on stderr why it could not. */
void ct_boost(unsigned int levels);

struct ct_session;

/* With -v: the ring buffer's size, and the rate it was sized for. */
void ct_ring_said(const struct ct_session *s);

#endif
