// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* The event handler and formatter, fed fabricated records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/evsource.h"
#include "engine/kernel.h"
#include "engine/tcpev.h"
#include "modes/watch_out.h"
#include "modes/watch_opts.h"
#include "modes/watch_summary.h"

#define MAX_LINES 8

struct fixture {
	struct ct_tcpev t;
	struct ct_tev_line lines[MAX_LINES];
	int n;
};

static void capture(const struct ct_tev_line *l, void *ctx)
{
	struct fixture *fx = ctx;

	assert_true(fx->n < MAX_LINES);
	fx->lines[fx->n++] = *l;
}

static void start(struct fixture *fx, unsigned int mask,
		  const struct ct_kfilter *f)
{
	static const struct ct_kfilter none;

	memset(fx, 0, sizeof(*fx));
	assert_int_equal(ct_tcpev_init(&fx->t, NULL, NULL, f ? f : &none,
				       mask, capture, fx), 0);
}

static struct ct_tcp_ev record(int kind, uint32_t pid, uint8_t src)
{
	struct ct_tcp_ev ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = CT_MSG_TCP_EV;
	ev.kind = (uint8_t)kind;
	ev.state = TCP_ESTABLISHED;
	ev.ts_ns = 1000;
	ev.pid = pid;
	ev.owner_src = src;
	if (pid)
		strcpy(ev.comm, "client");
	ev.family = AF_INET;
	ev.sport = 40000;
	ev.dport = 80;
	inet_pton(AF_INET, "10.0.0.1", ev.saddr);
	inet_pton(AF_INET, "10.0.0.2", ev.daddr);
	return ev;
}

static void test_mask_selects_kinds(void **state)
{
	struct fixture fx;
	struct ct_tcp_ev rt = record(CT_TEV_RETRANS, 7, CT_OWNER_CONNECT);
	struct ct_tcp_ev lat = record(CT_TEV_CONNECT_LAT, 7, CT_OWNER_CONNECT);

	(void)state;
	start(&fx, ct_tev_trouble_kinds(), NULL);
	ct_tcpev_handle(&fx.t, &rt);
	ct_tcpev_handle(&fx.t, &lat);
	assert_int_equal(fx.n, 1);
	assert_int_equal(fx.lines[0].ev.kind, CT_TEV_RETRANS);
	assert_int_equal(fx.t.handled[CT_TEV_RETRANS], 1);
	assert_int_equal(fx.t.handled[CT_TEV_CONNECT_LAT], 0);
	ct_tcpev_free(&fx.t);
}

/* A kind the kernel may send one day is not an index out of bounds. */
static void test_unknown_kind_ignored(void **state)
{
	struct fixture fx;
	struct ct_tcp_ev ev = record(CT_TEV_KINDS + 3, 7, CT_OWNER_CONNECT);

	(void)state;
	start(&fx, CT_TEV_ALL, NULL);
	ct_tcpev_handle(&fx.t, &ev);
	assert_int_equal(fx.n, 0);
	ct_tcpev_free(&fx.t);
}

/* In the accept queue: the listener's holder is not said to own it. */
static void test_listener_owner_not_owner(void **state)
{
	struct fixture fx;
	struct ct_tcp_ev ev = record(CT_TEV_RESET_RECV, 9, CT_OWNER_LISTENER);

	(void)state;
	start(&fx, CT_TEV_ALL, NULL);
	ct_tcpev_handle(&fx.t, &ev);
	assert_int_equal(fx.n, 1);
	assert_int_equal(fx.lines[0].ev.pid, 0);
	assert_int_equal(fx.lines[0].ev.owner_src, CT_OWNER_NONE);
	assert_int_equal(fx.lines[0].listener_pid, 9);
	assert_string_equal(fx.lines[0].listener_comm, "client");
	ct_tcpev_free(&fx.t);
}

/* Without a walk of the files to ask, an unknown owner stays unknown. */
static void test_unknown_owner_not_guessed(void **state)
{
	struct fixture fx;
	struct ct_tcp_ev ev = record(CT_TEV_DROP, 5, CT_OWNER_NONE);

	(void)state;
	ev.ino = 1234;
	start(&fx, CT_TEV_ALL, NULL);
	ct_tcpev_handle(&fx.t, &ev);
	assert_int_equal(fx.n, 1);
	assert_int_equal(fx.lines[0].ev.pid, 0);
	assert_string_equal(fx.lines[0].ev.comm, "");
	ct_tcpev_free(&fx.t);
}

static void test_filter_applies(void **state)
{
	struct ct_kfilter f = { .port = 443 };
	struct fixture fx;
	struct ct_tcp_ev ev = record(CT_TEV_RETRANS, 7, CT_OWNER_CONNECT);

	(void)state;
	start(&fx, CT_TEV_ALL, &f);
	ct_tcpev_handle(&fx.t, &ev);
	assert_int_equal(fx.n, 0);
	ev.dport = 443;
	ct_tcpev_handle(&fx.t, &ev);
	assert_int_equal(fx.n, 1);
	ct_tcpev_free(&fx.t);
}

static struct ct_listen_drops listener(uint64_t cookie, uint64_t drops)
{
	struct ct_listen_drops d;

	memset(&d, 0, sizeof(d));
	d.key.family = AF_INET;
	d.key.port = 8080;
	d.l.skaddr = 0xffff0000 + cookie;
	d.l.owner.pid = 42;
	d.l.owner.src = CT_OWNER_LISTEN;
	strcpy(d.l.owner.comm, "server");
	d.cookie = cookie;
	d.drops = drops;
	return d;
}

/*
 * The first walk takes the counts as they are; a rise afterwards is one
 * drop event with the rise as its count, the listener's owner as owner.
 */
static void test_listener_drops_rise(void **state)
{
	struct fixture fx;
	struct ct_listen_drops old = listener(1, 50), fresh = listener(2, 3);

	(void)state;
	start(&fx, CT_TEV_ALL, NULL);
	ct_tcpev_listener(&fx.t, &old, 10);
	assert_int_equal(fx.n, 0);
	fx.t.next_walk_ns = 1;		/* the first walk is over */
	ct_tcpev_listener(&fx.t, &old, 20);
	assert_int_equal(fx.n, 0);
	old.drops = 57;
	ct_tcpev_listener(&fx.t, &old, 30);
	assert_int_equal(fx.n, 1);
	assert_int_equal(fx.lines[0].ev.value, 7);
	assert_int_equal(fx.lines[0].ev.kind, CT_TEV_DROP);
	assert_int_equal(fx.lines[0].ev.state, TCP_LISTEN);
	assert_int_equal(fx.lines[0].ev.pid, 42);
	assert_true(fx.lines[0].ev.flags & CT_TEV_FROM_COUNTER);
	/* Born after the first walk: all its drops are news. */
	ct_tcpev_listener(&fx.t, &fresh, 40);
	assert_int_equal(fx.n, 2);
	assert_int_equal(fx.lines[1].ev.value, 3);
	/* A new listener with no drops says nothing. */
	fresh = listener(3, 0);
	ct_tcpev_listener(&fx.t, &fresh, 50);
	assert_int_equal(fx.n, 2);
	assert_string_equal(ct_tcpev_reason(&fx.t, &fx.lines[0].ev),
			    "LISTEN_DROP");
	ct_tcpev_free(&fx.t);
}

/*
 * Listeners a complete walk did not see are gone: their counts go, so
 * that a host opening and closing listeners does not grow the table; the
 * ones it saw keep theirs (a rise after is still one event, not all).
 */
static void test_gone_listeners_forgotten(void **state)
{
	struct fixture fx;
	struct ct_listen_drops stay = listener(1, 5), gone = listener(2, 9);
	size_t cap;

	(void)state;
	start(&fx, CT_TEV_ALL, NULL);
	fx.t.walks++;
	ct_tcpev_listener(&fx.t, &stay, 10);
	ct_tcpev_listener(&fx.t, &gone, 10);
	assert_int_equal(ct_tcpev_forget_gone(&fx.t), 0);
	assert_int_equal(fx.t.listen_drops.len, 2);
	fx.t.next_walk_ns = 1;		/* the first walk is over */
	fx.t.walks++;
	stay.drops = 6;
	ct_tcpev_listener(&fx.t, &stay, 20);
	assert_int_equal(ct_tcpev_forget_gone(&fx.t), 0);
	assert_int_equal(fx.t.listen_drops.len, 1);
	assert_non_null(u64map_get(&fx.t.listen_drops, 1));
	assert_null(u64map_get(&fx.t.listen_drops, 2));
	assert_int_equal(fx.n, 1);
	assert_int_equal(fx.lines[0].ev.value, 1);
	/* 10,000 listeners, each open for one walk: the table stays small. */
	cap = fx.t.listen_drops.cap;
	for (uint64_t c = 100; c < 10100; c++) {
		struct ct_listen_drops d = listener(c, 0);

		fx.t.walks++;
		ct_tcpev_listener(&fx.t, &stay, 30);
		ct_tcpev_listener(&fx.t, &d, 30);
		assert_int_equal(ct_tcpev_forget_gone(&fx.t), 0);
		assert_int_equal(fx.t.listen_drops.len, 2);
	}
	assert_true(fx.t.listen_drops.cap <= cap);
	assert_int_equal(fx.n, 1);
	ct_tcpev_free(&fx.t);
}

/*
 * Reason names are read at load when drops or sent resets are wanted (the
 * same names the first event would have read), and not at all otherwise.
 */
static void test_reasons_read_at_load(void **state)
{
	struct fixture fx;
	struct ct_tcp_ev ev = record(CT_TEV_DROP, 42, CT_OWNER_NONE);
	const char *name;
	char lazy[64] = "";

	(void)state;
	start(&fx, CT_TEV_BIT(CT_TEV_RETRANS), NULL);
	ct_tcpev_load_reasons(&fx.t);
	assert_false(fx.t.drop_tried || fx.t.rst_tried);
	ct_tcpev_free(&fx.t);

	start(&fx, CT_TEV_BIT(CT_TEV_DROP), NULL);
	ev.code = 2;
	name = ct_tcpev_reason(&fx.t, &ev);
	if (name)
		snprintf(lazy, sizeof(lazy), "%s", name);
	ct_tcpev_free(&fx.t);
	start(&fx, CT_TEV_BIT(CT_TEV_DROP), NULL);
	ct_tcpev_load_reasons(&fx.t);
	assert_true(fx.t.drop_tried && fx.t.rst_tried);
	if (lazy[0])
		assert_string_equal(ct_tcpev_reason(&fx.t, &ev), lazy);
	else
		assert_null(ct_tcpev_reason(&fx.t, &ev));
	ct_tcpev_free(&fx.t);
}

static void test_parse_list(void **state)
{
	unsigned int mask;
	bool states;
	char err[200];

	(void)state;
	assert_int_equal(ct_tev_parse_list("retrans,reset", &mask, &states,
					   err, sizeof(err)), 0);
	assert_false(states);
	assert_int_equal(mask, CT_TEV_BIT(CT_TEV_RETRANS) |
			       CT_TEV_BIT(CT_TEV_SYNACK_RETRANS) |
			       CT_TEV_BIT(CT_TEV_RESET_SENT) |
			       CT_TEV_BIT(CT_TEV_RESET_RECV));
	assert_int_equal(ct_tev_parse_list("state", &mask, &states, err,
					   sizeof(err)), 0);
	assert_true(states);
	assert_int_equal(mask, 0);
	assert_int_equal(ct_tev_parse_list("all", &mask, &states, err,
					   sizeof(err)), 0);
	assert_true(states);
	assert_int_equal(mask, CT_TEV_ALL);
	assert_int_equal(ct_tev_parse_list("latency,fail,drop", &mask, &states,
					   err, sizeof(err)), 0);
	assert_int_equal(mask, CT_TEV_BIT(CT_TEV_CONNECT_LAT) |
			       CT_TEV_BIT(CT_TEV_ACCEPT_LAT) |
			       CT_TEV_BIT(CT_TEV_CONNECT_FAIL) |
			       CT_TEV_BIT(CT_TEV_DROP));
	assert_int_equal(ct_tev_parse_list("retrans,bogus", &mask, &states,
					   err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--events: unknown kind 'bogus' (expected state, retrans, reset, fail, drop, latency or all)");
	assert_int_equal(ct_tev_parse_list("retrans,", &mask, &states, err,
					   sizeof(err)), -EINVAL);
	assert_int_equal(ct_tev_parse_list("", &mask, &states, err,
					   sizeof(err)), -EINVAL);
	assert_int_equal(ct_tev_parse_list("retrans,,reset", &mask, &states,
					   err, sizeof(err)), -EINVAL);
}

/* watch: the default is transitions and trouble; --lifetime stands alone. */
static void test_watch_events_option(void **state)
{
	struct ct_watch_opts o;
	char err[200];
	char *dflt[] = { "watch", NULL };
	char *lt[] = { "watch", "--lifetime", NULL };
	char *ev[] = { "watch", "--events", "drop", NULL };
	char *bad[] = { "watch", "--events", "nope", NULL };

	(void)state;
	assert_int_equal(ct_watch_parse(1, dflt, &o, err, sizeof(err)), CT_PARSE_OK);
	assert_true(o.states);
	assert_int_equal(o.tev_mask, ct_tev_trouble_kinds());
	assert_int_equal(ct_watch_parse(2, lt, &o, err, sizeof(err)), CT_PARSE_OK);
	assert_int_equal(o.tev_mask, 0);
	assert_int_equal(ct_watch_parse(3, ev, &o, err, sizeof(err)), CT_PARSE_OK);
	assert_false(o.states);
	assert_int_equal(o.tev_mask, CT_TEV_BIT(CT_TEV_DROP));
	assert_int_equal(ct_watch_parse(3, bad, &o, err, sizeof(err)),
			 CT_PARSE_ERROR);
	ctf_free(o.filter.expr);
}

/* Formats one event with the JSON writer; returns the line, to free. */
static char *format_json(const struct ct_tev_line *l)
{
	struct ct_out o;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	ct_out_init(&o, f, true);
	o.mono_to_wall_ns = 0;
	ct_out_tev(&o, l);
	fclose(f);
	return buf;
}

static void test_json_failed_connect(void **state)
{
	struct ct_tev_line l;
	char *s;

	(void)state;
	memset(&l, 0, sizeof(l));
	l.ev = record(CT_TEV_CONNECT_FAIL, 7, CT_OWNER_CONNECT);
	l.ev.state = TCP_SYN_SENT;
	l.ev.code = ECONNREFUSED;
	l.ev.value = 1500000;
	s = format_json(&l);
	assert_non_null(strstr(s, "{\"event\":\"fail\","));
	assert_non_null(strstr(s, "\"pid\":7,\"comm\":\"client\",\"owner\":\"connect\""));
	assert_non_null(strstr(s, "\"state\":\"SYN_SENT\",\"errno\":111,\"error\":\"ECONNREFUSED\",\"ms\":1.500"));
	free(s);
}

static void test_json_retransmit_and_unknown_owner(void **state)
{
	struct ct_tev_line l;
	char *s;

	(void)state;
	memset(&l, 0, sizeof(l));
	l.ev = record(CT_TEV_RETRANS, 0, CT_OWNER_NONE);
	l.ev.value = 2;
	l.ev.seq = 100;
	l.ev.end_seq = 2996;
	l.ev.flags = CT_TEV_LOSS_TIMEOUT;
	s = format_json(&l);
	assert_non_null(strstr(s, "\"pid\":null,\"comm\":null,\"owner\":\"unknown\""));
	assert_non_null(strstr(s, "\"packet\":\"data\",\"segs\":2,\"seq\":100,\"end_seq\":2996,\"loss\":\"timeout\""));
	free(s);
}

static void test_json_drop_from_counter(void **state)
{
	struct ct_tev_line l;
	char *s;

	(void)state;
	memset(&l, 0, sizeof(l));
	l.ev = record(CT_TEV_DROP, 42, CT_OWNER_LISTEN);
	l.ev.state = TCP_LISTEN;
	l.ev.flags = CT_TEV_FROM_COUNTER;
	l.ev.code = -1;
	l.ev.value = 5;
	s = format_json(&l);
	/* Without a ct_tcpev no reason names are read; the counter has its own. */
	assert_non_null(strstr(s, "\"reason\":null,\"reason_code\":null,\"count\":5,\"source\":\"sk_drops\""));
	free(s);
}

/* tp_btf where BTF types the tracepoint, raw_tp else, and no drops unnamed. */
static void test_tev_hook_choice(void **state)
{
	struct ct_probe p;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.btf = true;
	p.tev.tp[CT_TEV_TP_RETRANS].in_btf = true;
	p.tev.tp[CT_TEV_TP_RST_RECV].in_tracefs = true;
	p.tev.tp[CT_TEV_TP_DROP].in_btf = true;
	assert_int_equal(ct_tev_hook(&p, CT_TEV_TP_RETRANS), CT_HOOK_TP_BTF);
	assert_int_equal(ct_tev_hook(&p, CT_TEV_TP_RST_RECV), CT_HOOK_RAW_TP);
	assert_int_equal(ct_tev_hook(&p, CT_TEV_TP_SYNACK), CT_HOOK_NONE);
	/* kfree_skb before 5.17: no reason, no drop events. */
	assert_int_equal(ct_tev_hook(&p, CT_TEV_TP_DROP), CT_HOOK_NONE);
	assert_string_equal(ct_tev_missing_reason(&p, CT_TEV_TP_DROP),
			    "skb:kfree_skb has no drop reason before Linux 5.17");
	p.tev.kfree_reason = true;
	assert_int_equal(ct_tev_hook(&p, CT_TEV_TP_DROP), CT_HOOK_TP_BTF);
	assert_int_equal(ct_tev_hook(&p, CT_TEV_TP_MAX), CT_HOOK_NONE);
	p.btf = false;
	assert_int_equal(ct_tev_hook(&p, CT_TEV_TP_RETRANS), CT_HOOK_NONE);
}

/* Microsecond log2 buckets: [0,1], [2,3], [4,7], ... */
static void test_hist_buckets(void **state)
{
	(void)state;
	assert_int_equal(ct_hist_bucket(0), 0);
	assert_int_equal(ct_hist_bucket(1999), 0);
	assert_int_equal(ct_hist_bucket(2000), 1);
	assert_int_equal(ct_hist_bucket(3999), 1);
	assert_int_equal(ct_hist_bucket(4000), 2);
	assert_int_equal(ct_hist_bucket(1000000), 9);	/* 1 ms: 512..1023 us */
	assert_int_equal(ct_hist_bucket(UINT64_MAX), CT_HIST_BUCKETS - 1);
}

static void test_summary_per_host(void **state)
{
	struct ct_tcp_ev a = record(CT_TEV_CONNECT_LAT, 7, CT_OWNER_CONNECT);
	struct ct_tcp_ev b = a, other = record(CT_TEV_RETRANS, 7, CT_OWNER_CONNECT);
	struct ct_summary s;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	ct_summary_init(&s);
	a.value = 100000;			/* 100 us: bucket 6 */
	b.value = 3000000;			/* 3 ms: bucket 11 */
	ct_summary_add(&s, &a);
	ct_summary_add(&s, &a);
	ct_summary_add(&s, &b);
	ct_summary_add(&s, &other);		/* not a latency: ignored */
	inet_pton(AF_INET, "10.9.9.9", b.daddr);
	ct_summary_add(&s, &b);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.hosts[0].count, 3);
	assert_int_equal(s.hosts[0].buckets[6], 2);
	assert_int_equal(s.hosts[0].buckets[11], 1);
	assert_int_equal(s.hosts[1].count, 1);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	ct_summary_print(&s, f, false);
	fclose(f);
	assert_non_null(strstr(buf, "connect latency to 10.0.0.2 (3 connects)"));
	assert_non_null(strstr(buf, "        64 -> 127      : 2        |****************************************|"));
	assert_non_null(strstr(buf, "      2048 -> 4095     : 1        |********************                    |"));
	assert_non_null(strstr(buf, "connect latency to 10.9.9.9 (1 connects)"));
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	ct_summary_print(&s, f, true);
	fclose(f);
	assert_non_null(strstr(buf, "{\"event\":\"summary\",\"what\":\"connect_latency\",\"raddr\":\"10.0.0.2\",\"count\":3,\"buckets\":[{\"lo_us\":64,\"hi_us\":127,\"count\":2},"));
	free(buf);
	ct_summary_free(&s);
}

/* Loss is never silent: a kind that lost records gets a line, others not. */
static void test_loss_lines(void **state)
{
	struct ct_tev_count lost = { .events = 40, .lost = 3 };
	struct ct_tev_count fine = { .events = 40, .lost = 0 };
	char buf[160];

	(void)state;
	assert_true(ct_tev_loss_line(CT_TEV_RETRANS, &lost, false, buf, sizeof(buf)));
	assert_string_equal(buf, "retransmit events: 40 written, 3 lost (ring buffer full)");
	assert_true(ct_tev_loss_line(CT_TEV_DROP, &lost, false, buf, sizeof(buf)));
	assert_string_equal(buf, "drop events: 40 written, 3 lost (ring buffer full)");
	assert_false(ct_tev_loss_line(CT_TEV_RESET_RECV, &fine, false, buf, sizeof(buf)));
	assert_string_equal(buf, "");
	/* -v: every kind asked for, lost or not. */
	assert_true(ct_tev_loss_line(CT_TEV_RESET_RECV, &fine, true, buf, sizeof(buf)));
	assert_string_equal(buf, "reset received events: 40 written, 0 lost (ring buffer full)");
	/* Every kind has its own words. */
	for (int k = 0; k < CT_TEV_KINDS; k++) {
		char other[160];

		assert_true(ct_tev_loss_line(k, &lost, false, buf, sizeof(buf)));
		for (int j = 0; j < k; j++) {
			ct_tev_loss_line(j, &lost, false, other, sizeof(other));
			assert_string_not_equal(buf, other);
		}
	}
	assert_false(ct_tev_loss_line(CT_TEV_KINDS, &lost, true, buf, sizeof(buf)));
	assert_false(ct_tev_loss_line(-1, &lost, true, buf, sizeof(buf)));
}

/* The kinds' table: every kind has a row, and the masks follow from it. */
static void test_kind_table(void **state)
{
	unsigned int tally = 0;

	(void)state;
	for (int k = 0; k < CT_TEV_KINDS; k++) {
		const struct ct_tev_kind_info *i = ct_tev_kind(k);

		assert_string_not_equal(i->name, "unknown");
		assert_non_null(i->label);
		assert_non_null(i->tag);
		assert_true(i->tally < CT_TALLY_COLS);
		if (i->tally >= 0)
			tally |= CT_TEV_BIT(k);
	}
	assert_string_equal(ct_tev_kind(CT_TEV_KINDS)->name, "unknown");
	assert_string_equal(ct_tev_kind(-1)->tag, "UNKNOWN");
	/* Latency is a line per connection: not on by default. */
	assert_int_equal(ct_tev_trouble_kinds(),
			 CT_TEV_ALL & ~(CT_TEV_BIT(CT_TEV_CONNECT_LAT) |
					CT_TEV_BIT(CT_TEV_ACCEPT_LAT)));
	assert_int_equal(ct_tev_tally_kinds(), tally);
	assert_int_equal(ct_tev_kind(CT_TEV_SYNACK_RETRANS)->tally, CT_TALLY_RETRANS);
	assert_int_equal(ct_tev_kind(CT_TEV_RESET_RECV)->tally, CT_TALLY_RESETS);
	assert_int_equal(ct_tev_kind(CT_TEV_DROP)->tally, CT_TALLY_DROPS);
	assert_int_equal(ct_tev_kind(CT_TEV_CONNECT_FAIL)->tally, -1);
	assert_true(ct_tev_kind(CT_TEV_ACCEPT_LAT)->is_time);
	assert_false(ct_tev_kind(CT_TEV_RETRANS)->is_time);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask_selects_kinds),
		cmocka_unit_test(test_unknown_kind_ignored),
		cmocka_unit_test(test_listener_owner_not_owner),
		cmocka_unit_test(test_unknown_owner_not_guessed),
		cmocka_unit_test(test_filter_applies),
		cmocka_unit_test(test_listener_drops_rise),
		cmocka_unit_test(test_parse_list),
		cmocka_unit_test(test_reasons_read_at_load),
		cmocka_unit_test(test_watch_events_option),
		cmocka_unit_test(test_json_failed_connect),
		cmocka_unit_test(test_json_retransmit_and_unknown_owner),
		cmocka_unit_test(test_json_drop_from_counter),
		cmocka_unit_test(test_tev_hook_choice),
		cmocka_unit_test(test_hist_buckets),
		cmocka_unit_test(test_summary_per_host),
		cmocka_unit_test(test_loss_lines),
		cmocka_unit_test(test_kind_table),
		cmocka_unit_test(test_gone_listeners_forgotten),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
