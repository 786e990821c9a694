/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_STOPSIG_H
#define CT_STOPSIG_H

#include <signal.h>

/* Set by SIGINT, SIGTERM or SIGHUP: long-running modes then stop cleanly. */
extern volatile sig_atomic_t ct_stop;
/* The signal that set ct_stop, for a daemon's log; 0 if none. */
extern volatile sig_atomic_t ct_stop_signal;

/*
 * Installs the handlers (without SA_RESTART, so a blocked poll returns)
 * and ignores SIGPIPE, so a closed reader is an error to report, not a
 * death. Returns 0 or -errno.
 */
int ct_stop_on_signals(void);

#endif
