/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * A registry of metrics for `conntrace export`: families of counters,
 * gauges and histograms, each series one set of label values. Its size is
 * bounded by design: past max_series, a new label set is folded into the
 * series whose every label is "other", and the fold is counted, so a
 * flood of new processes or peers can never grow the exporter or the
 * Prometheus that scrapes it without bound.
 */
#ifndef CT_METRICS_H
#define CT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/u64map.h"

#define CT_M_MAX_LABELS 6
#define CT_M_MAX_BUCKETS 16
/* The label value a series past the cap is counted under. */
#define CT_M_OTHER "other"

enum ct_mtype { CT_M_COUNTER, CT_M_GAUGE, CT_M_HISTOGRAM };

/* What a family is; the strings must outlive the registry. */
struct ct_mdef {
	const char *name;	/* counters without "_total": the writer adds it */
	const char *help;
	enum ct_mtype type;
	const char *labels[CT_M_MAX_LABELS];	/* NULL-terminated if fewer */
	/*
	 * Values are whole numbers in a unit `scale` times the base unit
	 * (1e-9 for nanoseconds counted as seconds); 0 means 1. Integers keep
	 * byte counters exact past 2^53, where a double would round.
	 */
	double scale;
	const double *bounds;	/* histograms: upper bounds, base units, rising */
	size_t nbounds;
};

struct ct_mseries {
	char *values;		/* the label values, each ended by a NUL */
	size_t vlen;
	uint64_t v;		/* counter or gauge; a histogram's sum */
	uint64_t count;		/* histograms: observations */
	uint64_t buckets[CT_M_MAX_BUCKETS];	/* per bound, not cumulative */
};

struct ct_mfamily {
	struct ct_mdef def;
	size_t nlabels;
	struct ct_mseries *series;	/* in the order they were made */
	size_t nseries, cap;
	struct u64map index;		/* hash of the values -> series index + 1 */
};

struct ct_metrics {
	struct ct_mfamily *fams;	/* in the order they were added */
	size_t nfams, cap;
	size_t nseries;			/* over all families */
	size_t max_series;		/* 0: no cap */
	uint64_t folded;		/* updates counted under "other" */
};

void ct_metrics_init(struct ct_metrics *m, size_t max_series);
void ct_metrics_free(struct ct_metrics *m);

/*
 * Adds a family; returns its id, or -EINVAL (bad name, label or bounds;
 * a name taken) or -ENOMEM.
 */
int ct_metrics_family(struct ct_metrics *m, const struct ct_mdef *def);

/*
 * The series of family fam with these label values (one per label of the
 * family), made if new; past the cap, the "other" series. NULL only when
 * out of memory.
 */
struct ct_mseries *ct_metrics_series(struct ct_metrics *m, int fam,
				     const char *const *values);

/* Each is a no-op when out of memory (the series cannot be made). */
void ct_metrics_add(struct ct_metrics *m, int fam, const char *const *values,
		    uint64_t n);
void ct_metrics_set(struct ct_metrics *m, int fam, const char *const *values,
		    uint64_t v);
/* One observation of v (in the family's units) into a histogram. */
void ct_metrics_observe(struct ct_metrics *m, int fam,
			const char *const *values, uint64_t v);

/* Sets every series of a gauge family to 0, before a recount. */
void ct_metrics_zero(struct ct_metrics *m, int fam);

/* Whether name is a valid metric or label name: [a-zA-Z_][a-zA-Z0-9_]*. */
bool ct_metrics_name_ok(const char *name);

#endif
