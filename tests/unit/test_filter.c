// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/filter.h"

/* Kernel TCP state numbers. */
enum {
	EST = 1, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSE,
	CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING, NEW_SYN_RECV,
};

struct sock_row {
	int family;
	int state;
	const char *saddr;
	uint16_t sport;
	const char *daddr;
	uint16_t dport;
};

/*
 * The sockets every expression is matched against. A match vector below
 * has one character per row, '1' where the row must match.
 */
static const struct sock_row rows[] = {
	/*  0 */ { AF_INET, EST, "10.0.0.5", 43210, "52.92.53.10", 443 },
	/*  1 */ { AF_INET, LISTEN, "0.0.0.0", 8080, "0.0.0.0", 0 },
	/*  2 */ { AF_INET6, LISTEN, "::", 22, "::", 0 },
	/*  3 */ { AF_INET6, EST, "2001:db8::5", 22, "2001:db8:1::9", 51000 },
	/*  4 */ { AF_INET6, EST, "::ffff:192.168.1.10", 8080,
		   "::ffff:52.95.130.1", 40000 },
	/*  5 */ { AF_INET, SYN_SENT, "192.168.1.10", 40001, "54.231.250.7", 443 },
	/*  6 */ { AF_INET, SYN_RECV, "127.0.0.1", 8080, "127.0.0.1", 40002 },
	/*  7 */ { AF_INET, TIME_WAIT, "127.0.0.1", 40003, "127.0.0.1", 8080 },
	/*  8 */ { AF_INET, FIN_WAIT1, "10.1.2.3", 5000, "10.9.9.9", 80 },
	/*  9 */ { AF_INET, FIN_WAIT2, "10.1.2.3", 5001, "10.9.9.9", 80 },
	/* 10 */ { AF_INET6, CLOSE_WAIT, "::1", 631, "::1", 50000 },
	/* 11 */ { AF_INET, LAST_ACK, "172.16.0.1", 25, "8.8.8.8", 1024 },
	/* 12 */ { AF_INET, CLOSING, "172.16.0.1", 26, "8.8.4.4", 1023 },
	/* 13 */ { AF_INET, CLOSE, "0.0.0.0", 0, "0.0.0.0", 0 },
	/* 14 */ { AF_INET6, NEW_SYN_RECV, "::1", 8080, "::1", 40004 },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static struct ctf_sockinfo socks[NROWS];

static int setup_socks(void **state)
{
	(void)state;
	memset(socks, 0, sizeof(socks));
	for (size_t i = 0; i < NROWS; i++) {
		const struct sock_row *r = &rows[i];
		struct ctf_sockinfo *s = &socks[i];

		s->family = r->family;
		s->state = (uint8_t)r->state;
		s->sport = r->sport;
		s->dport = r->dport;
		if (inet_pton(r->family, r->saddr, s->saddr) != 1 ||
		    inet_pton(r->family, r->daddr, s->daddr) != 1)
			return -1;
	}
	return 0;
}

struct match_case {
	const char *expr;
	const char *want;	/* one '0' or '1' per row */
};

/*
 * Checks the match vector of one expression, and that the analysis
 * helpers never exclude a socket that matches.
 */
static void check_case(const struct match_case *c)
{
	struct ctf_filter *f = NULL;
	struct ctf_error err;
	char got[NROWS + 1];
	int sport, dport, either;

	if (ctf_parse(c->expr, &f, &err)) {
		print_error("'%s': %s\n", c->expr, err.msg);
		fail();
	}
	assert_int_equal(strlen(c->want), NROWS);
	sport = ctf_port(f, CTF_SRC);
	dport = ctf_port(f, CTF_DST);
	either = ctf_port(f, CTF_EITHER);
	for (size_t i = 0; i < NROWS; i++) {
		bool m = ctf_match(f, &socks[i]);

		got[i] = m ? '1' : '0';
		if (!m)
			continue;
		assert_true(ctf_states(f) & (1u << socks[i].state));
		assert_true(sport < 0 || sport == socks[i].sport);
		assert_true(dport < 0 || dport == socks[i].dport);
		assert_true(either < 0 || either == socks[i].sport ||
			    either == socks[i].dport);
	}
	got[NROWS] = '\0';
	if (strcmp(got, c->want)) {
		print_error("'%s': got %s want %s\n", c->expr, got, c->want);
		fail();
	}
	ctf_free(f);
}

static void check_cases(const struct match_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_case(&c[i]);
}

#define CHECK_CASES(a) check_cases(a, sizeof(a) / sizeof(a[0]))

static void test_state_names(void **state)
{
	static const struct match_case cases[] = {
		{ "state established", "100110000000000" },
		{ "state ESTABLISHED", "100110000000000" },
		{ "STATE Established", "100110000000000" },
		{ "state syn-sent", "000001000000000" },
		{ "state SYN_SENT", "000001000000000" },
		{ "state syn-recv", "000000100000001" },
		{ "state SYN_RECV", "000000100000001" },
		{ "state new-syn-recv", "000000000000001" },
		{ "state fin-wait-1", "000000001000000" },
		{ "state fin_wait1", "000000001000000" },
		{ "state FIN-WAIT1", "000000001000000" },
		{ "state fin-wait-2", "000000000100000" },
		{ "state fin_wait_2", "000000000100000" },
		{ "state time-wait", "000000010000000" },
		{ "state TIME_WAIT", "000000010000000" },
		{ "state closed", "000000000000010" },
		{ "state close", "000000000000010" },
		{ "state CLOSED", "000000000000010" },
		{ "state close-wait", "000000000010000" },
		{ "state CLOSE_WAIT", "000000000010000" },
		{ "state last-ack", "000000000001000" },
		{ "state LAST_ACK", "000000000001000" },
		{ "state listening", "011000000000000" },
		{ "state LISTEN", "011000000000000" },
		{ "state closing", "000000000000100" },
	};

	(void)state;
	CHECK_CASES(cases);
}

static void test_state_groups(void **state)
{
	static const struct match_case cases[] = {
		{ "state all", "111111111111111" },
		{ "state connected", "100111111111101" },
		{ "state synchronized", "100110111111101" },
		{ "state bucket", "000000110000001" },
		{ "state big", "111111001111110" },
		{ "state Connected", "100111111111101" },
	};

	(void)state;
	CHECK_CASES(cases);
}

static void test_state_runs_as_ss(void **state)
{
	static const struct match_case cases[] = {
		/* Consecutive state words add up, as in ss. */
		{ "state established state listening", "111110000000000" },
		{ "state connected exclude established", "000001111111101" },
		{ "exclude listening", "100111111111111" },
		{ "excl listening exclude closed", "100111111111101" },
		{ "exclude bucket", "111111001111110" },
		/* An explicit "and" intersects. */
		{ "state established and state listening", "000000000000000" },
		{ "state established or state listening", "111110000000000" },
	};

	(void)state;
	CHECK_CASES(cases);
}

static void test_port_operators(void **state)
{
	static const struct match_case cases[] = {
		{ "sport = :8080", "010010100000001" },
		{ "sport == 8080", "010010100000001" },
		{ "sport eq :8080", "010010100000001" },
		{ "sport=:8080", "010010100000001" },
		{ "sport :8080", "010010100000001" },
		{ "sport 8080", "010010100000001" },
		{ "SPORT EQ 8080", "010010100000001" },
		{ "sport != :8080", "101101011111110" },
		{ "sport neq 8080", "101101011111110" },
		{ "sport ne 8080", "101101011111110" },
		{ "dport < :1024", "111001001100110" },
		{ "dport lt 1024", "111001001100110" },
		{ "dport<1024", "111001001100110" },
		{ "dport <= :1024", "111001001101110" },
		{ "dport le 1024", "111001001101110" },
		{ "dport > :1024", "000110110010001" },
		{ "dport gt 1024", "000110110010001" },
		{ "dport >= :1024", "000110110011001" },
		{ "dport ge 1024", "000110110011001" },
		{ "sport = 0", "000000000000010" },
		{ "dport = 65535", "000000000000000" },
		{ "port = 8080", "010010110000001" },
		{ "port != 8080", "101101001111110" },
		{ "port < 100", "011100001101110" },
	};

	(void)state;
	CHECK_CASES(cases);
}

static void test_addresses(void **state)
{
	static const struct match_case cases[] = {
		{ "dst 52.92.52.0/22", "100000000000000" },
		{ "src 10.0.0.0/8", "100000001100000" },
		{ "src 10.0.0.0/32", "000000000000000" },
		{ "src 10.0.0.5/32", "100000000000000" },
		{ "src 10.1.2.0/23", "000000001100000" },
		{ "src 0.0.0.0/0", "110011111101110" },
		{ "dst 127.0.0.1", "000000110000000" },
		/* IPv4 filters match IPv4-mapped IPv6 sockets, and back. */
		{ "src 192.168.1.10", "000011000000000" },
		{ "dst 52.95.130.1", "000010000000000" },
		{ "src ::ffff:192.168.1.10", "000011000000000" },
		{ "src ::ffff:192.168.0.0/112", "000011000000000" },
		{ "dst = ::ffff:52.95.130.1", "000010000000000" },
		{ "src 2001:db8::/32", "000100000000000" },
		{ "dst 2001:db8::/32", "000100000000000" },
		{ "dst 2001:db8::/48", "000000000000000" },
		{ "src 2001:db8::/48", "000100000000000" },
		{ "src 2001:DB8::5", "000100000000000" },
		{ "src ::1", "000000000010001" },
		{ "src ::/0", "001110000010001" },
		{ "src ::", "001000000000000" },
		{ "src *", "111111111111111" },
		{ "src != 127.0.0.1", "111111001111111" },
		{ "dst 8.8.8.8", "000000000001000" },
		{ "dst 8.8.0.0/16", "000000000001100" },
	};

	(void)state;
	CHECK_CASES(cases);
}

static void test_host_port(void **state)
{
	static const struct match_case cases[] = {
		{ "dst 127.0.0.1:8080", "000000010000000" },
		{ "src 127.0.0.1:8080", "000000100000000" },
		{ "dst *:443", "100001000000000" },
		{ "dst :443", "100001000000000" },
		{ "dst *:*", "111111111111111" },
		{ "dst 10.0.0.1:443", "000000000000000" },
		{ "dst 52.92.52.0/22:443", "100000000000000" },
		{ "dst 52.92.52.0/22:80", "000000000000000" },
		{ "src 10.0.0.0/8:5000", "000000001000000" },
		{ "src 192.168.1.10:8080", "000010000000000" },
		{ "dst [::1]:50000", "000000000010000" },
		{ "src [::1]:8080", "000000000000001" },
		{ "src [::1]", "000000000010001" },
		{ "src [::1]:*", "000000000010001" },
		{ "src [2001:db8::/32]:22", "000100000000000" },
		{ "src [2001:db8::]/32:22", "000100000000000" },
		{ "src [::ffff:192.168.1.10]:8080", "000010000000000" },
	};

	(void)state;
	CHECK_CASES(cases);
}

static void test_boolean(void **state)
{
	static const struct match_case cases[] = {
		{ "sport = :8080 and state listening", "010000000000000" },
		{ "sport = :8080 && state listening", "010000000000000" },
		{ "sport = :8080 & state listening", "010000000000000" },
		{ "sport = :8080 state listening", "010000000000000" },
		{ "sport = :8080 AND state listening", "010000000000000" },
		{ "state listening or state time-wait", "011000010000000" },
		{ "state listening || state time-wait", "011000010000000" },
		{ "state listening | state time-wait", "011000010000000" },
		{ "state listening OR state time-wait", "011000010000000" },
		{ "not state established", "011001111111111" },
		{ "! state established", "011001111111111" },
		{ "!state established", "011001111111111" },
		{ "not not state listening", "011000000000000" },
		{ "((state listening))", "011000000000000" },
		{ "not (sport = 8080 or dport = 8080)", "101101001111110" },
		{ "!(dst 127.0.0.1)", "111111001111111" },
		{ "(sport=8080)(state listen)", "010000000000000" },
	};

	(void)state;
	CHECK_CASES(cases);
}

static void test_precedence(void **state)
{
	static const struct match_case cases[] = {
		/* not binds tighter than and. */
		{ "not sport = 8080 and state established", "100100000000000" },
		/* and binds tighter than or. */
		{ "state listening or state established and sport = 8080",
		  "011010000000000" },
		{ "state established and sport = 8080 or state listening",
		  "011010000000000" },
		{ "(state listening or state established) and sport = 8080",
		  "010010000000000" },
		/* Side by side is and, so it binds tighter than or too. */
		{ "state listening or state established sport = 8080",
		  "011010000000000" },
		{ "state time-wait or sport = 22 dport = 51000 or src ::1",
		  "000100010010001" },
		/* Left to right for long chains. */
		{ "sport = 22 or sport = 25 or sport = 26 or sport = 631",
		  "001100000011100" },
	};

	(void)state;
	CHECK_CASES(cases);
}

static void test_seed_examples(void **state)
{
	static const struct match_case cases[] = {
		{ "sport = :8080", "010010100000001" },
		{ "dst 52.92.52.0/22 or dst 52.95.128.0/21 or dst 54.231.248.0/22",
		  "100011000000000" },
	};

	(void)state;
	CHECK_CASES(cases);
}

static void test_empty_matches_all(void **state)
{
	static const struct match_case cases[] = {
		{ "", "111111111111111" },
		{ "   \t\n ", "111111111111111" },
		{ "# nothing but a comment", "111111111111111" },
	};
	struct ctf_filter *f = (struct ctf_filter *)1;

	(void)state;
	CHECK_CASES(cases);
	assert_int_equal(ctf_parse(NULL, &f, NULL), 0);
	assert_true(ctf_match(f, &socks[0]));
	ctf_free(f);
	/* A NULL filter is "no filter". */
	assert_true(ctf_match(NULL, &socks[0]));
	assert_int_equal(ctf_states(NULL), CTF_STATES_ALL);
	assert_int_equal(ctf_port(NULL, CTF_EITHER), -1);
	ctf_free(NULL);
}

static void test_comments_inline(void **state)
{
	static const struct match_case cases[] = {
		{ "state listening # or state established", "011000000000000" },
		{ "sport = 22# comment\nor dport = 80", "001100001100000" },
	};

	(void)state;
	CHECK_CASES(cases);
}

/* Unknown socket states match state groups never, other predicates as usual. */
static void test_odd_socket_state(void **state)
{
	struct ctf_sockinfo s = socks[0];
	struct ctf_filter *f;

	(void)state;
	s.state = 200;
	assert_int_equal(ctf_parse("state all", &f, NULL), 0);
	assert_false(ctf_match(f, &s));
	ctf_free(f);
	assert_int_equal(ctf_parse("not state all and dport = 443", &f, NULL), 0);
	assert_true(ctf_match(f, &s));
	ctf_free(f);
	s.family = AF_UNIX;
	assert_int_equal(ctf_parse("src 0.0.0.0/0", &f, NULL), 0);
	assert_false(ctf_match(f, &s));
	ctf_free(f);
}

/* A small deterministic generator, so a failure can be replayed. */
static uint32_t rnd(uint64_t *seed)
{
	*seed ^= *seed << 13;
	*seed ^= *seed >> 7;
	*seed ^= *seed << 17;
	return (uint32_t)(*seed >> 11);
}

/* One random predicate, mostly a plain prefix; its address goes to addr. */
static void random_pred(uint64_t *seed, char *buf, size_t len, int *family,
			uint8_t *addr)
{
	const char *side = rnd(seed) % 2 ? "src" : "dst";
	char a[INET6_ADDRSTRLEN];
	unsigned int kind = rnd(seed) % 10, plen;

	memset(addr, 0, 16);
	for (int i = 0; i < 16; i++)
		addr[i] = (uint8_t)(rnd(seed) % 4 ? rnd(seed) % 4 : rnd(seed));
	*family = AF_INET6;
	if (kind < 5) {
		*family = AF_INET;
		plen = rnd(seed) % 33;
	} else if (kind < 7) {
		plen = rnd(seed) % 129;
	} else if (kind < 8) {
		/* Mapped: v4 rules from /96 up, v6 ones below. */
		memset(addr, 0, 10);
		addr[10] = addr[11] = 0xff;
		plen = 80 + rnd(seed) % 49;
	} else if (kind < 9) {
		snprintf(buf, len, "sport = %u", rnd(seed) % 4);
		return;
	} else {
		*family = AF_INET;
		inet_ntop(AF_INET, addr, a, sizeof(a));
		snprintf(buf, len, "%s %s/%u:%u", side, a, rnd(seed) % 33,
			 rnd(seed) % 4);
		return;
	}
	inet_ntop(*family, addr, a, sizeof(a));
	snprintf(buf, len, "%s %s/%u", side, a, plen);
}

/* A socket near addr, so that prefixes match it often. */
static void random_sock(uint64_t *seed, int family, const uint8_t *addr,
			struct ctf_sockinfo *s)
{
	uint8_t *a;

	memset(s, 0, sizeof(*s));
	s->family = family;
	s->state = EST;
	s->sport = (uint16_t)(rnd(seed) % 4);
	s->dport = (uint16_t)(rnd(seed) % 4);
	memcpy(s->saddr, addr, 16);
	memcpy(s->daddr, addr, 16);
	if (family == AF_INET && rnd(seed) % 3 == 0) {
		/* The same IPv4 address, seen through an IPv6 socket. */
		s->family = AF_INET6;
		memset(s->saddr, 0, 16);
		s->saddr[10] = s->saddr[11] = 0xff;
		memcpy(s->saddr + 12, addr, 4);
		memcpy(s->daddr, s->saddr, 16);
	}
	a = rnd(seed) % 2 ? s->saddr : s->daddr;
	a[rnd(seed) % (s->family == AF_INET ? 4 : 16)] ^=
		(uint8_t)(1u << (rnd(seed) % 8));
}

/*
 * Long "or" lists of prefixes are matched through a sorted range table.
 * It must agree with matching each predicate on its own.
 */
static void test_address_set_matches_naive(void **state)
{
	enum { NPRED = 40, NSOCK = 300 };
	static char preds[NPRED][96];
	static char text[NPRED * 100 + 8];
	uint8_t addrs[NPRED][16];
	int families[NPRED];
	uint64_t seed = 0x9e3779b97f4a7c15ULL;

	(void)state;
	for (int trial = 0; trial < 200; trial++) {
		struct ctf_filter *all, *one[NPRED];
		int n = 1 + (int)(rnd(&seed) % NPRED);
		size_t off = 0;

		for (int i = 0; i < n; i++) {
			random_pred(&seed, preds[i], sizeof(preds[i]),
				    &families[i], addrs[i]);
			off += (size_t)snprintf(text + off, sizeof(text) - off,
						"%s%s", i ? " or " : "",
						preds[i]);
			assert_int_equal(ctf_parse(preds[i], &one[i], NULL), 0);
		}
		assert_int_equal(ctf_parse(text, &all, NULL), 0);
		for (int k = 0; k < NSOCK; k++) {
			int j = (int)(rnd(&seed) % (unsigned int)n);
			struct ctf_sockinfo s;
			bool want = false;

			random_sock(&seed, families[j], addrs[j], &s);
			for (int i = 0; i < n; i++)
				want = want || ctf_match(one[i], &s);
			if (ctf_match(all, &s) != want) {
				print_error("trial %d: '%s' gives %d\n", trial,
					    text, !want);
				fail();
			}
		}
		for (int i = 0; i < n; i++)
			ctf_free(one[i]);
		ctf_free(all);
	}
}

struct error_case {
	const char *expr;
	int column;
	const char *msg;
};

static void check_error(const struct error_case *c)
{
	struct ctf_filter *f = (struct ctf_filter *)1;
	struct ctf_error err;

	memset(&err, 0x55, sizeof(err));
	if (ctf_parse(c->expr, &f, &err) != -EINVAL) {
		print_error("'%s' parsed\n", c->expr);
		fail();
	}
	assert_null(f);
	if (strcmp(err.msg, c->msg) || err.column != c->column) {
		print_error("'%s': got \"%s\" (column %d), want \"%s\" (%d)\n",
			    c->expr, err.msg, err.column, c->msg, c->column);
		fail();
	}
	assert_int_equal(err.line, 1);
	assert_null(strchr(err.msg, '\n'));
}

static void check_errors(const struct error_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_error(&c[i]);
}

#define CHECK_ERRORS(a) check_errors(a, sizeof(a) / sizeof(a[0]))

static void test_error_unknown_word(void **state)
{
	static const struct error_case cases[] = {
		{ "state established foo", 19,
		  "filter: unexpected 'foo' at column 19" },
		{ "frob", 1, "filter: unexpected 'frob' at column 1" },
		{ "sport = 80 =", 12, "filter: unexpected '=' at column 12" },
		{ "state bogus", 7, "filter: unknown state 'bogus' at column 7" },
		{ "state listen or or state closed", 17,
		  "filter: unexpected 'or' at column 17" },
		{ "and state listen", 1, "filter: unexpected 'and' at column 1" },
		{ "src 10.0.0.1 < 5", 14, "filter: unexpected '<' at column 14" },
		{ "\x01", 1, "filter: unexpected '?' at column 1" },
		{ "dst 1.2.3.4 abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
		  13,
		  "filter: unexpected 'abcdefghijklmnopqrstuvwxyzabcdef...' at column 13" },
	};

	(void)state;
	CHECK_ERRORS(cases);
}

static void test_error_missing_operand(void **state)
{
	static const struct error_case cases[] = {
		{ "sport =", 7, "filter: missing port after '=' at column 7" },
		{ "sport", 1, "filter: missing port after 'sport' at column 1" },
		{ "src", 1, "filter: missing address after 'src' at column 1" },
		{ "dst !=", 5, "filter: missing address after '!=' at column 5" },
		{ "state", 1, "filter: missing state after 'state' at column 1" },
		{ "not", 1, "filter: missing expression after 'not' at column 1" },
		{ "sport = and", 9, "filter: unexpected 'and' at column 9" },
		{ "state )", 7, "filter: unexpected ')' at column 7" },
		{ "dst 10.0.0.1:", 5, "filter: bad port in '10.0.0.1:' at column 5" },
		{ "dst 10.0.0", 5, "filter: bad address '10.0.0' at column 5" },
		{ "dst 443", 5, "filter: bad address '443' at column 5" },
		{ "dst [::1", 5, "filter: bad address '[::1' at column 5" },
		{ "dst [::1]x", 5, "filter: bad address '[::1]x' at column 5" },
		{ "dst example.com", 5,
		  "filter: bad address 'example.com' at column 5" },
	};

	(void)state;
	CHECK_ERRORS(cases);
}

static void test_error_parentheses(void **state)
{
	static const struct error_case cases[] = {
		{ "( sport = 80", 1, "filter: unclosed '(' at column 1" },
		{ "state listen and ((sport = 1)", 18,
		  "filter: unclosed '(' at column 18" },
		{ "sport = 80 )", 12, "filter: unexpected ')' at column 12" },
		{ "(state listen))", 15, "filter: unexpected ')' at column 15" },
		{ "()", 2, "filter: unexpected ')' at column 2" },
		{ "(", 1, "filter: missing expression after '(' at column 1" },
	};

	(void)state;
	CHECK_ERRORS(cases);
}

static void test_error_bad_numbers(void **state)
{
	static const struct error_case cases[] = {
		{ "dst 10.0.0.0/33", 5,
		  "filter: bad prefix length in '10.0.0.0/33' at column 5" },
		{ "src 2001:db8::/129", 5,
		  "filter: bad prefix length in '2001:db8::/129' at column 5" },
		{ "dst 10.0.0.0/", 5,
		  "filter: bad prefix length in '10.0.0.0/' at column 5" },
		{ "dst 10.0.0.0/-1", 5,
		  "filter: bad prefix length in '10.0.0.0/-1' at column 5" },
		{ "dst [::1]/200:80", 5,
		  "filter: bad prefix length in '[::1]/200:80' at column 5" },
		{ "sport = 70000", 9, "filter: bad port '70000' at column 9" },
		{ "dport = :70000", 9, "filter: bad port ':70000' at column 9" },
		{ "sport = 65536", 9, "filter: bad port '65536' at column 9" },
		{ "sport = -1", 9, "filter: bad port '-1' at column 9" },
		{ "sport = :", 9, "filter: bad port ':' at column 9" },
		{ "sport = ssh", 9, "filter: bad port 'ssh' at column 9" },
		{ "dst 10.0.0.1:70000", 5,
		  "filter: bad port in '10.0.0.1:70000' at column 5" },
		{ "dst [::1]:99999", 5,
		  "filter: bad port in '[::1]:99999' at column 5" },
	};

	(void)state;
	CHECK_ERRORS(cases);
}

static void test_error_trailing_operator(void **state)
{
	static const struct error_case cases[] = {
		{ "state listening and", 17,
		  "filter: missing expression after 'and' at column 17" },
		{ "state listening or", 17,
		  "filter: missing expression after 'or' at column 17" },
		{ "state listening &&", 17,
		  "filter: missing expression after '&&' at column 17" },
		{ "state listening |", 17,
		  "filter: missing expression after '|' at column 17" },
		{ "state listening and not", 21,
		  "filter: missing expression after 'not' at column 21" },
		{ "state listening !", 17,
		  "filter: missing expression after '!' at column 17" },
	};

	(void)state;
	CHECK_ERRORS(cases);
}

static char *repeat(const char *head, const char *s, int n, const char *tail)
{
	size_t len = strlen(head) + strlen(s) * (size_t)n + strlen(tail) + 1;
	size_t off = strlen(head), slen = strlen(s);
	char *buf = malloc(len);

	assert_non_null(buf);
	memcpy(buf, head, off);
	for (int i = 0; i < n; i++, off += slen)
		memcpy(buf + off, s, slen);
	strcpy(buf + off, tail);
	return buf;
}

static void test_error_too_deep(void **state)
{
	struct ctf_filter *f;
	struct ctf_error err;
	char *open, *text;

	(void)state;
	/* 64 levels are fine. */
	open = repeat("", "(", CTF_MAX_DEPTH, "sport = 1");
	text = repeat(open, ")", CTF_MAX_DEPTH, "");
	assert_int_equal(ctf_parse(text, &f, &err), 0);
	assert_true(ctf_match(f, &(struct ctf_sockinfo){ .sport = 1 }));
	ctf_free(f);
	free(text);
	free(open);

	open = repeat("", "(", CTF_MAX_DEPTH + 1, "sport = 1");
	text = repeat(open, ")", CTF_MAX_DEPTH + 1, "");
	assert_int_equal(ctf_parse(text, &f, &err), -EINVAL);
	assert_null(f);
	assert_string_equal(err.msg,
			    "filter: '(' nested more than 64 deep at column 65");
	assert_int_equal(err.column, 65);
	free(text);
	free(open);

	/* "not" nests too: "not " is 4 columns wide. */
	text = repeat("", "not ", CTF_MAX_DEPTH + 1, "sport = 1");
	assert_int_equal(ctf_parse(text, &f, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "filter: 'not' nested more than 64 deep at column 257");
	free(text);

	/* Far deeper input must fail the same way, not blow the stack. */
	text = repeat("", "(!", 100000, "");
	assert_int_equal(ctf_parse(text, &f, &err), -EINVAL);
	assert_int_equal(err.column, 65);
	free(text);
}

/* Long flat lists are not nesting: 100,000 "or"s parse and match. */
static void test_long_chain(void **state)
{
	struct ctf_filter *f;
	struct ctf_error err;
	char *text;

	(void)state;
	text = repeat("sport = 1", " or sport = 2 dport = 3", 100000, " or sport = 631");
	assert_int_equal(ctf_parse(text, &f, &err), 0);
	assert_true(ctf_match(f, &socks[10]));
	assert_false(ctf_match(f, &socks[0]));
	ctf_free(f);
	free(text);
}

static void test_error_multiline(void **state)
{
	struct ctf_filter *f;
	struct ctf_error err;

	(void)state;
	assert_int_equal(ctf_parse("state listen\n  frob", &f, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "filter: unexpected 'frob' at line 2 column 3");
	assert_int_equal(err.line, 2);
	assert_int_equal(err.column, 3);
	/* No err: still fails cleanly. */
	assert_int_equal(ctf_parse("frob", &f, NULL), -EINVAL);
	assert_null(f);
}

static void test_states_mask(void **state)
{
	static const struct {
		const char *expr;
		uint32_t want;
	} cases[] = {
		{ "", CTF_STATES_ALL },
		{ "sport = 80", CTF_STATES_ALL },
		{ "state listening", 1u << LISTEN },
		{ "not state listening", CTF_STATES_ALL & ~(1u << LISTEN) },
		{ "exclude listening", CTF_STATES_ALL & ~(1u << LISTEN) },
		{ "state established or state listening",
		  1u << EST | 1u << LISTEN },
		{ "state established sport = 80", 1u << EST },
		{ "sport = 80 or state established", CTF_STATES_ALL },
		{ "not (state established and sport = 80)", CTF_STATES_ALL },
		{ "not (state established or state listening)",
		  CTF_STATES_ALL & ~(1u << EST | 1u << LISTEN) },
		{ "state established and not state established", 0 },
		{ "(state listen or sport = 80) and state time-wait",
		  1u << TIME_WAIT },
		{ "state syn-recv", 1u << SYN_RECV | 1u << NEW_SYN_RECV },
		{ "state bucket",
		  1u << SYN_RECV | 1u << NEW_SYN_RECV | 1u << TIME_WAIT },
		{ "not state all", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ctf_filter *f;

		assert_int_equal(ctf_parse(cases[i].expr, &f, NULL), 0);
		if (ctf_states(f) != cases[i].want) {
			print_error("'%s': states %#x want %#x\n", cases[i].expr,
				    ctf_states(f), cases[i].want);
			fail();
		}
		ctf_free(f);
	}
}

static void test_required_port(void **state)
{
	static const struct {
		const char *expr;
		int src, dst, either;
	} cases[] = {
		{ "", -1, -1, -1 },
		{ "sport = 80", 80, -1, 80 },
		{ "sport = :8080 and state listening", 8080, -1, 8080 },
		{ "dport = 443", -1, 443, 443 },
		{ "sport = 0", 0, -1, 0 },
		{ "sport > 80", -1, -1, -1 },
		{ "sport != 80", -1, -1, -1 },
		{ "not sport != 80", -1, -1, -1 },
		{ "port = 22", -1, -1, 22 },
		{ "port != 22", -1, -1, -1 },
		{ "sport = 80 or sport = 80", 80, -1, 80 },
		{ "sport = 80 or sport = 81", -1, -1, -1 },
		{ "sport = 80 or dport = 80", -1, -1, 80 },
		{ "sport = 80 or state listen", -1, -1, -1 },
		{ "sport = 80 and dport = 443", 80, 443, 80 },
		{ "dst 10.0.0.1:443", -1, 443, 443 },
		{ "dst [::1]:443 or dport = 443", -1, 443, 443 },
		{ "src *:22", 22, -1, 22 },
		{ "src != *:22", -1, -1, -1 },
		{ "dst 10.0.0.1", -1, -1, -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ctf_filter *f;

		assert_int_equal(ctf_parse(cases[i].expr, &f, NULL), 0);
		if (ctf_port(f, CTF_SRC) != cases[i].src ||
		    ctf_port(f, CTF_DST) != cases[i].dst ||
		    ctf_port(f, CTF_EITHER) != cases[i].either) {
			print_error("'%s': ports %d %d %d\n", cases[i].expr,
				    ctf_port(f, CTF_SRC), ctf_port(f, CTF_DST),
				    ctf_port(f, CTF_EITHER));
			fail();
		}
		ctf_free(f);
	}
}

static void test_argv(void **state)
{
	char *words[] = { "sport", "=", ":8080", "and", "state", "listening" };
	char *bad[] = { "state", "established", "foo" };
	/* ss usage: sudo ss state established '( dport = :443 or ... )' */
	char *ss[] = { "state", "established",
		       "( dport = :443 or sport = :22 )" };
	struct ctf_filter *f;
	struct ctf_error err;

	(void)state;
	assert_int_equal(ctf_parse_argv(6, words, &f, &err), 0);
	assert_true(ctf_match(f, &socks[1]));
	assert_false(ctf_match(f, &socks[4]));
	ctf_free(f);

	assert_int_equal(ctf_parse_argv(3, ss, &f, &err), 0);
	for (size_t i = 0; i < NROWS; i++)
		assert_int_equal(ctf_match(f, &socks[i]), i == 0 || i == 3);
	ctf_free(f);

	/* The column counts in the words joined by single spaces. */
	assert_int_equal(ctf_parse_argv(3, bad, &f, &err), -EINVAL);
	assert_string_equal(err.msg, "filter: unexpected 'foo' at column 19");

	assert_int_equal(ctf_parse_argv(0, NULL, &f, &err), 0);
	assert_true(ctf_match(f, &socks[0]));
	ctf_free(f);
}

/*
 * Parses len bytes of text through a temporary file, which is gone before
 * anything is checked. path (32 bytes) gets the file's name.
 */
static int parse_temp(const char *text, size_t len, struct ctf_filter **f,
		      struct ctf_error *err, char *path)
{
	ssize_t written;
	int fd, rc;

	strcpy(path, "/tmp/test_filter.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	written = write(fd, text, len);
	close(fd);
	rc = ctf_parse_file(path, f, err);
	unlink(path);
	assert_int_equal(written, (ssize_t)len);
	return rc;
}

static void test_file(void **state)
{
	static const char good[] =
		"# Amazon S3, us-east-1\n"
		"dst 52.92.52.0/22     # first range\n"
		"\tor dst 52.95.128.0/21\n"
		"or dst 54.231.248.0/22 #\n"
		"\n";
	static const char bad[] =
		"# comment\n"
		"dst 52.92.52.0/22\n"
		"  or dst 52.95.128.0/33\n";
	static const char empty[] = "# nothing yet\n";
	struct ctf_filter *f;
	struct ctf_error err;
	char path[32], want[256];
	char got[NROWS + 1];

	(void)state;
	assert_int_equal(parse_temp(good, strlen(good), &f, &err, path), 0);
	for (size_t i = 0; i < NROWS; i++)
		got[i] = ctf_match(f, &socks[i]) ? '1' : '0';
	got[NROWS] = '\0';
	ctf_free(f);
	assert_string_equal(got, "100011000000000");

	assert_int_equal(parse_temp(bad, strlen(bad), &f, &err, path), -EINVAL);
	assert_null(f);
	snprintf(want, sizeof(want),
		 "filter: %s: bad prefix length in word at line 3 column 10",
		 path);
	assert_string_equal(err.msg, want);
	assert_int_equal(err.line, 3);
	assert_int_equal(err.column, 10);

	/* Only comments: no filter at all. */
	assert_int_equal(parse_temp(empty, strlen(empty), &f, &err, path), 0);
	assert_true(ctf_match(f, &socks[3]));
	ctf_free(f);
}

static void test_file_errors(void **state)
{
	struct ctf_filter *f;
	struct ctf_error err;
	char path[32];

	(void)state;
	assert_int_equal(ctf_parse_file("/nonexistent/filter", &f, &err),
			 -ENOENT);
	assert_null(f);
	assert_string_equal(err.msg, "filter: /nonexistent/filter: cannot open: "
				     "No such file or directory");
	assert_int_equal(err.line, 0);
	assert_int_equal(err.column, 0);

	/* A NUL byte would hide the rest of the file. */
	assert_int_equal(parse_temp("sport = 1\0or", 12, &f, &err, path),
			 -EINVAL);
	assert_null(f);
	assert_non_null(strstr(err.msg, "NUL byte"));
}

/* A file may be one the user cannot read: its words are never printed. */
static void test_file_words_not_quoted(void **state)
{
	static const char shadow[] =
		"root:$6$s3cr3tSalt$hashhashhash:19000:0:99999:7:::\n";
	static const char paren[] = "dst 10.0.0.0/8 or (sport = 1\n";
	struct ctf_filter *f;
	struct ctf_error err;
	char path[32], want[256];

	(void)state;
	assert_int_equal(parse_temp(shadow, strlen(shadow), &f, &err, path),
			 -EINVAL);
	snprintf(want, sizeof(want),
		 "filter: %s: unexpected word at line 1 column 1", path);
	assert_string_equal(err.msg, want);
	assert_null(strstr(err.msg, "s3cr3t"));
	assert_null(strstr(err.msg, "root"));
	/* Operators come from a fixed set: quoting them tells nothing. */
	assert_int_equal(parse_temp(paren, strlen(paren), &f, &err, path),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "unclosed '(' at line 1 column 19"));
	/* The same words given on the command line are quoted as before. */
	assert_int_equal(ctf_parse("root:x", &f, &err), -EINVAL);
	assert_string_equal(err.msg, "filter: unexpected 'root:x' at column 1");
}

/* A FIFO with no writer, or a device, must not hang the parse. */
static void test_file_not_regular(void **state)
{
	char dir[] = "/tmp/test_filter_dir.XXXXXX", fifo[64];
	struct ctf_filter *f;
	struct ctf_error err;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(ctf_parse_file(fifo, &f, &err), -EINVAL);
	assert_null(f);
	assert_non_null(strstr(err.msg, "not a regular file"));
	unlink(fifo);
	assert_int_equal(ctf_parse_file(dir, &f, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a regular file"));
	rmdir(dir);
	assert_int_equal(ctf_parse_file("/dev/zero", &f, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a regular file"));
}

/* What tells `conntrace 'dport = :443'` from `conntrace lss`. */
static void test_begins_filter(void **state)
{
	static const char *const yes[] = {
		"dport = :443", "sport", "port 22", "src 10.0.0.1", "dst",
		"state established", "exclude time-wait", "not dport 1",
		"! sport 1", "(dport 1)", "DPORT = 1", "dport=:80",
		"  state listening",
	};
	static const char *const no[] = {
		"", "lss", "whatch", "stat", "and", "or dport 1", "=", ")",
		"dports", "443", "-j",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!ctf_begins_filter(yes[i]))
			fail_msg("'%s' should begin a filter", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (ctf_begins_filter(no[i]))
			fail_msg("'%s' should not begin a filter", no[i]);
	assert_false(ctf_begins_filter(NULL));
}

static void test_owner_cgroup_errors(void **state)
{
	static const struct error_case cases[] = {
		{ "cgroup system.slice", 8,
		  "filter: bad cgroup path 'system.slice' (it begins with /) at column 8" },
		{ "cgroup", 1, "filter: missing cgroup path after 'cgroup' at column 1" },
		{ "container", 1, "filter: missing container after 'container' at column 1" },
		{ "cgroup != /a", 8, "filter: unexpected '!=' at column 8" },
		{ "container and", 11, "filter: unexpected 'and' at column 11" },
	};

	(void)state;
	CHECK_ERRORS(cases);
	assert_true(ctf_begins_filter("cgroup /a"));
	assert_true(ctf_begins_filter("container web"));
}

/* Id 0 is an owner whose cgroup is not known: no cgroup predicate holds. */
static void test_owner_cgroup_match(void **state)
{
	struct ctf_sockinfo s = { .family = AF_INET, .state = 1, .sport = 80 };
	struct ctf_filter *f;

	(void)state;
	assert_int_equal(ctf_parse("cgroup = /", &f, NULL), 0);
	assert_false(ctf_match(f, &s));
	ctf_free(f);
	assert_int_equal(ctf_parse("not container docker:0123456789ab and sport 80",
				   &f, NULL), 0);
	assert_true(ctf_match(f, &s));
	/* The cgroup predicates say nothing of states or ports. */
	assert_int_equal(ctf_states(f), CTF_STATES_ALL);
	assert_int_equal(ctf_port(f, CTF_SRC), 80);
	ctf_free(f);
	assert_int_equal(ctf_parse("cgroup /a or container b", &f, NULL), 0);
	assert_false(ctf_match(f, &s));
	ctf_free(f);
}

static void test_needs_cgroup(void **state)
{
	static const struct {
		const char *text;
		bool want;
	} cases[] = {
		{ "", false },
		{ "sport = 80 or dst 10.0.0.0/8", false },
		{ "state established", false },
		{ "cgroup /a", true },
		{ "sport 80 and not (dport 1 or container web)", true },
		{ "src 10.0.0.1 or src 10.0.0.2 or cgroup = /x", true },
	};
	struct ctf_filter *f;

	(void)state;
	assert_false(ctf_needs_cgroup(NULL));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(ctf_parse(cases[i].text, &f, NULL), 0);
		if (ctf_needs_cgroup(f) != cases[i].want)
			fail_msg("'%s': want %d", cases[i].text, cases[i].want);
		ctf_free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_state_groups),
		cmocka_unit_test(test_state_runs_as_ss),
		cmocka_unit_test(test_port_operators),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_host_port),
		cmocka_unit_test(test_boolean),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_seed_examples),
		cmocka_unit_test(test_empty_matches_all),
		cmocka_unit_test(test_comments_inline),
		cmocka_unit_test(test_odd_socket_state),
		cmocka_unit_test(test_address_set_matches_naive),
		cmocka_unit_test(test_error_unknown_word),
		cmocka_unit_test(test_error_missing_operand),
		cmocka_unit_test(test_error_parentheses),
		cmocka_unit_test(test_error_bad_numbers),
		cmocka_unit_test(test_error_trailing_operator),
		cmocka_unit_test(test_error_too_deep),
		cmocka_unit_test(test_long_chain),
		cmocka_unit_test(test_error_multiline),
		cmocka_unit_test(test_states_mask),
		cmocka_unit_test(test_required_port),
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_file_words_not_quoted),
		cmocka_unit_test(test_file_not_regular),
		cmocka_unit_test(test_begins_filter),
		cmocka_unit_test(test_owner_cgroup_errors),
		cmocka_unit_test(test_owner_cgroup_match),
		cmocka_unit_test(test_needs_cgroup),
	};

	return cmocka_run_group_tests(tests, setup_socks, NULL);
}
