// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "output/format.h"
#include "output/strbuf.h"
#include "modes/watch_out.h"

static void test_state_name_known(void **state)
{
	static const char *const want[] = {
		[1] = "ESTABLISHED", [2] = "SYN_SENT",	 [3] = "SYN_RECV",
		[4] = "FIN_WAIT1",   [5] = "FIN_WAIT2",	 [6] = "TIME_WAIT",
		[7] = "CLOSE",	     [8] = "CLOSE_WAIT", [9] = "LAST_ACK",
		[10] = "LISTEN",     [11] = "CLOSING",	 [12] = "NEW_SYN_RECV",
	};

	(void)state;
	for (int i = 1; i <= 12; i++)
		assert_string_equal(ct_state_name(i), want[i]);
}

static void test_state_name_out_of_range(void **state)
{
	(void)state;
	assert_string_equal(ct_state_name(0), "UNKNOWN");
	assert_string_equal(ct_state_name(13), "UNKNOWN");
	assert_string_equal(ct_state_name(-1), "UNKNOWN");
	assert_string_equal(ct_state_name(255), "UNKNOWN");
}

static void test_state_parse_exact(void **state)
{
	(void)state;
	assert_int_equal(ct_state_parse("ESTABLISHED"), 1);
	assert_int_equal(ct_state_parse("TIME_WAIT"), 6);
	assert_int_equal(ct_state_parse("NEW_SYN_RECV"), 12);
}

static void test_state_parse_case_and_dash(void **state)
{
	(void)state;
	assert_int_equal(ct_state_parse("Established"), 1);
	assert_int_equal(ct_state_parse("time-wait"), 6);
	assert_int_equal(ct_state_parse("Syn-Sent"), 2);
	assert_int_equal(ct_state_parse("close_wait"), 8);
	assert_int_equal(ct_state_parse("new-syn-recv"), 12);
}

static void test_state_parse_round_trip(void **state)
{
	(void)state;
	for (int i = 1; i <= 12; i++)
		assert_int_equal(ct_state_parse(ct_state_name(i)), i);
}

static void test_state_parse_unknown(void **state)
{
	(void)state;
	assert_int_equal(ct_state_parse("bogus"), -1);
	assert_int_equal(ct_state_parse(""), -1);
	assert_int_equal(ct_state_parse("UNKNOWN"), -1);
	/* A prefix or an extension of a name is not that name. */
	assert_int_equal(ct_state_parse("CLOS"), -1);
	assert_int_equal(ct_state_parse("CLOSED"), -1);
	assert_int_equal(ct_state_parse("LISTEN "), -1);
}

static void test_addr_ipv4(void **state)
{
	uint8_t a[16] = { 192, 168, 1, 20 };
	char buf[CT_ADDR_STR_LEN];

	(void)state;
	assert_string_equal(ct_addr_str(AF_INET, a, buf, sizeof(buf)),
			    "192.168.1.20");
}

static void test_addr_ipv6(void **state)
{
	uint8_t a[16];
	char buf[CT_ADDR_STR_LEN];

	(void)state;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", a), 1);
	assert_string_equal(ct_addr_str(AF_INET6, a, buf, sizeof(buf)),
			    "2001:db8::1");
}

static void test_addr_returns_buf(void **state)
{
	uint8_t a[16] = { 10, 0, 0, 1 };
	char buf[CT_ADDR_STR_LEN];

	(void)state;
	assert_ptr_equal(ct_addr_str(AF_INET, a, buf, sizeof(buf)), buf);
}

static void test_addrport_ipv4(void **state)
{
	uint8_t a[16] = { 127, 0, 0, 1 };
	char buf[CT_ADDRPORT_LEN];

	(void)state;
	assert_string_equal(ct_addrport_str(AF_INET, a, 8080, buf, sizeof(buf)),
			    "127.0.0.1:8080");
	assert_string_equal(ct_addrport_str(AF_INET, a, 65535, buf, sizeof(buf)),
			    "127.0.0.1:65535");
}

static void test_addrport_ipv6_brackets(void **state)
{
	uint8_t a[16] = { 0 };
	char buf[CT_ADDRPORT_LEN];

	(void)state;
	a[15] = 1;
	assert_string_equal(ct_addrport_str(AF_INET6, a, 443, buf, sizeof(buf)),
			    "[::1]:443");
}

static void test_addrport_ipv4_mapped(void **state)
{
	uint8_t a[16];
	char buf[CT_ADDRPORT_LEN];

	(void)state;
	assert_int_equal(inet_pton(AF_INET6, "::ffff:10.1.2.3", a), 1);
	assert_string_equal(ct_addrport_str(AF_INET6, a, 22, buf, sizeof(buf)),
			    "[::ffff:10.1.2.3]:22");
}

static void test_addrport_port_zero_is_star(void **state)
{
	uint8_t v4[16] = { 0 }, v6[16] = { 0 };
	char buf[CT_ADDRPORT_LEN];

	(void)state;
	assert_string_equal(ct_addrport_str(AF_INET, v4, 0, buf, sizeof(buf)),
			    "0.0.0.0:*");
	assert_string_equal(ct_addrport_str(AF_INET6, v6, 0, buf, sizeof(buf)),
			    "[::]:*");
}

static void test_addrport_longest_v6_fits(void **state)
{
	uint8_t a[16];
	char buf[CT_ADDRPORT_LEN];

	(void)state;
	memset(a, 0xff, sizeof(a));
	assert_string_equal(ct_addrport_str(AF_INET6, a, 65535, buf, sizeof(buf)),
			    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
}

/* A POSIX TZ string needs no tzdata: "IST-5:30" is UTC+5:30. */
static void set_tz(const char *tz)
{
	if (tz)
		setenv("TZ", tz, 1);
	else
		unsetenv("TZ");
	tzset();
}

static void assert_iso(uint64_t wall_ns, const char *want)
{
	char buf[CT_ISO_TIME_LEN];

	assert_string_equal(ct_iso_time_str(wall_ns, buf, sizeof(buf)), want);
}

static void assert_clock(uint64_t wall_ns, const char *want)
{
	char buf[16];

	assert_string_equal(ct_clock_str(wall_ns, buf, sizeof(buf)), want);
}

static void test_iso_time_utc(void **state)
{
	(void)state;
	set_tz("IST-5:30");
	ct_time_set_utc(true);
	assert_iso(0, "1970-01-01T00:00:00.000000Z");
	/* Sub-microsecond digits are truncated, not rounded. */
	assert_iso(1700000000999999999ULL, "2023-11-14T22:13:20.999999Z");
	assert_clock(1700000000123456789ULL, "22:13:20.123");
	ct_time_set_utc(false);
	set_tz(NULL);
}

/* As date(1) shows it: the zone's time and its offset from UTC. */
static void test_iso_time_local(void **state)
{
	(void)state;
	set_tz("IST-5:30");
	assert_iso(1700000000123456789ULL, "2023-11-15T03:43:20.123456+05:30");
	assert_clock(1700000000123456789ULL, "03:43:20.123");
	/* The same second again, now in UTC: not the text of the last call. */
	ct_time_set_utc(true);
	assert_iso(1700000000123456789ULL, "2023-11-14T22:13:20.123456Z");
	ct_time_set_utc(false);
	set_tz("EST5");
	assert_iso(1700000001000000000ULL, "2023-11-14T17:13:21.000000-05:00");
	set_tz("UTC0");
	assert_iso(1700000002000001000ULL, "2023-11-14T22:13:22.000001+00:00");
	set_tz(NULL);
}

/* A buffer too short gets what fits, cut, and always ends. */
static void test_iso_time_short_buffer(void **state)
{
	char buf[11];

	(void)state;
	ct_time_set_utc(true);
	assert_string_equal(ct_iso_time_str(0, buf, sizeof(buf)), "1970-01-01");
	ct_time_set_utc(false);
}

/* watch's table: what ct_out_header() and ct_out_line() write. */
struct watch_cap {
	struct ct_out o;
	char *buf;
	size_t len;
	FILE *f;
};

static void watch_open(struct watch_cap *c, bool lifetime)
{
	c->buf = NULL;
	c->f = open_memstream(&c->buf, &c->len);
	assert_non_null(c->f);
	ct_out_init(&c->o, c->f, false);
	c->o.lifetime = lifetime;
	ct_out_header(&c->o);
}

static char *watch_close(struct watch_cap *c)
{
	assert_int_equal(fclose(c->f), 0);
	return c->buf;
}

static struct ct_line line_of(int family, const char *src, const char *dst)
{
	struct ct_line l = { 0 };

	l.ev.family = (uint16_t)family;
	inet_pton(family, src, l.ev.saddr);
	inet_pton(family, dst, l.ev.daddr);
	l.ev.sport = 47488;
	l.ev.dport = 443;
	l.ev.pid = 3191;
	strcpy(l.ev.comm, "curl");
	l.ev.oldstate = 2;	/* SYN_SENT */
	l.ev.newstate = 1;	/* ESTABLISHED */
	l.ts_ns = 5000000000ULL;
	l.delta_known = true;
	l.delta_ns = 398000;
	return l;
}

/* Short IPv4 lines into a pipe keep the layout watch always had. */
static void test_watch_ipv4_layout_unchanged(void **state)
{
	struct ct_line l = line_of(AF_INET, "127.0.0.1", "127.0.0.1");
	struct watch_cap c;
	char want[512], t[16];
	char *out;

	(void)state;
	watch_open(&c, false);
	ct_clock_str(l.ts_ns + c.o.mono_to_wall_ns, t, sizeof(t));
	ct_out_line(&c.o, &l);
	out = watch_close(&c);
	snprintf(want, sizeof(want),
		 "%-12s %-7s %-15s %-23s %-23s %-11s    %-11s %10s %-9s %s\n"
		 "%-12s %-7s %-15.15s %-23s %-23s %-11s -> %-11s %10s %-9s %s\n",
		 "TIME", "PID", "COMM", "LADDR:LPORT", "RADDR:RPORT", "OLD",
		 "NEW", "MS", "CONTAINER", "NETNS", t, "3191", "curl",
		 "127.0.0.1:47488", "127.0.0.1:443", "SYN_SENT", "ESTABLISHED",
		 "0.398", "?", "-");
	assert_string_equal(out, want);
	free(out);
}

/* Where the n-th line of text starts. */
static const char *nth_line(const char *s, int n)
{
	while (n-- > 0)
		s = strchr(s, '\n') + 1;
	return s;
}

/*
 * A long IPv6 address widens its column from its line on: the lines after
 * it align with it (the header is not written again), and earlier ones
 * kept their place.
 */
static void test_watch_ipv6_widens_from_there_on(void **state)
{
	struct ct_line v4 = line_of(AF_INET, "10.1.2.3", "10.4.5.6");
	struct ct_line v6 = line_of(AF_INET6, "2001:db8:1111:2222:3333:4444:5555:6666",
				    "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff");
	const char *old[4];
	struct watch_cap c;
	char *out;

	(void)state;
	watch_open(&c, false);
	ct_out_line(&c.o, &v4);
	ct_out_line(&c.o, &v6);
	ct_out_line(&c.o, &v4);
	ct_out_line(&c.o, &v6);
	out = watch_close(&c);
	for (int i = 0; i < 4; i++)
		old[i] = strstr(nth_line(out, i + 1), "SYN_SENT");
	/* Header and first line as before: OLD after 13+8+16 and 2 * 24. */
	assert_int_equal(strstr(out, "OLD") - out, 37 + 2 * 24);
	assert_int_equal(old[0] - nth_line(out, 1), 37 + 2 * 24);
	/* "[" 38 "]:47488" and "[" 38 "]:443", each with one blank after. */
	for (int i = 1; i < 4; i++)
		assert_int_equal(old[i] - nth_line(out, i + 1), 37 + 47 + 45);
	free(out);
}

static void test_watch_lifetime_columns(void **state)
{
	struct ct_line l = line_of(AF_INET, "127.0.0.1", "127.0.0.1");
	struct watch_cap c;
	char want[512], t[16];
	char *out;

	(void)state;
	l.ev.tcp.bytes_acked = 12345678901ULL;	/* from SYN_SENT: no SYN to take off */
	l.ev.tcp.bytes_received = 2;
	l.ev.born_ns = l.ts_ns - 1500000;
	watch_open(&c, true);
	ct_clock_str(l.ts_ns + c.o.mono_to_wall_ns, t, sizeof(t));
	ct_out_line(&c.o, &l);
	out = watch_close(&c);
	/* 11 digits widen TX_BYTES by one, past the header written before. */
	snprintf(want, sizeof(want),
		 "%-12s %-7s %-15s %-23s %-23s %10s %10s %10s %-9s %s\n"
		 "%-12s %-7s %-15.15s %-23s %-23s %11s %10s %10s %-9s %s\n",
		 "TIME", "PID", "COMM", "LADDR:LPORT", "RADDR:RPORT",
		 "TX_BYTES", "RX_BYTES", "MS", "CONTAINER", "NETNS", t, "3191",
		 "curl", "127.0.0.1:47488", "127.0.0.1:443", "12345678901", "2",
		 "1.500", "?", "-");
	assert_string_equal(out, want);
	free(out);
}

/* -H's units: whole bytes below 1 KiB, one decimal above. */
static void test_human_bytes(void **state)
{
	static const struct { double v; int ps; const char *want; } cases[] = {
		{ 0, 0, "0 B" }, { 1023, 0, "1023 B" }, { 1024, 0, "1.0 KiB" },
		{ 1536, 0, "1.5 KiB" }, { 70001, 0, "68.4 KiB" },
		{ 1048473, 0, "1023.9 KiB" }, { 1048575, 0, "1.0 MiB" },
		{ 5.0 * 1024 * 1024 * 1024, 0, "5.0 GiB" },
		{ 3.0 * 1024 * 1024 * 1024 * 1024 * 1024, 0, "3072.0 TiB" },
		{ 2048, 1, "2.0 KiB/s" }, { 10, 1, "10 B/s" },
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_ptr_equal(ct_human_bytes(cases[i].v, cases[i].ps, buf,
						sizeof(buf)), buf);
		assert_string_equal(buf, cases[i].want);
	}
	/* A short buffer is cut, never overrun. */
	ct_human_bytes(1536, 1, buf, 5);
	assert_string_equal(buf, "1.5 ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_name_known),
		cmocka_unit_test(test_state_name_out_of_range),
		cmocka_unit_test(test_state_parse_exact),
		cmocka_unit_test(test_state_parse_case_and_dash),
		cmocka_unit_test(test_state_parse_round_trip),
		cmocka_unit_test(test_state_parse_unknown),
		cmocka_unit_test(test_addr_ipv4),
		cmocka_unit_test(test_addr_ipv6),
		cmocka_unit_test(test_addr_returns_buf),
		cmocka_unit_test(test_addrport_ipv4),
		cmocka_unit_test(test_addrport_ipv6_brackets),
		cmocka_unit_test(test_addrport_ipv4_mapped),
		cmocka_unit_test(test_addrport_port_zero_is_star),
		cmocka_unit_test(test_addrport_longest_v6_fits),
		cmocka_unit_test(test_iso_time_utc),
		cmocka_unit_test(test_iso_time_local),
		cmocka_unit_test(test_iso_time_short_buffer),
		cmocka_unit_test(test_watch_ipv4_layout_unchanged),
		cmocka_unit_test(test_watch_ipv6_widens_from_there_on),
		cmocka_unit_test(test_watch_lifetime_columns),
		cmocka_unit_test(test_human_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
