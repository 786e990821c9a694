// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/recfile.h"
#include "engine/recmodel.h"
#include "modes/replay_opts.h"
#include "output/format.h"

static void test_when_forms(void **state)
{
	struct ct_when w;

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(ct_when_parse("+90", &w), 0);
	assert_true(w.relative);
	assert_int_equal(ct_when_wall(&w, 1000000000ULL), 91000000000ULL);
	assert_int_equal(ct_when_parse("@1700000000.5", &w), 0);
	assert_int_equal(ct_when_wall(&w, 0), 1700000000500000000ULL);
	assert_int_equal(ct_when_parse("2023-11-14 22:13:20", &w), 0);
	assert_int_equal(ct_when_wall(&w, 0), 1700000000000000000ULL);
	assert_int_equal(ct_when_parse("2023-11-14T22:13", &w), 0);
	assert_int_equal(ct_when_wall(&w, 0), 1699999980000000000ULL);
	/* A time of day lands on the recording's first day. */
	assert_int_equal(ct_when_parse("01:00:05", &w), 0);
	assert_true(w.time_of_day);
	assert_int_equal(ct_when_wall(&w, 1700000000000000000ULL),
			 (1700000000ULL / 86400 * 86400 + 3605) * 1000000000ULL);
}

/* Given times are in the zone shown times are in: local, or UTC (--utc). */
static void test_when_zone(void **state)
{
	struct ct_when d, tod;
	const uint64_t start = 1700000000000000000ULL;	/* 22:13:20Z */

	(void)state;
	setenv("TZ", "IST-5:30", 1);
	tzset();
	assert_int_equal(ct_when_parse("2023-11-14 22:13:20", &d), 0);
	assert_int_equal(ct_when_parse("01:00:05", &tod), 0);
	assert_int_equal(ct_when_wall(&d, 0), start - 19800000000000ULL);
	/* The start is 03:43:20 on the 15th there. */
	assert_int_equal(ct_when_wall(&tod, start), 1699990205000000000ULL);
	/* --utc after the time on the command line still counts. */
	ct_time_set_utc(true);
	assert_int_equal(ct_when_wall(&d, 0), start);
	assert_int_equal(ct_when_wall(&tod, start),
			 (1700000000ULL / 86400 * 86400 + 3605) * 1000000000ULL);
	ct_time_set_utc(false);
	setenv("TZ", "UTC", 1);
	tzset();
}

static void test_utc_option(void **state)
{
	char a0[] = "replay", a1[] = "rec", a2[] = "--utc", a3[] = "--json";
	char *argv[] = { a0, a1, a2, a3, NULL };
	struct ct_replay_opts o;
	char err[128];

	(void)state;
	ct_time_set_utc(false);
	assert_int_equal(ct_replay_parse(4, argv, &o, err, sizeof(err)),
			 CT_PARSE_OK);
	assert_true(ct_time_utc());
	assert_true(o.json);
	ct_time_set_utc(false);
}

static void test_when_junk(void **state)
{
	struct ct_when w;

	(void)state;
	assert_int_equal(ct_when_parse("+x", &w), -EINVAL);
	assert_int_equal(ct_when_parse("25:61", &w), -EINVAL);
	assert_int_equal(ct_when_parse("2023-11-14", &w), -EINVAL);
	assert_int_equal(ct_when_parse("yesterday", &w), -EINVAL);
	assert_int_equal(ct_when_parse("@", &w), -EINVAL);
}

static void apply(struct ct_recmodel *m, uint16_t type, const void *p,
		  uint16_t len)
{
	struct ct_rec rec = { .type = type, .len = len, .data = p };

	assert_int_equal(ct_recmodel_apply(m, &rec), 0);
}

static void snap(struct ct_recmodel *m, uint32_t kind, uint32_t count)
{
	struct ct_rec_snap h = { .ts_ns = 1, .kind = kind, .count = count };

	apply(m, CT_REC_SNAP, &h, sizeof(h));
}

static void sock(struct ct_recmodel *m, uint64_t skaddr, uint8_t st,
		 uint16_t sport, uint64_t acked)
{
	struct ct_tcp_rec t = {
		.skaddr = skaddr, .state = st, .sport = sport, .netns = 7,
		.tcp.bytes_acked = acked,
	};

	apply(m, CT_REC_SOCK, &t, sizeof(t));
}

static void line(struct ct_recmodel *m, uint64_t skaddr, uint8_t old,
		 uint8_t new, uint16_t sport)
{
	struct ct_rec_line l = { .ts_ns = 5 };

	l.ev.skaddr = skaddr;
	l.ev.oldstate = old;
	l.ev.newstate = new;
	l.ev.sport = sport;
	l.ev.netns = 7;
	l.ev.pid = 42;
	l.ev.owner_src = CT_OWNER_CONNECT;
	apply(m, CT_REC_LINE, &l, sizeof(l));
}

struct seen {
	size_t n;
	uint64_t acked[4];
	uint8_t state[4];
	uint32_t pid[4];
};

static int collect(const struct ct_tcp_rec *t, void *ctx)
{
	struct seen *s = ctx;

	assert_true(t->skaddr >= 1 && t->skaddr <= 4);
	s->acked[t->skaddr - 1] = t->tcp.bytes_acked;
	s->state[t->skaddr - 1] = t->state;
	s->pid[t->skaddr - 1] = t->owner.pid;
	s->n++;
	return 0;
}

static void test_model(void **state)
{
	struct ct_recmodel m;
	struct seen s = { 0 };
	struct ct_tcp_rec probe = { .netns = 7, .sport = 80 };

	(void)state;
	assert_int_equal(ct_recmodel_init(&m), 0);
	snap(&m, CT_SNAP_OPEN, 2);
	sock(&m, 1, TCP_LISTEN, 80, 0);
	sock(&m, 2, TCP_ESTABLISHED, 80, 100);
	assert_true(ct_recmodel_passive(&m, &probe));
	/* Counters change, a connection opens, one closes. */
	snap(&m, CT_SNAP_COUNTERS, 1);
	sock(&m, 2, TCP_ESTABLISHED, 80, 250);
	line(&m, 3, TCP_CLOSE, TCP_SYN_SENT, 5000);
	line(&m, 3, TCP_SYN_SENT, TCP_ESTABLISHED, 5000);
	line(&m, 2, TCP_ESTABLISHED, TCP_CLOSE, 80);
	assert_int_equal(ct_recmodel_each(&m, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.state[0], TCP_LISTEN);
	assert_int_equal(s.state[1], 0);
	assert_int_equal(s.state[2], TCP_ESTABLISHED);
	assert_int_equal(s.pid[2], 42);
	/* The listener closes: its port no longer makes sockets passive. */
	line(&m, 1, TCP_LISTEN, TCP_CLOSE, 80);
	assert_false(ct_recmodel_passive(&m, &probe));
	/* A file's first snapshot starts over. */
	snap(&m, CT_SNAP_OPEN, 1);
	sock(&m, 4, TCP_ESTABLISHED, 9, 1);
	memset(&s, 0, sizeof(s));
	ct_recmodel_each(&m, collect, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.acked[3], 1);
	ct_recmodel_free(&m);
}

/* A shorter record than version 1's is skipped, a longer one taken. */
static void test_model_lengths(void **state)
{
	struct ct_recmodel m;
	struct seen s = { 0 };
	unsigned char big[sizeof(struct ct_tcp_rec) + 40] = { 0 };
	struct ct_tcp_rec t = { .skaddr = 1, .state = TCP_ESTABLISHED };

	(void)state;
	assert_int_equal(ct_recmodel_init(&m), 0);
	apply(&m, CT_REC_SOCK, &t, CT_REC_SOCK_MIN - 1);
	ct_recmodel_each(&m, collect, &s);
	assert_int_equal(s.n, 0);
	memcpy(big, &t, sizeof(t));
	apply(&m, CT_REC_SOCK, big, sizeof(big));
	ct_recmodel_each(&m, collect, &s);
	assert_int_equal(s.n, 1);
	ct_recmodel_free(&m);
}

static bool final(uint8_t old, uint8_t new, bool derived)
{
	struct ct_rec_line l = { .derived = derived };

	l.ev.oldstate = old;
	l.ev.newstate = new;
	return ct_rec_line_final(&l);
}

/*
 * Each connection has one line with its last counters: the active
 * closer's is the derived hand-off to TIME_WAIT, never the derived
 * TIME_WAIT -> CLOSE after it (its bytes would count twice).
 */
static void test_final_line(void **state)
{
	(void)state;
	assert_true(final(TCP_LAST_ACK, TCP_CLOSE, false));
	assert_true(final(TCP_ESTABLISHED, TCP_CLOSE, false));
	assert_true(final(TCP_SYN_SENT, TCP_CLOSE, false));
	assert_true(final(TCP_FIN_WAIT2, TCP_CLOSE, false));
	assert_false(final(TCP_LISTEN, TCP_CLOSE, false));
	assert_false(final(TCP_ESTABLISHED, TCP_FIN_WAIT1, false));
	assert_true(final(TCP_FIN_WAIT2, TCP_TIME_WAIT, true));
	assert_true(final(TCP_FIN_WAIT1, TCP_TIME_WAIT, true));
	assert_true(final(TCP_CLOSING, TCP_TIME_WAIT, true));
	assert_true(final(TCP_FIN_WAIT2, TCP_CLOSE, true));
	assert_false(final(TCP_TIME_WAIT, TCP_CLOSE, true));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_when_forms),
		cmocka_unit_test(test_when_junk),
		cmocka_unit_test(test_when_zone),
		cmocka_unit_test(test_utc_option),
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_model_lengths),
		cmocka_unit_test(test_final_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
