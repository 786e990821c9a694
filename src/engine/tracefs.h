/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_TRACEFS_H
#define CT_TRACEFS_H

#include <stdbool.h>

#define CT_TRACEFS_ROOT "/sys/kernel/tracing"

/*
 * Classic tracepoints are attached through tracefs, which a fresh machine
 * does not mount. This mounts it at CT_TRACEFS_ROOT when it is absent.
 * Returns 0 or -errno.
 */
int ct_tracefs_ensure(void);

enum ct_tracefs_answer {
	CT_TRACEFS_NO = 0,	/* mounted, and the event is not there */
	CT_TRACEFS_YES,
	CT_TRACEFS_UNMOUNTED,	/* cannot tell: nothing mounted at root */
};

/* Whether tracefs mounted at root lists events/<category>/<event>. */
enum ct_tracefs_answer ct_tracefs_event_at(const char *root,
					   const char *category,
					   const char *event);

/* The same, at CT_TRACEFS_ROOT. */
enum ct_tracefs_answer ct_tracefs_event(const char *category,
					const char *event);

#endif
