/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_TRACEFS_H
#define CT_TRACEFS_H

#include <stdbool.h>

/*
 * Classic tracepoints are attached through tracefs, which a fresh machine
 * does not mount. This mounts it at /sys/kernel/tracing when it is absent.
 * Returns 0 or -errno.
 */
int ct_tracefs_ensure(void);

/* True if tracefs (mounted now, or after ct_tracefs_ensure) has the event. */
bool ct_tracefs_has_event(const char *category, const char *event);

#endif
