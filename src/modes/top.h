/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_TOP_H
#define CT_TOP_H

#include <signal.h>
#include <stdint.h>

#include "engine/diag.h"
#include "engine/sampler.h"
#include "modes/top_opts.h"

struct ct_top {
	struct ct_top_opts opts;
	struct ct_sampler sampler;
	struct ct_diag diag;	/* for --verbose's check against the kernel */
};

/* `conntrace top`: bytes per process, connection and host. Exit code. */
int ct_top_main(int argc, char **argv);

/* Reads the kernel's counters into the accounting; 0 or -errno. */
int ct_top_sample(struct ct_top *t);

/* The interactive terminal view; returns when q or a signal stops it. */
int ct_top_ui(struct ct_top *t, volatile sig_atomic_t *stop);

#endif
