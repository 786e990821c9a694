/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The text exposition of a metrics registry, in Prometheus's classic text
 * format (0.0.4) or in OpenMetrics 1.0, which differ in where a counter's
 * "_total" goes in the HELP and TYPE lines, in escaping and in the
 * closing "# EOF".
 */
#ifndef CT_EXPO_H
#define CT_EXPO_H

#include <stdbool.h>
#include <stddef.h>

#include "output/metrics.h"

#define CT_EXPO_CLASSIC_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define CT_EXPO_OPENMETRICS_TYPE \
	"application/openmetrics-text; version=1.0.0; charset=utf-8"

/* A text that grows; oom is set, and appends stop, once memory runs out. */
struct ct_text {
	char *p;
	size_t len, cap;
	bool oom;
};

void ct_text_mem(struct ct_text *t, const char *s, size_t n);
void ct_text_str(struct ct_text *t, const char *s);
void ct_text_free(struct ct_text *t);

/*
 * Appends the exposition of m to t. Label values are written as ASCII:
 * a byte outside printable ASCII becomes '?', so that what a process
 * names itself can never make the text invalid UTF-8.
 */
void ct_expo_write(const struct ct_metrics *m, bool openmetrics,
		   struct ct_text *t);

/*
 * Whether an Accept header asks for OpenMetrics (Prometheus sends
 * "application/openmetrics-text;version=1.0.0,text/plain;q=0.5,...").
 */
bool ct_expo_wants_openmetrics(const char *accept);

#endif
