// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "modes/top_opts.h"
#include "output/format.h"
#include "modes/top_view.h"

#define NS 1000000000ULL
#define T0 (100 * NS)
#define T1 (T0 + NS)		/* one second later: rates are deltas */

#define FAKE_CGROUP 0xc00000000000ULL

static struct ct_acct acct;
static struct ct_top_state st;
static struct ct_table tab;

/* A socket of the fixture: bytes at T0, then what it moved until T1. */
struct spec {
	uint64_t sk;
	uint32_t pid;
	const char *comm;
	uint16_t proto;
	const char *laddr, *raddr;
	uint16_t sport, dport;
	uint64_t tx0, rx0;
	uint64_t dtx, drx;
};

static void fill_share(struct ct_share *s, const struct spec *p, bool later)
{
	int family = strchr(p->raddr, ':') ? AF_INET6 : AF_INET;

	memset(s, 0, sizeof(*s));
	s->key.skaddr = p->sk;
	s->key.pid = p->pid;
	s->pid = p->pid;
	s->k.first_ns = 1;
	s->k.family = (uint16_t)family;
	s->k.proto = p->proto ? p->proto : 6;
	s->k.sport = p->sport;
	s->k.dport = p->dport;
	s->k.bytes[CT_TX] = p->tx0 + (later ? p->dtx : 0);
	s->k.bytes[CT_RX] = p->rx0 + (later ? p->drx : 0);
	s->k.calls[CT_TX] = later ? 2 : 1;
	s->k.calls[CT_RX] = later ? 4 : 3;
	assert_int_equal(inet_pton(family, p->laddr, s->k.saddr), 1);
	assert_int_equal(inet_pton(family, p->raddr, s->k.daddr), 1);
	snprintf(s->k.comm, sizeof(s->k.comm), "%s", p->comm);
	/* One made-up cgroup per process, far from any real one's id. */
	s->k.cgroup = FAKE_CGROUP + p->pid;
}

static void snapshot(const struct spec *sp, size_t n, uint64_t now, bool later)
{
	struct ct_share *snap = calloc(n ? n : 1, sizeof(*snap));

	assert_non_null(snap);
	for (size_t i = 0; i < n; i++)
		fill_share(&snap[i], &sp[i], later);
	assert_int_equal(ct_acct_update(&acct, snap, n, now), 0);
}

/* Two snapshots one second apart. */
static void build(const struct spec *sp, size_t n)
{
	snapshot(sp, n, T0, false);
	snapshot(sp, n, T1, true);
}

/*
 * Rates (B/s)        sent   recv   total     Totals     sent    recv  total
 *   curl (2 conns)   3010    120    3130                3020     130   3150
 *   nginx             100   5000    5100                 100    5000   5100
 *   ssh              2000   4000    6000               52000    4000  56000
 */
static const struct spec fixture[] = {
	{ .sk = 0x10, .pid = 100, .comm = "curl", .laddr = "10.0.0.1",
	  .raddr = "93.184.216.34", .sport = 40000, .dport = 443,
	  .tx0 = 10, .rx0 = 10, .dtx = 3000, .drx = 100 },
	{ .sk = 0x20, .pid = 200, .comm = "nginx", .laddr = "10.0.0.1",
	  .raddr = "10.0.0.9", .sport = 80, .dport = 51000,
	  .dtx = 100, .drx = 5000 },
	{ .sk = 0x30, .pid = 300, .comm = "ssh", .laddr = "2001:db8::2",
	  .raddr = "2001:db8::1", .sport = 50000, .dport = 22,
	  .tx0 = 50000, .dtx = 2000, .drx = 4000 },
	{ .sk = 0x40, .pid = 100, .comm = "curl", .proto = 17,
	  .laddr = "10.0.0.1", .raddr = "8.8.8.8", .sport = 41000, .dport = 53,
	  .dtx = 10, .drx = 20 },
};

#define NFIXTURE (sizeof(fixture) / sizeof(fixture[0]))

static int setup(void **state)
{
	(void)state;
	memset(&st, 0, sizeof(st));
	memset(&tab, 0, sizeof(tab));
	return ct_acct_init(&acct);
}

static int teardown(void **state)
{
	(void)state;
	ct_table_free(&tab);
	ct_acct_free(&acct);
	return 0;
}

static void render(enum ct_view view, enum ct_sort sort, bool totals)
{
	ct_table_free(&tab);
	st.view = view;
	st.sort = sort;
	st.totals = totals;
	assert_int_equal(ct_top_table(&acct, &st, T1, &tab), 0);
}

/* The row with runs of blanks made one space: easy to compare. */
static const char *squeeze(const char *row)
{
	static char buf[CT_ROW_LEN];
	size_t n = 0;

	for (const char *p = row; *p; p++) {
		if (*p == ' ' && (n == 0 || buf[n - 1] == ' '))
			continue;
		buf[n++] = *p;
	}
	while (n && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
	return buf;
}

/* The rows, in order, start with these words. */
static void assert_rows(const char *const *first, size_t n)
{
	assert_int_equal(tab.nrows, n);
	for (size_t i = 0; i < n; i++) {
		const char *row = squeeze(tab.rows[i]);
		size_t len = strlen(first[i]);

		if (strncmp(row, first[i], len) || row[len] != ' ')
			fail_msg("row %zu is '%s', expected '%s ...'", i, row,
				 first[i]);
	}
}

#define ROWS(...) assert_rows((const char *const[]){ __VA_ARGS__ },	\
	sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(char *))

/* --- keys --- */

static void test_key_sort(void **state)
{
	(void)state;
	assert_true(ct_top_key(&st, 's'));
	assert_int_equal(st.sort, CT_SORT_SENT);
	assert_true(ct_top_key(&st, 'r'));
	assert_int_equal(st.sort, CT_SORT_RECV);
	assert_true(ct_top_key(&st, 't'));
	assert_int_equal(st.sort, CT_SORT_TOTAL);
	assert_int_equal(st.view, CT_VIEW_PROCS);
	assert_false(st.totals);
}

static void test_key_m_toggles_totals(void **state)
{
	(void)state;
	assert_true(ct_top_key(&st, 'm'));
	assert_true(st.totals);
	assert_true(ct_top_key(&st, 'm'));
	assert_false(st.totals);
	assert_int_equal(st.sort, CT_SORT_TOTAL);
}

static void test_key_selects_view(void **state)
{
	(void)state;
	assert_true(ct_top_key(&st, 'c'));
	assert_int_equal(st.view, CT_VIEW_CONNS);
	assert_true(ct_top_key(&st, 'h'));
	assert_int_equal(st.view, CT_VIEW_HOSTS);
	assert_true(ct_top_key(&st, 'p'));
	assert_int_equal(st.view, CT_VIEW_PROCS);
	assert_true(ct_top_key(&st, 'h'));
	assert_true(ct_top_key(&st, 'c'));
	assert_int_equal(st.view, CT_VIEW_CONNS);
}

static void test_key_tab_and_v_cycle_views(void **state)
{
	static const int keys[] = { '\t', 'v' };

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		st.view = CT_VIEW_PROCS;
		assert_true(ct_top_key(&st, keys[k]));
		assert_int_equal(st.view, CT_VIEW_CONNS);
		assert_true(ct_top_key(&st, keys[k]));
		assert_int_equal(st.view, CT_VIEW_HOSTS);
		assert_true(ct_top_key(&st, keys[k]));
		assert_int_equal(st.view, CT_VIEW_CONTAINERS);
		assert_true(ct_top_key(&st, keys[k]));
		assert_int_equal(st.view, CT_VIEW_LATENCY);
		assert_true(ct_top_key(&st, keys[k]));
		assert_int_equal(st.view, CT_VIEW_PROCS);
	}
}

static void test_key_unknown_changes_nothing(void **state)
{
	static const int keys[] = { 'x', 'q', 'S', 'M', ' ', '\n', 0, -1, 259 };
	struct ct_top_state before;

	(void)state;
	st.view = CT_VIEW_HOSTS;
	st.sort = CT_SORT_RECV;
	st.totals = true;
	st.filter.pid = 7;
	memcpy(&before, &st, sizeof(st));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		assert_false(ct_top_key(&st, keys[i]));
		assert_memory_equal(&st, &before, sizeof(st));
	}
}

/* --- names --- */

static void test_view_parse_full_names(void **state)
{
	(void)state;
	assert_int_equal(ct_view_parse("processes"), CT_VIEW_PROCS);
	assert_int_equal(ct_view_parse("connections"), CT_VIEW_CONNS);
	assert_int_equal(ct_view_parse("hosts"), CT_VIEW_HOSTS);
}

static void test_view_parse_prefixes(void **state)
{
	(void)state;
	assert_int_equal(ct_view_parse("p"), CT_VIEW_PROCS);
	assert_int_equal(ct_view_parse("proc"), CT_VIEW_PROCS);
	assert_int_equal(ct_view_parse("c"), CT_VIEW_CONNS);
	assert_int_equal(ct_view_parse("conn"), CT_VIEW_CONNS);
	assert_int_equal(ct_view_parse("h"), CT_VIEW_HOSTS);
	assert_int_equal(ct_view_parse("host"), CT_VIEW_HOSTS);
}

static void test_view_parse_rejects(void **state)
{
	(void)state;
	assert_int_equal(ct_view_parse(""), -1);
	assert_int_equal(ct_view_parse("x"), -1);
	assert_int_equal(ct_view_parse("processesx"), -1);
	assert_int_equal(ct_view_parse("hostz"), -1);
	assert_int_equal(ct_view_parse(" hosts"), -1);
}

static void test_view_name(void **state)
{
	(void)state;
	assert_string_equal(ct_view_name(CT_VIEW_PROCS), "processes");
	assert_string_equal(ct_view_name(CT_VIEW_CONNS), "connections");
	assert_string_equal(ct_view_name(CT_VIEW_HOSTS), "hosts");
	assert_string_equal(ct_view_name(CT_VIEW_MAX), "?");
	for (int v = 0; v < CT_VIEW_MAX; v++)
		assert_int_equal(ct_view_parse(ct_view_name(v)), v);
}

static void test_sort_parse(void **state)
{
	(void)state;
	assert_int_equal(ct_sort_parse("total"), CT_SORT_TOTAL);
	assert_int_equal(ct_sort_parse("sent"), CT_SORT_SENT);
	assert_int_equal(ct_sort_parse("recv"), CT_SORT_RECV);
	assert_int_equal(ct_sort_parse("received"), CT_SORT_RECV);
	assert_int_equal(ct_sort_parse(""), -1);
	assert_int_equal(ct_sort_parse("up"), -1);
	assert_int_equal(ct_sort_parse("totals"), -1);
	assert_int_equal(ct_sort_parse("retrans"), CT_SORT_RETRANS);
	assert_int_equal(ct_sort_parse("resets"), CT_SORT_RESETS);
	assert_int_equal(ct_sort_parse("drops"), CT_SORT_DROPS);
	for (int k = CT_SORT_TOTAL; k <= CT_SORT_DROPS; k++)
		assert_int_equal(ct_sort_parse(ct_sort_name(k)), k);
}

/* --- byte counts --- */

static const char *bytes(double v, bool per_second)
{
	static char buf[32];

	memset(buf, 'x', sizeof(buf));
	assert_ptr_equal(ct_bytes_str(v, per_second, buf, sizeof(buf)), buf);
	return buf;
}

static void test_bytes_str_plain(void **state)
{
	(void)state;
	assert_string_equal(bytes(0, false), "0 B");
	assert_string_equal(bytes(0, true), "0 B/s");
	assert_string_equal(bytes(1, false), "1 B");
	assert_string_equal(bytes(1023, false), "1023 B");
	assert_string_equal(bytes(1023, true), "1023 B/s");
}

static void test_bytes_str_binary_units(void **state)
{
	(void)state;
	assert_string_equal(bytes(1024, false), "1.0 KiB");
	assert_string_equal(bytes(1536, true), "1.5 KiB/s");
	assert_string_equal(bytes(1048576, false), "1.0 MiB");
	assert_string_equal(bytes(2.5 * 1048576, true), "2.5 MiB/s");
	assert_string_equal(bytes(3.5 * 1073741824.0, false), "3.5 GiB");
	assert_string_equal(bytes(1099511627776.0, false), "1.0 TiB");
	assert_string_equal(bytes(7.3 * 1099511627776.0, true), "7.3 TiB/s");
	/* No unit past TiB. */
	assert_string_equal(bytes(2048 * 1099511627776.0, false), "2048.0 TiB");
}

static void test_bytes_str_truncates_safely(void **state)
{
	char buf[5];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	ct_bytes_str(1536, true, buf, sizeof(buf));
	assert_string_equal(buf, "1.5 ");
}

/* --- filters --- */

static void test_share_match(void **state)
{
	struct ct_share s;
	struct ct_kfilter f = { 0 };

	(void)state;
	fill_share(&s, &fixture[0], false);
	assert_true(ct_share_match(&f, &s));
	f.pid = 100;
	assert_true(ct_share_match(&f, &s));
	f.pid = 101;
	assert_false(ct_share_match(&f, &s));

	memset(&f, 0, sizeof(f));
	f.port = 443;			/* remote end */
	assert_true(ct_share_match(&f, &s));
	f.port = 40000;			/* local end */
	assert_true(ct_share_match(&f, &s));
	f.port = 80;
	assert_false(ct_share_match(&f, &s));

	memset(&f, 0, sizeof(f));
	f.family = AF_INET;
	assert_true(ct_share_match(&f, &s));
	f.family = AF_INET6;
	assert_false(ct_share_match(&f, &s));

	memset(&f, 0, sizeof(f));
	strcpy(f.comm, "curl");
	assert_true(ct_share_match(&f, &s));
	strcpy(f.comm, "cur");
	assert_false(ct_share_match(&f, &s));
	strcpy(f.comm, "curl2");
	assert_false(ct_share_match(&f, &s));

	/* All of them at once must all hold. */
	f = (struct ct_kfilter){ .pid = 100, .port = 443, .family = AF_INET };
	strcpy(f.comm, "curl");
	assert_true(ct_share_match(&f, &s));
	f.port = 53;
	assert_false(ct_share_match(&f, &s));
}

/* --- tables --- */

static void test_procs_header_rates(void **state)
{
	(void)state;
	build(fixture, NFIXTURE);
	render(CT_VIEW_PROCS, CT_SORT_TOTAL, false);
	assert_string_equal(squeeze(tab.header),
			    "PID COMM CONNS SEND/s RECV/s");
}

static void test_procs_header_totals(void **state)
{
	(void)state;
	build(fixture, NFIXTURE);
	render(CT_VIEW_PROCS, CT_SORT_TOTAL, true);
	assert_string_equal(squeeze(tab.header),
			    "PID COMM CONNS SENT RECEIVED");
}

static void test_procs_row_rates(void **state)
{
	(void)state;
	build(fixture, NFIXTURE);
	render(CT_VIEW_PROCS, CT_SORT_SENT, false);
	assert_string_equal(squeeze(tab.rows[0]),
			    "100 curl 2 2.9 KiB/s 120 B/s");
}

static void test_procs_row_totals(void **state)
{
	(void)state;
	build(fixture, NFIXTURE);
	render(CT_VIEW_PROCS, CT_SORT_SENT, true);
	assert_string_equal(squeeze(tab.rows[0]), "300 ssh 1 50.8 KiB 3.9 KiB");
	assert_string_equal(squeeze(tab.rows[1]), "100 curl 2 2.9 KiB 130 B");
	assert_string_equal(squeeze(tab.rows[2]), "200 nginx 1 100 B 4.9 KiB");
}

static void test_procs_sorted_by_rate(void **state)
{
	(void)state;
	build(fixture, NFIXTURE);
	render(CT_VIEW_PROCS, CT_SORT_SENT, false);
	ROWS("100", "300", "200");
	render(CT_VIEW_PROCS, CT_SORT_RECV, false);
	ROWS("200", "300", "100");
	render(CT_VIEW_PROCS, CT_SORT_TOTAL, false);
	ROWS("300", "200", "100");
}

static void test_procs_sorted_by_totals(void **state)
{
	(void)state;
	build(fixture, NFIXTURE);
	render(CT_VIEW_PROCS, CT_SORT_SENT, true);
	ROWS("300", "100", "200");
	render(CT_VIEW_PROCS, CT_SORT_RECV, true);
	ROWS("200", "300", "100");
	render(CT_VIEW_PROCS, CT_SORT_TOTAL, true);
	ROWS("300", "200", "100");
}

static void test_procs_ties_keep_order(void **state)
{
	static const struct spec same[] = {
		{ .sk = 1, .pid = 7, .comm = "a", .laddr = "10.0.0.1",
		  .raddr = "10.0.0.2", .dtx = 50, .drx = 50 },
		{ .sk = 2, .pid = 3, .comm = "b", .laddr = "10.0.0.1",
		  .raddr = "10.0.0.2", .dtx = 50, .drx = 50 },
		{ .sk = 3, .pid = 900, .comm = "c", .laddr = "10.0.0.1",
		  .raddr = "10.0.0.2", .dtx = 60, .drx = 50 },
		{ .sk = 4, .pid = 12, .comm = "d", .laddr = "10.0.0.1",
		  .raddr = "10.0.0.2", .dtx = 50, .drx = 50 },
	};
	struct ct_proc *p;
	char all[4][16], rest[3][16];
	size_t k = 0;
	int n;

	(void)state;
	build(same, 4);
	/* Tied rows come in the order ct_acct_procs() gives. */
	n = ct_acct_procs(&acct, &p);
	assert_int_equal(n, 4);
	for (int i = 0; i < n; i++) {
		snprintf(all[i], sizeof(all[i]), "%u", p[i].pid);
		if (p[i].pid != 900)
			snprintf(rest[k++], sizeof(rest[0]), "%u", p[i].pid);
	}
	free(p);
	render(CT_VIEW_PROCS, CT_SORT_TOTAL, false);
	ROWS("900", rest[0], rest[1], rest[2]);
	/* All received the same. */
	render(CT_VIEW_PROCS, CT_SORT_RECV, false);
	ROWS(all[0], all[1], all[2], all[3]);
}

static void test_procs_filters(void **state)
{
	(void)state;
	build(fixture, NFIXTURE);
	st.filter.pid = 200;
	render(CT_VIEW_PROCS, CT_SORT_TOTAL, false);
	ROWS("200");
	st.filter.pid = 4242;
	render(CT_VIEW_PROCS, CT_SORT_TOTAL, false);
	assert_int_equal(tab.nrows, 0);
	st.filter.pid = 0;
	strcpy(st.filter.comm, "ssh");
	render(CT_VIEW_PROCS, CT_SORT_TOTAL, false);
	ROWS("300");
	strcpy(st.filter.comm, "curl");
	render(CT_VIEW_PROCS, CT_SORT_TOTAL, false);
	ROWS("100");
}

static void test_procs_empty(void **state)
{
	(void)state;
	render(CT_VIEW_PROCS, CT_SORT_TOTAL, false);
	assert_int_equal(tab.nrows, 0);
	assert_non_null(strstr(tab.header, "PID"));
	/* Before the second snapshot there is no interval: no rate yet. */
	snapshot(fixture, NFIXTURE, T0, false);
	render(CT_VIEW_PROCS, CT_SORT_TOTAL, false);
	assert_int_equal(tab.nrows, 3);
	for (size_t i = 0; i < tab.nrows; i++) {
		const char *row = squeeze(tab.rows[i]);
		size_t len = strlen(row);

		assert_true(len > 12);
		assert_string_equal(row + len - 12, " 0 B/s 0 B/s");
	}
}

static void test_conns_header(void **state)
{
	(void)state;
	build(fixture, NFIXTURE);
	render(CT_VIEW_CONNS, CT_SORT_TOTAL, false);
	assert_string_equal(squeeze(tab.header),
			    "PID COMM PRO LADDR:LPORT RADDR:RPORT SEND/s RECV/s");
	render(CT_VIEW_CONNS, CT_SORT_TOTAL, true);
	assert_string_equal(squeeze(tab.header),
			    "PID COMM PRO LADDR:LPORT RADDR:RPORT SENT RECEIVED");
}

static void test_conns_rows(void **state)
{
	(void)state;
	build(fixture, NFIXTURE);
	render(CT_VIEW_CONNS, CT_SORT_SENT, false);
	assert_int_equal(tab.nrows, 4);
	assert_string_equal(squeeze(tab.rows[0]),
			    "100 curl tcp 10.0.0.1:40000 93.184.216.34:443 2.9 KiB/s 100 B/s");
	assert_string_equal(squeeze(tab.rows[1]),
			    "300 ssh tcp [2001:db8::2]:50000 [2001:db8::1]:22 2.0 KiB/s 3.9 KiB/s");
	assert_string_equal(squeeze(tab.rows[3]),
			    "100 curl udp 10.0.0.1:41000 8.8.8.8:53 10 B/s 20 B/s");
}

static void test_conns_sorted(void **state)
{
	(void)state;
	build(fixture, NFIXTURE);
	/* Told apart by their remote port. */
	render(CT_VIEW_CONNS, CT_SORT_SENT, false);
	ROWS("100 curl tcp", "300", "200", "100 curl udp");
	render(CT_VIEW_CONNS, CT_SORT_RECV, false);
	ROWS("200", "300", "100 curl tcp", "100 curl udp");
	render(CT_VIEW_CONNS, CT_SORT_TOTAL, false);
	ROWS("300", "200", "100 curl tcp", "100 curl udp");
	render(CT_VIEW_CONNS, CT_SORT_SENT, true);
	ROWS("300", "100 curl tcp", "200", "100 curl udp");
}

static void test_conns_ties_keep_key_order(void **state)
{
	static const struct spec same[] = {
		{ .sk = 5, .pid = 10, .comm = "a", .laddr = "10.0.0.1",
		  .raddr = "10.0.0.2", .dtx = 5 },
		{ .sk = 9, .pid = 20, .comm = "a", .laddr = "10.0.0.1",
		  .raddr = "10.0.0.2", .dtx = 5 },
		{ .sk = 3, .pid = 30, .comm = "a", .laddr = "10.0.0.1",
		  .raddr = "10.0.0.2", .dtx = 5 },
		{ .sk = 7, .pid = 40, .comm = "a", .laddr = "10.0.0.1",
		  .raddr = "10.0.0.2", .dtx = 6 },
	};

	(void)state;
	build(same, 4);
	render(CT_VIEW_CONNS, CT_SORT_SENT, false);
	ROWS("40", "30", "10", "20");
	/* Nothing received by anyone: all tied, in socket order. */
	render(CT_VIEW_CONNS, CT_SORT_RECV, false);
	ROWS("30", "10", "40", "20");
}

static void test_conns_filters(void **state)
{
	(void)state;
	build(fixture, NFIXTURE);
	st.filter.port = 443;
	render(CT_VIEW_CONNS, CT_SORT_TOTAL, false);
	ROWS("100 curl tcp");
	st.filter.port = 80;		/* nginx's local port */
	render(CT_VIEW_CONNS, CT_SORT_TOTAL, false);
	ROWS("200");
	st.filter.port = 0;
	st.filter.family = AF_INET6;
	render(CT_VIEW_CONNS, CT_SORT_TOTAL, false);
	ROWS("300");
	st.filter.family = AF_INET;
	render(CT_VIEW_CONNS, CT_SORT_TOTAL, false);
	ROWS("200", "100 curl tcp", "100 curl udp");
	st.filter.family = 0;
	st.filter.pid = 100;
	render(CT_VIEW_CONNS, CT_SORT_TOTAL, false);
	ROWS("100 curl tcp", "100 curl udp");
	st.filter.port = 53;
	render(CT_VIEW_CONNS, CT_SORT_TOTAL, false);
	ROWS("100 curl udp");
	st.filter.pid = 0;
	st.filter.port = 0;
	strcpy(st.filter.comm, "nginx");
	render(CT_VIEW_CONNS, CT_SORT_TOTAL, false);
	ROWS("200");
}

static void test_hosts_header(void **state)
{
	(void)state;
	build(fixture, NFIXTURE);
	render(CT_VIEW_HOSTS, CT_SORT_TOTAL, false);
	assert_string_equal(squeeze(tab.header),
			    "REMOTE CONNS 2s SEND/s / RECV/s 10s SEND/s / RECV/s "
			    "40s SEND/s / RECV/s");
}

static void test_hosts_row(void **state)
{
	(void)state;
	build(fixture, NFIXTURE);
	render(CT_VIEW_HOSTS, CT_SORT_TOTAL, false);
	assert_int_equal(tab.nrows, 4);
	/* 10 and 20 bytes in the one second seen: that rate in every window. */
	assert_string_equal(squeeze(tab.rows[3]),
			    "8.8.8.8 1 10 B/s / 20 B/s 10 B/s / 20 B/s 10 B/s / 20 B/s");
}

/* m (totals) shows each host's totals, in columns that say so. */
static void test_hosts_totals(void **state)
{
	(void)state;
	build(fixture, NFIXTURE);
	render(CT_VIEW_HOSTS, CT_SORT_SENT, true);
	assert_string_equal(squeeze(tab.header), "REMOTE CONNS SENT RECEIVED");
	assert_int_equal(tab.nrows, 4);
	assert_string_equal(squeeze(tab.rows[0]), "2001:db8::1 1 50.8 KiB 3.9 KiB");
	assert_string_equal(squeeze(tab.rows[3]), "8.8.8.8 1 10 B 20 B");
	assert_null(strstr(tab.rows[0], "/s"));
	render(CT_VIEW_HOSTS, CT_SORT_SENT, false);
	assert_non_null(strstr(tab.rows[0], "/s"));
}

/*
 * Rates by the 2 s window: what moved after the first snapshot (ssh's
 * 50,000 bytes before it count in its total only).
 */
static void test_hosts_sorted(void **state)
{
	(void)state;
	build(fixture, NFIXTURE);
	render(CT_VIEW_HOSTS, CT_SORT_SENT, false);
	ROWS("93.184.216.34", "2001:db8::1", "10.0.0.9", "8.8.8.8");
	render(CT_VIEW_HOSTS, CT_SORT_RECV, false);
	ROWS("10.0.0.9", "2001:db8::1", "93.184.216.34", "8.8.8.8");
	render(CT_VIEW_HOSTS, CT_SORT_TOTAL, false);
	ROWS("2001:db8::1", "10.0.0.9", "93.184.216.34", "8.8.8.8");
	render(CT_VIEW_HOSTS, CT_SORT_SENT, true);
	ROWS("2001:db8::1", "93.184.216.34", "10.0.0.9", "8.8.8.8");
}

static void test_hosts_aggregate_rows(void **state)
{
	static const struct spec two[] = {
		{ .sk = 1, .pid = 10, .comm = "a", .laddr = "10.0.0.1",
		  .raddr = "10.0.0.2", .dtx = 2048 },
		{ .sk = 2, .pid = 20, .comm = "b", .laddr = "10.0.0.1",
		  .raddr = "10.0.0.2", .dtx = 2048 },
	};

	(void)state;
	build(two, 2);
	render(CT_VIEW_HOSTS, CT_SORT_TOTAL, false);
	assert_int_equal(tab.nrows, 1);
	assert_string_equal(squeeze(tab.rows[0]),
			    "10.0.0.2 2 4.0 KiB/s / 0 B/s 4.0 KiB/s / 0 B/s "
			    "4.0 KiB/s / 0 B/s");
}

/* --- JSON --- */

/* A small validating parser: enough to tell JSON from not-JSON. */
static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (; *p != '"'; p++) {
		if (!*p || (unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\' && !*++p)
			return NULL;
	}
	return p + 1;
}

static const char *json_number(const char *p)
{
	const char *start;

	if (*p == '-')
		p++;
	start = p;
	while (isdigit((unsigned char)*p))
		p++;
	if (p == start)
		return NULL;
	if (*p == '.') {
		start = ++p;
		while (isdigit((unsigned char)*p))
			p++;
		if (p == start)
			return NULL;
	}
	return p;
}

static const char *json_members(const char *p, int depth, char close,
				bool keys)
{
	p = json_ws(p);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (keys) {
			p = json_string(json_ws(p));
			if (!p)
				return NULL;
			p = json_ws(p);
			if (*p++ != ':')
				return NULL;
		}
		p = json_value(p, depth + 1);
		if (!p)
			return NULL;
		p = json_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *json_value(const char *p, int depth)
{
	p = json_ws(p);
	if (depth > 16)
		return NULL;
	switch (*p) {
	case '{':
		return json_members(p + 1, depth, '}', true);
	case '[':
		return json_members(p + 1, depth, ']', false);
	case '"':
		return json_string(p);
	case 't':
		return strncmp(p, "true", 4) ? NULL : p + 4;
	case 'f':
		return strncmp(p, "false", 5) ? NULL : p + 5;
	case 'n':
		return strncmp(p, "null", 4) ? NULL : p + 4;
	default:
		return json_number(p);
	}
}

static void assert_json(const char *s)
{
	const char *end = json_value(s, 0);

	if (!end || *json_ws(end))
		fail_msg("not one JSON value: %s", s);
}

static void test_json_validator_itself(void **state)
{
	(void)state;
	assert_non_null(json_value("{\"a\":[1,2.5,{\"b\":null}],\"c\":\"x\\\"\"}", 0));
	assert_null(json_value("{\"a\":1,}", 0));
	assert_null(json_value("[1 2]", 0));
	assert_null(json_value("{\"a\":nan}", 0));
	assert_null(json_value("{\"a\":\"b}", 0));
}

static char *json_out;

static const char *top_json(uint64_t evicted, uint64_t lost)
{
	size_t len;
	FILE *f;

	free(json_out);
	f = open_memstream(&json_out, &len);
	assert_non_null(f);
	ct_top_json(f, &acct, &st, 1700000000ULL * NS, evicted, lost);
	assert_int_equal(fclose(f), 0);
	assert_json(json_out);
	return json_out;
}

static int json_teardown(void **state)
{
	free(json_out);
	json_out = NULL;
	return teardown(state);
}

#define assert_has(s, needle)						\
	do {								\
		if (!strstr((s), (needle)))				\
			fail_msg("'%s' not in %s", (needle), (s));	\
	} while (0)

#define assert_lacks(s, needle)						\
	do {								\
		if (strstr((s), (needle)))				\
			fail_msg("'%s' in %s", (needle), (s));		\
	} while (0)

static void test_json_shape(void **state)
{
	const char *j, *procs, *conns, *hosts;

	(void)state;
	build(fixture, NFIXTURE);
	j = top_json(7, 3);
	assert_has(j, "{\"time\":\"2023-11-14T22:13:20.000000Z\"");
	assert_has(j, ",\"interval_s\":1.000,\"evicted\":7,\"lost\":3,");
	procs = strstr(j, "\"processes\":[{");
	conns = strstr(j, "\"connections\":[{");
	hosts = strstr(j, "\"hosts\":[{");
	assert_non_null(procs);
	assert_non_null(conns);
	assert_non_null(hosts);
	assert_true(procs < conns && conns < hosts);
	assert_int_equal(j[strlen(j) - 1], '\n');
	assert_int_equal(j[strlen(j) - 2], '}');
}

static void test_json_process_fields(void **state)
{
	const char *j;

	(void)state;
	build(fixture, NFIXTURE);
	j = top_json(0, 0);
	assert_has(j, "{\"pid\":200,\"comm\":\"nginx\",\"conns\":1,"
		      "\"tx_bytes\":100,\"rx_bytes\":5000,"
		      "\"tx_rate\":100.0,\"rx_rate\":5000.0}");
	assert_has(j, "{\"pid\":100,\"comm\":\"curl\",\"conns\":2,"
		      "\"tx_bytes\":3020,\"rx_bytes\":130,"
		      "\"tx_rate\":3010.0,\"rx_rate\":120.0}");
}

static void test_json_connection_fields(void **state)
{
	const char *j;

	(void)state;
	build(fixture, NFIXTURE);
	j = top_json(0, 0);
	assert_has(j, "{\"pid\":300,\"comm\":\"ssh\",\"proto\":\"tcp\","
		      "\"family\":\"ipv6\",\"laddr\":\"2001:db8::2\","
		      "\"lport\":50000,\"raddr\":\"2001:db8::1\",\"rport\":22,"
		      "\"netns\":0,\"cgroup\":null,\"container\":null,"
		      "\"netns_name\":null,"
		      "\"sock\":\"0x30\","
		      "\"tx_bytes\":52000,\"rx_bytes\":4000,"
		      "\"tx_calls\":2,\"rx_calls\":4,"
		      "\"tx_rate\":2000.0,\"rx_rate\":4000.0,\"closed\":false,\"shared\":false}");
	assert_has(j, "\"proto\":\"udp\",\"family\":\"ipv4\"");
}

static void test_json_host_fields(void **state)
{
	const char *j;

	(void)state;
	build(fixture, NFIXTURE);
	j = top_json(0, 0);
	assert_has(j, "{\"raddr\":\"8.8.8.8\",\"conns\":1,"
		      "\"tx_bytes\":10,\"rx_bytes\":20,"
		      "\"tx_rate_2s\":10.0,\"rx_rate_2s\":20.0,"
		      "\"tx_rate_10s\":10.0,\"rx_rate_10s\":20.0,"
		      "\"tx_rate_40s\":10.0,\"rx_rate_40s\":20.0}");
}

static void test_json_filtered_shares_absent(void **state)
{
	const char *j;

	(void)state;
	build(fixture, NFIXTURE);
	st.filter.pid = 100;
	j = top_json(0, 0);
	assert_has(j, "\"pid\":100,");
	assert_lacks(j, "\"pid\":200,");
	assert_lacks(j, "\"pid\":300,");

	st.filter.pid = 0;
	st.filter.port = 53;
	j = top_json(0, 0);
	assert_has(j, "\"rport\":53");
	assert_lacks(j, "\"rport\":443");
	assert_lacks(j, "\"rport\":22");
	assert_lacks(j, "\"sock\":\"0x20\"");

	st.filter.port = 0;
	strcpy(st.filter.comm, "ssh");
	j = top_json(0, 0);
	assert_has(j, "\"comm\":\"ssh\"");
	assert_lacks(j, "\"comm\":\"curl\"");
	assert_lacks(j, "\"comm\":\"nginx\"");
}

/* The containers view adds up each cgroup's shares, as processes does pids. */
static void test_groups_add_up(void **state)
{
	struct ct_group *g;
	int n, seen = 0;

	(void)state;
	build(fixture, NFIXTURE);
	n = ct_acct_groups(&acct, &g);
	assert_int_equal(n, 3);
	for (int i = 0; i < n; i++) {
		if (g[i].cgroup == FAKE_CGROUP + 100) {
			assert_int_equal(g[i].nconns, 2);
			assert_int_equal(g[i].total[CT_TX], 3020);
			assert_int_equal(g[i].total[CT_RX], 130);
			assert_int_equal(g[i].delta[CT_TX], 3010);
			assert_int_equal(g[i].delta[CT_RX], 120);
			seen++;
		} else if (g[i].cgroup == FAKE_CGROUP + 300) {
			assert_int_equal(g[i].nconns, 1);
			assert_int_equal(g[i].total[CT_TX], 52000);
			seen++;
		}
	}
	assert_int_equal(seen, 2);
	free(g);
	/* A cgroup not found on this machine is shown as not known. */
	st.view = CT_VIEW_CONTAINERS;
	assert_int_equal(ct_top_table(&acct, &st, T1, &tab), 0);
	assert_int_equal(tab.nrows, 3);
	assert_non_null(strstr(tab.header, "CONTAINER"));
	assert_true(tab.rows[0][0] == '?');
	/* Closed and gone, a cgroup's bytes still count. */
	snapshot(fixture, 1, T1 + NS, true);
	n = ct_acct_groups(&acct, &g);
	assert_int_equal(n, 3);
	for (int i = 0; i < n; i++)
		if (g[i].cgroup == FAKE_CGROUP + 300)
			assert_int_equal(g[i].total[CT_TX], 52000);
	free(g);
}

static void test_json_empty(void **state)
{
	const char *j;

	(void)state;
	j = top_json(0, 0);
	assert_has(j, "\"interval_s\":0.000");
	assert_has(j, ",\"processes\":[],\"connections\":[],\"hosts\":[],"
		      "\"containers\":[]}\n");
	/* Everything filtered out still gives valid, empty lists. */
	build(fixture, NFIXTURE);
	st.filter.pid = 4242;
	j = top_json(0, 0);
	assert_has(j, "\"processes\":[],\"connections\":[]");
}

/* --- options --- */

#define PARSE_MODE "top"
#define PARSE_OPTS struct ct_top_opts
#define PARSE_FN ct_top_parse
#include "parse_test.h"

static void assert_defaults(void)
{
	assert_true(opts.interval_s == 1.0);
	assert_int_equal(opts.st.view, CT_VIEW_PROCS);
	assert_int_equal(opts.st.sort, CT_SORT_TOTAL);
	assert_false(opts.st.totals);
	assert_false(opts.batch);
	assert_false(opts.json);
	assert_false(opts.verbose);
	assert_int_equal(opts.count, 0);
	assert_int_equal(opts.max_conns, 0);
	assert_int_equal(opts.st.filter.pid, 0);
	assert_int_equal(opts.st.filter.port, 0);
	assert_int_equal(opts.st.filter.family, 0);
	assert_string_equal(opts.st.filter.comm, "");
}

static void test_parse_defaults(void **state)
{
	(void)state;
	assert_int_equal(PARSE_NONE(), CT_PARSE_OK);
	assert_defaults();
}

static void test_parse_once(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--once"), CT_PARSE_OK);
	assert_int_equal(opts.count, 1);
	assert_true(opts.batch);
	assert_false(opts.json);
}

static void test_parse_count(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--count", "5"), CT_PARSE_OK);
	assert_int_equal(opts.count, 5);
	assert_true(opts.batch);
	assert_int_equal(PARSE("--count=12"), CT_PARSE_OK);
	assert_int_equal(opts.count, 12);
	assert_parse_error("'0'", "--count", "0");
	assert_parse_error("'x'", "--count", "x");
	assert_parse_error("'-1'", "--count", "-1");
	assert_parse_error("1 to 1000000000", "--count", "1000000001");
	/* -n is ls's --numeric; top's count is --count only. */
	assert_parse_error("unknown option '-n'", "-n", "5");
}

static void test_parse_interval(void **state)
{
	(void)state;
	assert_int_equal(PARSE("-d", "2.5"), CT_PARSE_OK);
	assert_true(opts.interval_s == 2.5);
	assert_true(opts.batch);
	assert_int_equal(PARSE("--interval=0.5"), CT_PARSE_OK);
	assert_true(opts.interval_s == 0.5);
	/* Shorter ones would outrun the 40 s of host history. */
	assert_parse_error("'0.4'", "-d", "0.4");
	assert_parse_error("'0.05'", "-d", "0.05");
	assert_parse_error("'0'", "-d", "0");
	assert_parse_error("'abc'", "-d", "abc");
	assert_parse_error("'1e3'", "-d", "1e3");
	assert_parse_error("interval", "--interval", "");
	assert_parse_error("0.5 to 86400", "--interval", "86401");
	/* -i is ls's --info; top's interval is -d, as procps top has it. */
	assert_parse_error("unknown option '-i'", "-i", "1");
}

static void test_parse_json(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--json"), CT_PARSE_OK);
	assert_true(opts.json);
	assert_true(opts.batch);
	assert_int_equal(opts.count, 0);
	assert_int_equal(PARSE("-j"), CT_PARSE_OK);
	assert_true(opts.json);
	assert_true(opts.batch);
}

static void test_parse_view(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--view", "connections"), CT_PARSE_OK);
	assert_int_equal(opts.st.view, CT_VIEW_CONNS);
	assert_false(opts.batch);
	assert_int_equal(PARSE("--view=conn"), CT_PARSE_OK);
	assert_int_equal(opts.st.view, CT_VIEW_CONNS);
	assert_int_equal(PARSE("--view", "h"), CT_PARSE_OK);
	assert_int_equal(opts.st.view, CT_VIEW_HOSTS);
	assert_int_equal(PARSE("--view", "processes"), CT_PARSE_OK);
	assert_int_equal(opts.st.view, CT_VIEW_PROCS);
	assert_parse_error("invalid view 'bogus'", "--view", "bogus");
	assert_parse_error("invalid view ''", "--view=");
	assert_parse_error("needs a value", "--view");
}

static void test_parse_sort(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--sort", "sent"), CT_PARSE_OK);
	assert_int_equal(opts.st.sort, CT_SORT_SENT);
	assert_int_equal(PARSE("--sort=recv"), CT_PARSE_OK);
	assert_int_equal(opts.st.sort, CT_SORT_RECV);
	assert_int_equal(PARSE("--sort", "received"), CT_PARSE_OK);
	assert_int_equal(opts.st.sort, CT_SORT_RECV);
	assert_int_equal(PARSE("--sort", "total"), CT_PARSE_OK);
	assert_int_equal(opts.st.sort, CT_SORT_TOTAL);
	assert_parse_error("invalid sort key 'up'", "--sort", "up");
	assert_parse_error("needs a value", "--sort");
}

static void test_parse_totals(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--totals"), CT_PARSE_OK);
	assert_true(opts.st.totals);
	assert_false(opts.batch);
	assert_parse_error("takes no value", "--totals=1");
}

static void test_parse_max_conns(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--max-conns", "1024"), CT_PARSE_OK);
	assert_int_equal(opts.max_conns, 1024);
	assert_int_equal(PARSE("--max-conns=16"), CT_PARSE_OK);
	assert_int_equal(opts.max_conns, 16);
	assert_int_equal(PARSE("--max-conns", "1048576"), CT_PARSE_OK);
	assert_int_equal(opts.max_conns, 1048576);
	assert_parse_error("'15'", "--max-conns", "15");
	/* 16777216 once took 29 s to start and 3.2 GiB of kernel memory. */
	assert_parse_error("'16777216'", "--max-conns", "16777216");
	assert_parse_error("16 to 1048576", "--max-conns", "1048577");
	assert_parse_error("'lots'", "--max-conns", "lots");
}

static void test_parse_filters(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--pid", "42", "-c", "curl", "--port", "443", "-6"),
			 CT_PARSE_OK);
	assert_int_equal(opts.st.filter.pid, 42);
	assert_string_equal(opts.st.filter.comm, "curl");
	assert_int_equal(opts.st.filter.port, 443);
	assert_int_equal(opts.st.filter.family, AF_INET6);
	assert_int_equal(PARSE("-4", "-6"), CT_PARSE_OK);
	assert_int_equal(opts.st.filter.family, 0);
	assert_parse_error("invalid --port", "--port", "0");
}

static void test_parse_verbose_and_help(void **state)
{
	(void)state;
	assert_int_equal(PARSE("-v"), CT_PARSE_OK);
	assert_true(opts.verbose);
	assert_int_equal(opts.st.view, CT_VIEW_PROCS);
	assert_int_equal(PARSE("-h"), CT_PARSE_HELP);
	assert_int_equal(PARSE("--help"), CT_PARSE_HELP);
}

static void test_parse_unknown_options(void **state)
{
	(void)state;
	assert_parse_error("unknown option '--frob'", "--frob");
	assert_parse_error("unknown option '-x'", "-x");
	assert_parse_error("unknown option '--sort-by'", "--once", "--sort-by", "sent");
}

/* A word that is not an option is no view name, whatever else it is. */
static void test_parse_stray_argument(void **state)
{
	(void)state;
	assert_parse_error("extra", "extra");
	assert_parse_error("hosts", "--once", "hosts");
	assert_parse_error("sent", "--sort", "total", "sent");
}

static void test_parse_repeated(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(PARSE("-j", "--count", "3", "-d", "5", "--view", "hosts",
				       "--sort", "sent", "--totals", "--pid", "9",
				       "--max-conns", "64", "-v"),
				 CT_PARSE_OK);
		assert_true(opts.json && opts.batch && opts.verbose);
		assert_int_equal(opts.count, 3);
		assert_true(opts.interval_s == 5);
		assert_int_equal(opts.st.view, CT_VIEW_HOSTS);
		assert_int_equal(opts.st.sort, CT_SORT_SENT);
		assert_true(opts.st.totals);
		assert_int_equal(opts.st.filter.pid, 9);
		assert_int_equal(opts.max_conns, 64);
		/* Nothing is left over for the next parse. */
		assert_int_equal(PARSE_NONE(), CT_PARSE_OK);
		assert_defaults();
		assert_parse_error("'nope'", "--sort", "nope");
	}
}

static void test_usage(void **state)
{
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	ct_opts_help(&ct_top_cmd, f);
	fclose(f);
	assert_has(buf, "Usage: conntrace top");
	assert_has(buf, "--view");
	assert_has(buf, "--sort");
	assert_has(buf, "--totals");
	assert_has(buf, "--max-conns");
	assert_has(buf, "--pid");
	/* Bounds and defaults come from the table. */
	assert_has(buf, "(16 to 1048576; default");
	assert_has(buf, "65536)");
	free(buf);
}

/* --- retransmits, resets, drops and latency --- */

static struct ct_tally tally;

static void event(int kind, uint64_t sk, uint32_t pid, uint64_t value)
{
	struct ct_tev_line l;

	memset(&l, 0, sizeof(l));
	l.ev.kind = (uint8_t)kind;
	l.ev.skaddr = sk;
	l.ev.pid = pid;
	l.ev.value = value;
	l.ev.ts_ns = T0;
	l.ev.family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, "10.0.0.9", l.ev.daddr), 1);
	ct_tally_add(&tally, &l);
}

/* curl's TCP socket: 5 retransmits; nginx's: 2 resets, 1 drop; ssh nothing. */
static int tally_setup(void **state)
{
	assert_int_equal(setup(state), 0);
	assert_int_equal(ct_tally_init(&tally), 0);
	event(CT_TEV_RETRANS, 0x10, 100, 3);
	event(CT_TEV_RETRANS, 0x10, 100, 2);
	event(CT_TEV_RESET_SENT, 0x20, 200, 0);
	event(CT_TEV_RESET_RECV, 0x20, 200, 0);
	event(CT_TEV_DROP, 0x20, 200, 1);
	event(CT_TEV_CONNECT_LAT, 0, 100, 2000000);
	event(CT_TEV_CONNECT_LAT, 0, 100, 4000000);
	event(CT_TEV_CONNECT_LAT, 0, 100, 9000000);
	st.tally = &tally;
	return 0;
}

static int tally_teardown(void **state)
{
	ct_tally_free(&tally);
	free(json_out);
	json_out = NULL;
	return teardown(state);
}

static void test_trouble_columns(void **state)
{
	(void)state;
	build(fixture, NFIXTURE);
	render(CT_VIEW_PROCS, CT_SORT_TOTAL, false);
	assert_string_equal(squeeze(tab.header),
			    "PID COMM CONNS SEND/s RECV/s RETRANS RESETS DROPS");
	ROWS("300", "200", "100");
	assert_string_equal(squeeze(tab.rows[1]),
			    "200 nginx 1 100 B/s 4.9 KiB/s 0 2 1");
	render(CT_VIEW_CONNS, CT_SORT_SENT, false);
	assert_string_equal(squeeze(tab.header),
			    "PID COMM PRO LADDR:LPORT RADDR:RPORT SEND/s RECV/s RETRANS RESETS DROPS");
	assert_string_equal(squeeze(tab.rows[0]),
			    "100 curl tcp 10.0.0.1:40000 93.184.216.34:443 2.9 KiB/s 100 B/s 5 0 0");
	/* curl's UDP socket is another socket: none of its TCP one's. */
	assert_string_equal(squeeze(tab.rows[3]),
			    "100 curl udp 10.0.0.1:41000 8.8.8.8:53 10 B/s 20 B/s 0 0 0");
}

static void test_sorted_by_trouble(void **state)
{
	(void)state;
	build(fixture, NFIXTURE);
	/* The rest tie at 0: only the first row is told apart. */
	render(CT_VIEW_PROCS, CT_SORT_RETRANS, false);
	assert_string_equal(squeeze(tab.rows[0]), "100 curl 2 2.9 KiB/s 120 B/s 5 0 0");
	render(CT_VIEW_PROCS, CT_SORT_RESETS, false);
	assert_string_equal(squeeze(tab.rows[0]), "200 nginx 1 100 B/s 4.9 KiB/s 0 2 1");
	render(CT_VIEW_CONNS, CT_SORT_DROPS, false);
	assert_int_equal(strncmp(squeeze(tab.rows[0]), "200 nginx tcp", 13), 0);
	render(CT_VIEW_CONNS, CT_SORT_RETRANS, false);
	assert_int_equal(strncmp(squeeze(tab.rows[0]), "100 curl tcp", 12), 0);
	assert_true(ct_top_key(&st, 'R'));
	assert_int_equal(st.sort, CT_SORT_RETRANS);
	assert_true(ct_top_key(&st, 'X'));
	assert_int_equal(st.sort, CT_SORT_RESETS);
	assert_true(ct_top_key(&st, 'D'));
	assert_int_equal(st.sort, CT_SORT_DROPS);
}

static void test_trouble_missing_hook(void **state)
{
	const char *j;

	(void)state;
	build(fixture, NFIXTURE);
	tally.missing = 1U << CT_TALLY_DROPS;
	render(CT_VIEW_PROCS, CT_SORT_RETRANS, false);
	assert_string_equal(squeeze(tab.rows[0]),
			    "100 curl 2 2.9 KiB/s 120 B/s 5 0 -");
	j = top_json(0, 0);
	assert_has(j, "\"tx_rate\":3010.0,\"rx_rate\":120.0,"
		      "\"retrans\":5,\"resets\":0,\"drops\":null}");
}

static void test_trouble_json(void **state)
{
	const char *j;

	(void)state;
	build(fixture, NFIXTURE);
	j = top_json(0, 0);
	assert_has(j, "{\"pid\":200,\"comm\":\"nginx\",\"conns\":1,"
		      "\"tx_bytes\":100,\"rx_bytes\":5000,"
		      "\"tx_rate\":100.0,\"rx_rate\":5000.0,"
		      "\"retrans\":0,\"resets\":2,\"drops\":1}");
	assert_has(j, "\"sock\":\"0x10\"");
	assert_has(j, "\"closed\":false,\"shared\":false,"
		      "\"retrans\":5,\"resets\":0,\"drops\":0}");
	assert_has(j, "\"latency\":[{\"raddr\":\"10.0.0.9\",\"connects\":3,"
		      "\"p50_ms\":4.000,\"p99_ms\":9.000,\"max_ms\":9.000}]");
}

static void test_latency_view(void **state)
{
	(void)state;
	build(fixture, NFIXTURE);
	render(CT_VIEW_LATENCY, CT_SORT_TOTAL, false);
	assert_string_equal(squeeze(tab.header),
			    "REMOTE CONNECTS P50_MS P99_MS MAX_MS");
	assert_int_equal(tab.nrows, 1);
	assert_string_equal(squeeze(tab.rows[0]), "10.0.0.9 3 4.000 9.000 9.000");
	assert_true(ct_top_key(&st, 'l'));
	assert_int_equal(st.view, CT_VIEW_LATENCY);
	assert_int_equal(ct_view_parse("latency"), CT_VIEW_LATENCY);
	/* Without the events (a replay): the header, no rows, no JSON keys. */
	st.tally = NULL;
	render(CT_VIEW_LATENCY, CT_SORT_TOTAL, false);
	assert_int_equal(tab.nrows, 0);
	assert_null(strstr(top_json(0, 0), "latency"));
	assert_null(strstr(json_out, "retrans"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TJ(f) cmocka_unit_test_setup_teardown(f, setup, json_teardown)
#define TT(f) cmocka_unit_test_setup_teardown(f, tally_setup, tally_teardown)
	const struct CMUnitTest tests[] = {
		T(test_key_sort),
		T(test_key_m_toggles_totals),
		T(test_key_selects_view),
		T(test_key_tab_and_v_cycle_views),
		T(test_key_unknown_changes_nothing),
		T(test_view_parse_full_names),
		T(test_view_parse_prefixes),
		T(test_view_parse_rejects),
		T(test_view_name),
		T(test_sort_parse),
		T(test_bytes_str_plain),
		T(test_bytes_str_binary_units),
		T(test_bytes_str_truncates_safely),
		T(test_share_match),
		T(test_procs_header_rates),
		T(test_procs_header_totals),
		T(test_procs_row_rates),
		T(test_procs_row_totals),
		T(test_procs_sorted_by_rate),
		T(test_procs_sorted_by_totals),
		T(test_procs_ties_keep_order),
		T(test_procs_filters),
		T(test_procs_empty),
		T(test_conns_header),
		T(test_conns_rows),
		T(test_conns_sorted),
		T(test_conns_ties_keep_key_order),
		T(test_conns_filters),
		T(test_hosts_header),
		T(test_hosts_row),
		T(test_hosts_totals),
		T(test_hosts_sorted),
		T(test_hosts_aggregate_rows),
		T(test_json_validator_itself),
		TJ(test_json_shape),
		TJ(test_json_process_fields),
		TJ(test_json_connection_fields),
		TJ(test_json_host_fields),
		TJ(test_json_filtered_shares_absent),
		TJ(test_json_empty),
		T(test_groups_add_up),
		T(test_parse_defaults),
		T(test_parse_once),
		T(test_parse_count),
		T(test_parse_interval),
		T(test_parse_json),
		T(test_parse_view),
		T(test_parse_sort),
		T(test_parse_totals),
		T(test_parse_max_conns),
		T(test_parse_filters),
		T(test_parse_verbose_and_help),
		T(test_parse_unknown_options),
		T(test_parse_stray_argument),
		T(test_parse_repeated),
		T(test_usage),
		TT(test_trouble_columns),
		TT(test_sorted_by_trouble),
		TT(test_trouble_missing_hook),
		TT(test_trouble_json),
		TT(test_latency_view),
	};
#undef TJ
#undef TT
#undef T

	/* JSON times in UTC ("Z"), whatever this machine's zone. */
	ct_time_set_utc(true);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
