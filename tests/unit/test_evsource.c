// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * The event source's dispatch, fed fabricated records the way libbpf feeds
 * its callback: one at a time, until the callback returns a negative value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/acct.h"
#include "engine/events.h"
#include "engine/evsource.h"
#include "output/format.h"

#define MAX_SEEN 16

/* What one handler was given, in order. */
struct seen {
	const void *rec[MAX_SEEN];
	size_t size[MAX_SEEN];
	int n;
	volatile sig_atomic_t *raise_at_2;	/* set it on the 2nd record */
};

static void record(void *ctx, const void *rec, size_t size)
{
	struct seen *s = ctx;

	assert_true(s->n < MAX_SEEN);
	s->rec[s->n] = rec;
	s->size[s->n++] = size;
	if (s->raise_at_2 && s->n == 2)
		*s->raise_at_2 = 1;	/* as a SIGINT would, mid-batch */
}

/*
 * libbpf's loop over what the ring holds: the callback's negative return
 * ends it. Returns how many records the callback was given.
 */
static int feed(struct ct_evsource *src, size_t budget, void **recs,
		const size_t *sizes, int n)
{
	int i;

	src->left = budget;
	src->paused = false;
	for (i = 0; i < n; i++)
		if (ct_evsource_dispatch(src, recs[i], sizes[i]) < 0)
			return i + 1;
	return n;
}

/* The same record n times over, as a ring of one kind holds them. */
static int feed_same(struct ct_evsource *src, size_t budget,
		     struct ct_event *ev, int n)
{
	void *recs[MAX_SEEN];
	size_t sizes[MAX_SEEN];

	assert_true(n <= MAX_SEEN);
	for (int i = 0; i < n; i++) {
		recs[i] = ev;
		sizes[i] = sizeof(*ev);
	}
	return feed(src, budget, recs, sizes, n);
}

static struct ct_event state_rec(void)
{
	return (struct ct_event){ .type = CT_MSG_STATE, .pid = 4242 };
}

/* A source whose state records go to states. */
static void states_source(struct ct_evsource *src,
			  const volatile sig_atomic_t *stop, struct seen *states)
{
	ct_evsource_init(src, stop);
	assert_int_equal(ct_evsource_register(src, CT_MSG_STATE,
					      sizeof(struct ct_event), record,
					      states), 0);
}

static struct ct_conn_end end_rec(void)
{
	return (struct ct_conn_end){ .type = CT_MSG_CONN_END };
}

static void test_each_type_reaches_its_handler(void **state)
{
	struct ct_evsource src;
	struct seen states = { 0 }, ends = { 0 };
	struct ct_event ev = state_rec();
	struct ct_conn_end m = end_rec();
	void *recs[] = { &ev, &m, &ev };
	size_t sizes[] = { sizeof(ev), sizeof(m), sizeof(ev) };

	(void)state;
	states_source(&src, NULL, &states);
	assert_int_equal(ct_evsource_register(&src, CT_MSG_CONN_END, sizeof(m),
					      record, &ends), 0);
	assert_int_equal(feed(&src, 100, recs, sizes, 3), 3);
	assert_int_equal(states.n, 2);
	assert_ptr_equal(states.rec[0], &ev);
	assert_int_equal(states.size[1], sizeof(ev));
	assert_int_equal(ends.n, 1);
	assert_ptr_equal(ends.rec[0], &m);
	assert_int_equal(src.handled, 3);
	assert_int_equal(src.seen, 3);
	assert_int_equal(src.unknown + src.short_recs + src.skipped, 0);
}

/* What a stopping mode has no time for is read and counted, not handled. */
static void test_skipping_counts_without_handling(void **state)
{
	struct ct_evsource src;
	struct seen states = { 0 };
	struct ct_event ev = state_rec();

	(void)state;
	states_source(&src, NULL, &states);
	src.skipping = true;
	assert_int_equal(feed_same(&src, 2, &ev, 3), 2);
	assert_int_equal(states.n, 0);
	assert_int_equal(src.seen, 2);
	assert_int_equal(src.handled, 0);
	assert_int_equal(src.skipped_by_type[CT_MSG_STATE], 2);
	/* By type, so that a mode can say what it lost: closes apart. */
	{
		struct ct_conn_end m = end_rec();
		void *mixed[] = { &m, &ev, &m };
		size_t msizes[] = { sizeof(m), sizeof(ev), sizeof(m) };

		assert_int_equal(feed(&src, 8, mixed, msizes, 3), 3);
		assert_int_equal(src.skipped_by_type[CT_MSG_STATE], 3);
		assert_int_equal(src.skipped_by_type[CT_MSG_CONN_END], 2);
	}
	src.skipping = false;
	assert_int_equal(feed_same(&src, 8, &ev, 1), 1);
	assert_int_equal(states.n, 1);
}

static void test_short_records_counted_not_handled(void **state)
{
	struct ct_evsource src;
	struct seen states = { 0 };
	struct ct_event ev = state_rec();
	uint16_t tiny = 1;
	void *recs[] = { &ev, &tiny, &ev };
	size_t sizes[] = { sizeof(ev) - 1, sizeof(tiny), sizeof(ev) };

	(void)state;
	states_source(&src, NULL, &states);
	assert_int_equal(feed(&src, 100, recs, sizes, 3), 3);
	assert_int_equal(states.n, 1);
	assert_int_equal(states.size[0], sizeof(ev));
	assert_int_equal(src.short_recs, 2);
	assert_int_equal(src.handled, 1);
}

static void test_unknown_types_counted(void **state)
{
	struct ct_evsource src;
	struct seen states = { 0 };
	struct ct_event ev = state_rec(), zero = state_rec(), big = state_rec();
	struct ct_conn_end m = end_rec();
	void *recs[] = { &zero, &big, &m, &ev };
	size_t sizes[] = { sizeof(ev), sizeof(ev), sizeof(m), sizeof(ev) };

	(void)state;
	zero.type = 0;
	big.type = 0x7fffffff;
	states_source(&src, NULL, &states);
	assert_int_equal(feed(&src, 100, recs, sizes, 4), 4);
	assert_int_equal(states.n, 1);
	assert_int_equal(src.unknown, 2);
	/* A close is a type we know; this mode just does not want it. */
	assert_int_equal(src.skipped, 1);
	assert_int_equal(src.short_recs, 0);
}

static void test_batch_ends_after_budget(void **state)
{
	struct ct_evsource src;
	struct seen states = { 0 };
	struct ct_event ev = state_rec();

	(void)state;
	states_source(&src, NULL, &states);
	assert_int_equal(feed_same(&src, 3, &ev, 5), 3);
	assert_true(src.paused);
	/* The record that ended the batch was handled: libbpf consumed it. */
	assert_int_equal(states.n, 3);
	/* Records that are not handled count against the budget too. */
	ev.type = 0;
	assert_int_equal(feed_same(&src, 2, &ev, 5), 2);
	assert_int_equal(src.unknown, 2);
}

static void test_stop_flag_ends_batch_midway(void **state)
{
	volatile sig_atomic_t stop = 0;
	struct ct_evsource src;
	struct seen states = { .raise_at_2 = &stop };
	struct ct_event ev = state_rec();

	(void)state;
	states_source(&src, &stop, &states);
	assert_int_equal(feed_same(&src, CT_EV_BATCH, &ev, 4), 2);
	assert_true(src.paused);
	assert_int_equal(states.n, 2);
}

/* A drain's time is looked at after each record, not each batch. */
static void test_time_past_ends_batch_after_one(void **state)
{
	struct ct_evsource src;
	struct seen states = { 0 };
	struct ct_event ev = state_rec();

	(void)state;
	states_source(&src, NULL, &states);
	src.until_ns = ct_monotonic_ns() + 3600ULL * 1000000000;
	assert_int_equal(feed_same(&src, CT_EV_BATCH, &ev, 3), 3);
	assert_false(src.paused);
	src.until_ns = ct_monotonic_ns();
	assert_int_equal(feed_same(&src, CT_EV_BATCH, &ev, 3), 1);
	assert_true(src.paused);
	assert_int_equal(states.n, 4);
}

static void test_stop_flag_set_before_reads_nothing(void **state)
{
	volatile sig_atomic_t stop = 1;
	struct ct_evsource src;

	(void)state;
	/* No ring at all: a stopped source must not even look at it. */
	ct_evsource_init(&src, &stop);
	assert_int_equal(ct_evsource_poll(&src, 1000, CT_EV_BATCH), 0);
	assert_int_equal(ct_evsource_consume(&src, CT_EV_BATCH), 0);
	stop = 0;
	assert_int_equal(ct_evsource_consume(&src, 0), 0);
}

static void test_register_rejects_bad_entries(void **state)
{
	struct ct_evsource src;
	struct seen s = { 0 };

	(void)state;
	ct_evsource_init(&src, NULL);
	assert_int_equal(ct_evsource_register(&src, CT_EV_MAX_TYPES, 8, record, &s),
			 -EINVAL);
	assert_int_equal(ct_evsource_register(&src, CT_MSG_STATE, 8, NULL, &s),
			 -EINVAL);
	assert_int_equal(ct_evsource_register(&src, CT_MSG_STATE, 2, record, &s),
			 -EINVAL);
	assert_int_equal(ct_evsource_register(&src, CT_MSG_STATE, 8, record, &s), 0);
	assert_int_equal(ct_evsource_register(&src, CT_MSG_STATE, 8, record, &s),
			 -EINVAL);
}

static char *report_of(const struct ct_evsource *src)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	ct_evsource_report(src, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_report_names_the_losses(void **state)
{
	struct ct_evsource src;
	char *text;

	(void)state;
	ct_evsource_init(&src, NULL);
	src.skipped = 5;
	text = report_of(&src);
	assert_string_equal(text, "");
	free(text);
	src.unknown = 3;
	src.short_recs = 7;
	text = report_of(&src);
	assert_non_null(strstr(text, "3 kernel records of an unknown type"));
	assert_non_null(strstr(text, "7 too short"));
	assert_non_null(strchr(text, '\n'));
	assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1);
	free(text);
}

/* The engine's own handlers, registered by the parts that consume them. */

static void capture(const struct ct_line *l, void *ctx)
{
	struct seen *s = ctx;

	assert_true(s->n < MAX_SEEN);
	s->rec[s->n++] = l;
}

static void test_events_takes_state_records(void **state)
{
	struct ct_evsource src;
	struct ct_events e;
	struct seen lines = { 0 };
	struct ct_event ev = state_rec();

	(void)state;
	ev.family = AF_INET;
	ev.oldstate = TCP_ESTABLISHED;
	ev.newstate = TCP_CLOSE_WAIT;
	ev.sport = 40000;
	ct_evsource_init(&src, NULL);
	assert_int_equal(ct_events_init(&e, NULL, -1, &(struct ct_kfilter){ 0 },
					capture, &lines), 0);
	assert_int_equal(ct_events_register(&e, &src), 0);
	assert_int_equal(feed_same(&src, 10, &ev, 1), 1);
	assert_int_equal(lines.n, 1);
	assert_int_equal(src.handled, 1);
	ct_events_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_type_reaches_its_handler),
		cmocka_unit_test(test_skipping_counts_without_handling),
		cmocka_unit_test(test_short_records_counted_not_handled),
		cmocka_unit_test(test_unknown_types_counted),
		cmocka_unit_test(test_batch_ends_after_budget),
		cmocka_unit_test(test_stop_flag_ends_batch_midway),
		cmocka_unit_test(test_time_past_ends_batch_after_one),
		cmocka_unit_test(test_stop_flag_set_before_reads_nothing),
		cmocka_unit_test(test_register_rejects_bad_entries),
		cmocka_unit_test(test_report_names_the_losses),
		cmocka_unit_test(test_events_takes_state_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
