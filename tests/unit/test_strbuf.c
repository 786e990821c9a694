// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/cgroup.h"
#include "output/format.h"
#include "output/strbuf.h"
#include "modes/ls_out.h"

static const char *text(struct ct_strbuf *l)
{
	static char out[CT_STRBUF_MAX + 1];

	memcpy(out, l->buf, l->len);
	out[l->len] = '\0';
	return out;
}

/* The same numbers as printf writes them, at every width that matters. */
static void test_u64_matches_printf(void **state)
{
	static const uint64_t vals[] = { 0, 1, 9, 10, 99, 100, 65535, 4294967295u,
					 1234567890123ULL, UINT64_MAX };
	char want[64];

	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		for (int w = 0; w <= 24; w++) {
			struct ct_strbuf l = { 0 };

			ct_sb_u64(&l, vals[i], w);
			snprintf(want, sizeof(want), "%*" PRIu64, w, vals[i]);
			assert_string_equal(text(&l), want);
		}
}

static void test_left_pads_and_never_cuts(void **state)
{
	struct ct_strbuf l = { 0 };

	(void)state;
	ct_sb_left(&l, "tcp", 5);
	ct_sb_left(&l, "ESTABLISHED", 5);
	ct_sb_left(&l, "x", -3);
	assert_string_equal(text(&l), "tcp  ESTABLISHEDx");
}

static void test_full_line_is_cut_not_overrun(void **state)
{
	struct ct_strbuf l = { 0 };

	(void)state;
	for (int i = 0; i < 100; i++)
		ct_sb_str(&l, "0123456789");
	ct_sb_u64(&l, 42, 30);
	ct_sb_left(&l, "", 30);
	ct_sb_char(&l, '\n');
	assert_int_equal(l.len, CT_STRBUF_MAX);
	assert_int_equal(l.buf[CT_STRBUF_MAX - 1], '0' + (CT_STRBUF_MAX - 1) % 10);
}

static void addrport(int family, const char *addr, uint16_t port, int width,
		     const char *want)
{
	struct ct_strbuf l = { 0 };
	uint8_t a[16] = { 0 };
	char ref[CT_ADDRPORT_LEN], padded[80];

	assert_int_equal(inet_pton(family, addr, a), 1);
	ct_sb_addrport(&l, family, a, port, width);
	assert_string_equal(text(&l), want);
	/* And the same as the generic formatter the other modes use. */
	ct_addrport_str(family, a, port, ref, sizeof(ref));
	snprintf(padded, sizeof(padded), "%-*s", width, ref);
	assert_string_equal(text(&l), padded);
}

static void test_addrport(void **state)
{
	(void)state;
	addrport(AF_INET, "127.0.0.1", 80, 0, "127.0.0.1:80");
	addrport(AF_INET, "0.0.0.0", 0, 12, "0.0.0.0:*   ");
	addrport(AF_INET, "255.255.255.255", 65535, 27,
		 "255.255.255.255:65535      ");
	addrport(AF_INET, "10.200.3.40", 1, 0, "10.200.3.40:1");
	addrport(AF_INET6, "::1", 443, 14, "[::1]:443     ");
	addrport(AF_INET6, "::ffff:192.0.2.1", 0, 0, "[::ffff:192.0.2.1]:*");
	addrport(AF_INET6, "2001:db8::1:2", 8080, 0, "[2001:db8::1:2]:8080");
}

static struct ct_sockrec tcp_rec(void)
{
	struct ct_sockrec r = { 0 };

	r.family = AF_INET;
	r.proto = IPPROTO_TCP;
	r.state = 1; /* ESTABLISHED */
	inet_pton(AF_INET, "192.0.2.7", r.saddr);
	inet_pton(AF_INET, "198.51.100.20", r.daddr);
	r.sport = 40123;
	r.dport = 443;
	r.rqueue = 12;
	r.wqueue = 3400;
	r.netns = 4026531840u;
	r.has_info = true;
	r.accepted = true;
	r.info.bytes_acked = 5000;
	r.info.bytes_received = 700;
	return r;
}

/*
 * What ls writes for n rows, fitted first; with the header if asked. The
 * text stays valid until the next call.
 */
static const char *capture(const struct ct_ls_opts *o, const struct ct_sockrec *r,
			   int n, bool netns, const struct ct_holder *h,
			   bool header)
{
	static char *buf;
	struct ct_ls_out lo;
	size_t len;
	FILE *f;

	free(buf);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	ct_ls_out_init(&lo, f, o, netns);
	for (int i = 0; i < n; i++)
		ct_ls_fit(&lo, &r[i]);
	if (header)
		ct_ls_header(&lo);
	for (int i = 0; i < n; i++)
		ct_ls_row(&lo, &r[i], h);
	fclose(f);
	return buf;
}

static const char *row(const struct ct_ls_opts *o, const struct ct_sockrec *r,
		       bool netns, const struct ct_holder *h)
{
	return capture(o, r, 1, netns, h, false);
}

/* The header, then each row, after every row was fitted: as ls writes. */
static const char *listing(const struct ct_ls_opts *o,
			   const struct ct_sockrec *r, int n)
{
	return capture(o, r, n, false, NULL, true);
}

/* The columns line up under ct_ls_header()'s titles: ss's printf layout. */
static void test_ls_row_columns(void **state)
{
	struct ct_ls_opts o = { .procs = true };
	struct ct_sockrec r = tcp_rec();
	struct ct_holder h = { .pid = 3152, .comm = "nginx" };
	const char *la = "192.0.2.7:40123", *ra = "198.51.100.20:443";
	char want[256];

	(void)state;
	snprintf(want, sizeof(want), "%-5s %-11s %6u %6u %-27s %-27s %12u %12u %u/%s ?\n",
		 "tcp", "ESTABLISHED", 12, 3400, la, ra, 5000, 700, 3152, "nginx");
	assert_string_equal(row(&o, &r, false, &h), want);
	snprintf(want, sizeof(want), "%-10u %-5s %-11s %6u %6u %-27s %-27s %12u %12u - ?\n",
		 4026531840u, "tcp", "ESTABLISHED", 12, 3400, la, ra, 5000, 700);
	assert_string_equal(row(&o, &r, true, NULL), want);
	r.state = 10; /* LISTEN: no byte counts */
	o.procs = false;
	snprintf(want, sizeof(want), "%-5s %-11s %6u %6u %-27s %-27s %12s %12s ?\n",
		 "tcp", "LISTEN", 12, 3400, la, ra, "-", "-");
	assert_string_equal(row(&o, &r, false, NULL), want);
}

/*
 * A long IPv6 address widens its column for every row and the header, so
 * what follows it still lines up (a listing's widths come from its rows).
 */
static void test_ls_ipv6_widens_columns(void **state)
{
	struct ct_ls_opts o = { 0 };
	struct ct_sockrec r[2] = { tcp_rec(), tcp_rec() };
	const char *out, *line[3];
	char want[256];

	(void)state;
	r[1].family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:1234:5678:9abc:def0:1234:5678", r[1].saddr);
	inet_pton(AF_INET6, "fd00:aaaa:bbbb:cccc:dddd:eeee:ffff:1", r[1].daddr);
	out = listing(&o, r, 2);
	line[0] = out;
	line[1] = strchr(line[0], '\n') + 1;
	line[2] = strchr(line[1], '\n') + 1;
	/* Every column after an address starts where its title does. */
	snprintf(want, sizeof(want), "%-5s %-11s %6s %6s %-46s %-42s %12s %12s Container\n",
		 "Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port",
		 "Peer Address:Port", "Sent", "Received");
	assert_memory_equal(line[0], want, strlen(want));
	snprintf(want, sizeof(want), "%-5s %-11s %6u %6u %-46s %-42s %12u %12u ?\n",
		 "tcp", "ESTABLISHED", 12, 3400, "192.0.2.7:40123",
		 "198.51.100.20:443", 5000, 700);
	assert_memory_equal(line[1], want, strlen(want));
	snprintf(want, sizeof(want), "%-5s %-11s %6u %6u %-46s %-42s %12u %12u ?\n",
		 "tcp", "ESTABLISHED", 12, 3400,
		 "[2001:db8:1234:5678:9abc:def0:1234:5678]:40123",
		 "[fd00:aaaa:bbbb:cccc:dddd:eeee:ffff:1]:443", 5000, 700);
	assert_string_equal(line[2], want);
}

/* Short IPv4 rows keep ss's printf layout exactly, header included. */
static void test_ls_ipv4_listing_unchanged(void **state)
{
	struct ct_ls_opts o = { .procs = true };
	struct ct_sockrec r = tcp_rec();
	char want[512];

	(void)state;
	snprintf(want, sizeof(want),
		 "%-5s %-11s %6s %6s %-27s %-27s %12s %12s %s Container\n"
		 "%-5s %-11s %6u %6u %-27s %-27s %12u %12u - ?\n",
		 "Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port",
		 "Peer Address:Port", "Sent", "Received", "PID/Program",
		 "tcp", "ESTABLISHED", 12, 3400, "192.0.2.7:40123",
		 "198.51.100.20:443", 5000, 700);
	assert_string_equal(listing(&o, &r, 1), want);
}

static const struct ct_holder *same_owner(void *ctx, uint64_t inode)
{
	(void)inode;
	return ctx;
}

/* Rows held back (cells built once) come out as fitted rows written later. */
static void check_held_like_listing(const struct ct_ls_opts *o,
				    const struct ct_sockrec *r, int n,
				    const struct ct_holder *h)
{
	const char *want = capture(o, r, n, false, h, true);
	struct ct_ls_out lo;
	char *buf = NULL;
	size_t len;
	FILE *f;

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	ct_ls_out_init(&lo, f, o, false);
	for (int i = 0; i < n; i++)
		assert_int_equal(ct_ls_hold(&lo, &r[i]), 0);
	assert_int_equal(ct_ls_nheld(&lo), n);
	ct_ls_write_held(&lo, same_owner, (void *)h);
	assert_int_equal(ct_ls_nheld(&lo), 0);
	fclose(f);
	assert_string_equal(buf, want);
	free(buf);
}

static void test_ls_held_rows_as_listed(void **state)
{
	struct ct_ls_opts o = { .procs = true, .ext = true, .timers = true };
	struct ct_sockrec r[3] = { tcp_rec(), tcp_rec(), tcp_rec() };
	struct ct_holder h = { .pid = 3152, .comm = "nginx" };

	(void)state;
	r[1].family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:1234:5678:9abc:def0:1234:5678", r[1].saddr);
	r[1].timer = 2;
	r[1].expires_ms = 7000;
	r[2].state = 10;	/* LISTEN */
	r[2].inode = 99;
	check_held_like_listing(&o, r, 3, &h);
	check_held_like_listing(&o, r, 3, NULL);
	o.json = true;
	check_held_like_listing(&o, r, 3, &h);
	o = (struct ct_ls_opts){ 0 };
	check_held_like_listing(&o, r, 3, NULL);
}

/* Whether row() wrote needle, and not other. */
static void assert_row_has(const char *got, const char *needle,
			   const char *other)
{
	if (!strstr(got, needle) || (other && strstr(got, other)))
		fail_msg("want %s%s%s in: %s", needle, other ? ", not " : "",
			 other ? other : "", got);
}

/*
 * A row shows its owner's cgroup, else the socket's own, and says which;
 * the owner's pid only with -p. Our own cgroup stands for both.
 */
static void test_ls_row_owner_cgroup(void **state)
{
	uint64_t own = ct_cgroup_of_pid((uint32_t)getpid());
	struct ct_ls_opts o = { .json = true };
	struct ct_sockrec r = tcp_rec();
	struct ct_holder h = { .pid = 3152, .comm = "nginx", .cgroup = own };
	const struct ct_cgroup *cg = ct_cgroup_get(own);
	char path[1100], cell[1100];

	(void)state;
	if (!cg)
		skip();
	snprintf(path, sizeof(path), "\"cgroup\":\"%s\"", cg->path);
	snprintf(cell, sizeof(cell), " %s\n", ct_cgroup_label(cg));
	assert_int_equal(ct_ls_cgroup(7, &h), own);
	assert_int_equal(ct_ls_cgroup(7, NULL), 7);
	h.cgroup = 0;
	assert_int_equal(ct_ls_cgroup(7, &h), 7);
	h.cgroup = own;
	assert_row_has(row(&o, &r, false, &h), "\"cgroup_of\":\"owner\"", NULL);
	assert_row_has(row(&o, &r, false, &h), path, "3152");
	r.cgroup = own;
	assert_row_has(row(&o, &r, false, NULL), "\"cgroup_of\":\"socket\"", NULL);
	h.cgroup = 0;
	assert_row_has(row(&o, &r, false, &h), "\"cgroup_of\":\"socket\"", NULL);
	r.cgroup = 0;
	assert_row_has(row(&o, &r, false, &h), "\"cgroup_of\":null", NULL);
	o.procs = true;
	h.cgroup = own;
	assert_row_has(row(&o, &r, false, &h), "\"pid\":3152", NULL);
	o.json = false;
	assert_row_has(row(&o, &r, false, &h), cell, NULL);
	assert_row_has(row(&o, &r, false, NULL), " ?\n", NULL);
}

/* printf-style appends stop at the end of the buffer, like the others. */
static void test_printf_cut_at_end(void **state)
{
	struct ct_strbuf b;

	(void)state;
	ct_sb_reset(&b);
	ct_sb_printf(&b, "%s:%u", "ab", 7u);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.buf, "ab:7", 4);
	for (int i = 0; i < 100; i++)
		ct_sb_printf(&b, "%s", "0123456789");
	assert_true(b.len < sizeof(b.buf));
	assert_true(b.len >= sizeof(b.buf) - 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64_matches_printf),
		cmocka_unit_test(test_left_pads_and_never_cuts),
		cmocka_unit_test(test_full_line_is_cut_not_overrun),
		cmocka_unit_test(test_addrport),
		cmocka_unit_test(test_ls_row_columns),
		cmocka_unit_test(test_ls_ipv6_widens_columns),
		cmocka_unit_test(test_ls_ipv4_listing_unchanged),
		cmocka_unit_test(test_ls_held_rows_as_listed),
		cmocka_unit_test(test_printf_cut_at_end),
		cmocka_unit_test(test_ls_row_owner_cgroup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
