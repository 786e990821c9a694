// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/expo.h"
#include "output/metrics.h"

static const struct ct_mdef bytes_def = {
	.name = "t_bytes", .help = "bytes moved", .type = CT_M_COUNTER,
	.labels = { "comm", "direction" },
};

static const struct ct_mdef conns_def = {
	.name = "t_conns", .help = "open now", .type = CT_M_GAUGE,
	.labels = { "state" },
};

static const double lat_bounds[] = { 0.001, 0.01, 0.1 };
static const struct ct_mdef lat_def = {
	.name = "t_latency_seconds", .help = "how long", .type = CT_M_HISTOGRAM,
	.scale = 1e-9, .bounds = lat_bounds, .nbounds = 3,
};

/* The exposition of m; the caller frees it. */
static char *expo(const struct ct_metrics *m, bool om)
{
	struct ct_text t = { 0 };

	ct_expo_write(m, om, &t);
	assert_false(t.oom);
	assert_non_null(t.p);
	return t.p;
}

static int count_lines(const char *text, const char *line)
{
	size_t n = strlen(line);
	int k = 0;

	for (const char *p = text; (p = strstr(p, line)); p += n)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			k++;
	return k;
}

static void test_counter_total_both_formats(void **state)
{
	struct ct_metrics m;
	int f;
	char *c, *o;

	(void)state;
	ct_metrics_init(&m, 0);
	f = ct_metrics_family(&m, &bytes_def);
	assert_true(f >= 0);
	ct_metrics_add(&m, f, (const char *[]){ "curl", "sent" }, 5);
	ct_metrics_add(&m, f, (const char *[]){ "curl", "sent" }, 7);
	c = expo(&m, false);
	o = expo(&m, true);
	assert_int_equal(count_lines(c, "# HELP t_bytes_total bytes moved"), 1);
	assert_int_equal(count_lines(c, "# TYPE t_bytes_total counter"), 1);
	assert_int_equal(count_lines(c, "t_bytes_total{comm=\"curl\",direction=\"sent\"} 12"), 1);
	assert_null(strstr(c, "# EOF"));
	assert_int_equal(count_lines(o, "# HELP t_bytes bytes moved"), 1);
	assert_int_equal(count_lines(o, "# TYPE t_bytes counter"), 1);
	assert_int_equal(count_lines(o, "t_bytes_total{comm=\"curl\",direction=\"sent\"} 12"), 1);
	/* The last line, once. */
	assert_int_equal(count_lines(o, "# EOF"), 1);
	assert_string_equal(o + strlen(o) - 6, "# EOF\n");
	free(c);
	free(o);
	ct_metrics_free(&m);
}

static void test_escaping(void **state)
{
	static const struct ct_mdef d = {
		.name = "t_esc", .help = "a \\ b\nc \"d\"", .type = CT_M_GAUGE,
		.labels = { "comm" },
	};
	struct ct_metrics m;
	char *c, *o;
	int f;

	(void)state;
	ct_metrics_init(&m, 0);
	f = ct_metrics_family(&m, &d);
	assert_true(f >= 0);
	ct_metrics_set(&m, f, (const char *[]){ "a\"b\\c\nd\x01\xff" }, 1);
	c = expo(&m, false);
	o = expo(&m, true);
	assert_int_equal(count_lines(c, "# HELP t_esc a \\\\ b\\nc \"d\""), 1);
	assert_int_equal(count_lines(o, "# HELP t_esc a \\\\ b\\nc \\\"d\\\""), 1);
	assert_int_equal(count_lines(c, "t_esc{comm=\"a\\\"b\\\\c\\nd??\"} 1"), 1);
	assert_int_equal(count_lines(o, "t_esc{comm=\"a\\\"b\\\\c\\nd??\"} 1"), 1);
	free(c);
	free(o);
	ct_metrics_free(&m);
}

static void test_no_duplicate_series(void **state)
{
	struct ct_metrics m;
	char *c;
	int f;

	(void)state;
	ct_metrics_init(&m, 0);
	f = ct_metrics_family(&m, &conns_def);
	for (int round = 0; round < 3; round++) {
		ct_metrics_zero(&m, f);
		ct_metrics_set(&m, f, (const char *[]){ "ESTABLISHED" }, 3);
		ct_metrics_set(&m, f, (const char *[]){ "LISTEN" }, 1);
	}
	assert_int_equal(m.nseries, 2);
	c = expo(&m, false);
	assert_int_equal(count_lines(c, "t_conns{state=\"ESTABLISHED\"} 3"), 1);
	assert_int_equal(count_lines(c, "t_conns{state=\"LISTEN\"} 1"), 1);
	/* A name taken twice is refused, not written twice. */
	assert_int_equal(ct_metrics_family(&m, &conns_def), -EINVAL);
	free(c);
	ct_metrics_free(&m);
}

/* Values that differ only in where one ends and the next begins. */
static void test_label_boundaries(void **state)
{
	struct ct_metrics m;
	int f;

	(void)state;
	ct_metrics_init(&m, 0);
	f = ct_metrics_family(&m, &bytes_def);
	ct_metrics_add(&m, f, (const char *[]){ "ab", "c" }, 1);
	ct_metrics_add(&m, f, (const char *[]){ "a", "bc" }, 2);
	assert_int_equal(m.fams[f].nseries, 2);
	ct_metrics_free(&m);
}

/* 10,000 process names, with a cap of ten series: the family's id. */
static int flood_past_cap(struct ct_metrics *m)
{
	char name[32];
	int f;

	ct_metrics_init(m, 10);
	f = ct_metrics_family(m, &bytes_def);
	for (int i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		ct_metrics_add(m, f, (const char *[]){ name, "sent" }, 1);
	}
	return f;
}

static void test_cap_folds_into_other(void **state)
{
	struct ct_metrics m;
	char *c;
	int f;

	(void)state;
	f = flood_past_cap(&m);
	/* Ten under their own labels, one "other" for the rest. */
	assert_int_equal(m.nseries, 11);
	assert_int_equal(m.folded, 9990);
	c = expo(&m, true);
	assert_int_equal(count_lines(c, "t_bytes_total{comm=\"other\",direction=\"other\"} 9990"), 1);
	/* A series made before the cap goes on under its own labels. */
	ct_metrics_add(&m, f, (const char *[]){ "p3", "sent" }, 1);
	assert_int_equal(m.fams[f].series[3].v, 2);
	free(c);
	ct_metrics_free(&m);
}

static void test_folded_sets_leave_no_index_keys(void **state)
{
	struct ct_metrics m;
	int f;

	(void)state;
	f = flood_past_cap(&m);
	/* The ten series and "other": a flood past the cap costs nothing. */
	assert_int_equal(m.fams[f].index.len, 11);
	assert_int_equal(m.folded, 9990);
	ct_metrics_free(&m);
}

static void test_folded_gauges_add_up(void **state)
{
	struct ct_metrics m;
	int f;

	(void)state;
	ct_metrics_init(&m, 1);
	f = ct_metrics_family(&m, &conns_def);
	ct_metrics_zero(&m, f);
	ct_metrics_set(&m, f, (const char *[]){ "A" }, 1);
	ct_metrics_set(&m, f, (const char *[]){ "B" }, 2);
	ct_metrics_set(&m, f, (const char *[]){ "C" }, 3);
	assert_int_equal(m.fams[f].series[1].v, 5);
	ct_metrics_free(&m);
}

static void test_histogram(void **state)
{
	struct ct_metrics m;
	char *c;
	int f;

	(void)state;
	ct_metrics_init(&m, 0);
	f = ct_metrics_family(&m, &lat_def);
	assert_true(f >= 0);
	ct_metrics_observe(&m, f, NULL, 500000);	/* 0.5 ms */
	ct_metrics_observe(&m, f, NULL, 1000000);	/* 1 ms: le is inclusive */
	ct_metrics_observe(&m, f, NULL, 50000000);	/* 50 ms */
	ct_metrics_observe(&m, f, NULL, 2000000000);	/* 2 s */
	c = expo(&m, false);
	assert_int_equal(count_lines(c, "# TYPE t_latency_seconds histogram"), 1);
	assert_int_equal(count_lines(c, "t_latency_seconds_bucket{le=\"0.001\"} 2"), 1);
	assert_int_equal(count_lines(c, "t_latency_seconds_bucket{le=\"0.01\"} 2"), 1);
	assert_int_equal(count_lines(c, "t_latency_seconds_bucket{le=\"0.1\"} 3"), 1);
	assert_int_equal(count_lines(c, "t_latency_seconds_bucket{le=\"+Inf\"} 4"), 1);
	assert_int_equal(count_lines(c, "t_latency_seconds_sum 2.0515"), 1);
	assert_int_equal(count_lines(c, "t_latency_seconds_count 4"), 1);
	free(c);
	ct_metrics_free(&m);
}

static void test_bad_families(void **state)
{
	static const double down[] = { 1, 0.5 };
	struct ct_metrics m;

	(void)state;
	ct_metrics_init(&m, 0);
	assert_int_equal(ct_metrics_family(&m, &(struct ct_mdef){
		.name = "9x", .help = "h" }), -EINVAL);
	assert_int_equal(ct_metrics_family(&m, &(struct ct_mdef){
		.name = "x-y", .help = "h" }), -EINVAL);
	assert_int_equal(ct_metrics_family(&m, &(struct ct_mdef){
		.name = "x", .help = "h", .labels = { "a b" } }), -EINVAL);
	assert_int_equal(ct_metrics_family(&m, &(struct ct_mdef){
		.name = "x", .help = "h", .type = CT_M_HISTOGRAM,
		.labels = { "le" }, .bounds = lat_bounds, .nbounds = 3 }), -EINVAL);
	assert_int_equal(ct_metrics_family(&m, &(struct ct_mdef){
		.name = "x", .help = "h", .type = CT_M_HISTOGRAM,
		.bounds = down, .nbounds = 2 }), -EINVAL);
	assert_int_equal(m.nfams, 0);
	ct_metrics_free(&m);
}

static void test_accept(void **state)
{
	(void)state;
	assert_true(ct_expo_wants_openmetrics(
		"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
	assert_true(ct_expo_wants_openmetrics("text/plain, Application/OpenMetrics-Text"));
	assert_false(ct_expo_wants_openmetrics("application/openmetrics-text;q=0"));
	assert_false(ct_expo_wants_openmetrics("application/openmetrics-textual"));
	assert_false(ct_expo_wants_openmetrics("text/plain"));
	assert_false(ct_expo_wants_openmetrics("*/*"));
	assert_false(ct_expo_wants_openmetrics(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_total_both_formats),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_no_duplicate_series),
		cmocka_unit_test(test_label_boundaries),
		cmocka_unit_test(test_cap_folds_into_other),
		cmocka_unit_test(test_folded_gauges_add_up),
		cmocka_unit_test(test_folded_sets_leave_no_index_keys),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_bad_families),
		cmocka_unit_test(test_accept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
