// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "output/format.h"
#include "output/table.h"

static const struct ct_col cols[] = {
	{ "NAME", CT_LEFT, 6, 0 },
	{ "N", CT_RIGHT, 3, 0 },
	{ "ADDR", CT_LEFT, 10, 30 },
	{ "LAST", CT_LEFT, 4, 0 },
};

/* A row of the four cells. */
static void make_row(struct ct_row *r, const char *name, uint64_t n,
		     const char *addr, const char *last)
{
	ct_row_reset(r);
	ct_row_str(r, name);
	ct_row_u64(r, n);
	ct_row_str(r, addr);
	ct_row_str(r, last);
}

static const char *laid_out(const struct ct_cols *c, const struct ct_row *r)
{
	static char line[CT_STRBUF_MAX + 1];
	struct ct_strbuf b;

	ct_sb_reset(&b);
	ct_cols_line(c, r, &b);
	memcpy(line, b.buf, b.len);
	line[b.len] = '\0';
	return line;
}

static void test_minimum_widths_and_alignment(void **state)
{
	struct ct_cols c;
	struct ct_row r;

	(void)state;
	ct_cols_init(&c, cols, 4);
	make_row(&r, "ab", 7, "1.2.3.4:5", "x");
	assert_false(ct_cols_fit(&c, &r));
	/* Left cells padded, right ones pushed right, the last left unpadded. */
	assert_string_equal(laid_out(&c, NULL), "NAME     N ADDR       LAST");
	assert_string_equal(laid_out(&c, &r), "ab       7 1.2.3.4:5  x");
	assert_int_equal(ct_cols_line_width(&c), 6 + 1 + 3 + 1 + 10 + 1 + 4);
}

static void test_name_longer_than_minimum(void **state)
{
	static const struct ct_col wide[] = { { "RECEIVED", CT_RIGHT, 3, 0 },
					      { "X", CT_LEFT, 1, 0 } };
	struct ct_cols c;
	struct ct_row r;

	(void)state;
	ct_cols_init(&c, wide, 2);
	ct_row_reset(&r);
	ct_row_u64(&r, 5);
	ct_row_str(&r, "y");
	assert_string_equal(laid_out(&c, NULL), "RECEIVED X");
	assert_string_equal(laid_out(&c, &r), "       5 y");
}

static void test_fit_widens_every_line(void **state)
{
	struct ct_cols c;
	struct ct_row a, b;

	(void)state;
	ct_cols_init(&c, cols, 4);
	make_row(&a, "ab", 7, "1.2.3.4:5", "x");
	make_row(&b, "a-long-name", 123456, "[2001:db8::1]:443", "y");
	assert_false(ct_cols_fit(&c, &a));
	assert_true(ct_cols_fit(&c, &b));
	assert_false(ct_cols_fit(&c, &b));
	assert_string_equal(laid_out(&c, NULL),
			    "NAME             N ADDR              LAST");
	assert_string_equal(laid_out(&c, &a),
			    "ab               7 1.2.3.4:5         x");
	assert_string_equal(laid_out(&c, &b),
			    "a-long-name 123456 [2001:db8::1]:443 y");
}

/* Fitting never narrows: a stream's columns only grow. */
static void test_fit_never_narrows(void **state)
{
	struct ct_cols c;
	struct ct_row r;

	(void)state;
	ct_cols_init(&c, cols, 4);
	make_row(&r, "abcdefghij", 1, "a", "b");
	ct_cols_fit(&c, &r);
	make_row(&r, "a", 1, "a", "b");
	assert_false(ct_cols_fit(&c, &r));
	assert_int_equal(c.width[0], 10);
}

/* The longest IPv6 address with a port, the worst an address cell holds. */
static void test_longest_ipv6_fits(void **state)
{
	static const struct ct_col acol[] = {
		{ "LADDR:LPORT", CT_LEFT, 23, 0 },
		{ "RADDR:RPORT", CT_LEFT, 23, 0 },
		{ "MS", CT_RIGHT, 10, 0 },
	};
	uint8_t a6[16], a4[4];
	struct ct_cols c;
	struct ct_row v6, v4;
	const char *line;
	int hdr_ms;

	(void)state;
	memset(a6, 0xff, sizeof(a6));
	inet_pton(AF_INET, "10.0.0.1", a4);
	ct_row_reset(&v6);
	ct_sb_addrport(&v6.b, AF_INET6, a6, 65535, 0);
	ct_row_end_cell(&v6);
	ct_sb_addrport(&v6.b, AF_INET6, a6, 65535, 0);
	ct_row_end_cell(&v6);
	ct_row_str(&v6, "1.000");
	ct_row_reset(&v4);
	ct_sb_addrport(&v4.b, AF_INET, a4, 80, 0);
	ct_row_end_cell(&v4);
	ct_sb_addrport(&v4.b, AF_INET, a4, 80, 0);
	ct_row_end_cell(&v4);
	ct_row_str(&v4, "2.000");
	ct_cols_init(&c, acol, 3);
	ct_cols_fit(&c, &v6);
	ct_cols_fit(&c, &v4);
	/* "[" 8 groups of 4 "]:" 5 digits */
	assert_int_equal(c.width[0], 1 + 39 + 2 + 5);
	/* The MS column ends at the same place in the header and both rows. */
	hdr_ms = (int)strlen(laid_out(&c, NULL));
	line = laid_out(&c, &v6);
	assert_int_equal((int)strlen(line), hdr_ms);
	assert_string_equal(line + hdr_ms - 5, "1.000");
	line = laid_out(&c, &v4);
	assert_int_equal((int)strlen(line), hdr_ms);
	assert_string_equal(line + hdr_ms - 5, "2.000");
}

static void test_spread_shares_spare_room_up_to_max(void **state)
{
	static const struct ct_col two[] = {
		{ "A", CT_LEFT, 10, 20 },
		{ "B", CT_LEFT, 10, 13 },
		{ "C", CT_RIGHT, 5, 0 },
	};
	struct ct_cols c;

	(void)state;
	ct_cols_init(&c, two, 3);
	assert_int_equal(ct_cols_line_width(&c), 27);
	ct_cols_spread(&c, 0);	/* not a terminal */
	assert_int_equal(c.width[0], 10);
	ct_cols_spread(&c, 20);	/* no room to spare */
	assert_int_equal(c.width[0], 10);
	assert_int_equal(c.width[1], 10);
	ct_cols_spread(&c, 31);	/* 4 spare: 2 each */
	assert_int_equal(c.width[0], 12);
	assert_int_equal(c.width[1], 12);
	assert_int_equal(c.width[2], 5);
	ct_cols_spread(&c, 200);	/* each stops at its max */
	assert_int_equal(c.width[0], 20);
	assert_int_equal(c.width[1], 13);
	assert_int_equal(c.width[2], 5);
}

static void test_missing_cells_are_blank(void **state)
{
	struct ct_cols c;
	struct ct_row r;

	(void)state;
	ct_cols_init(&c, cols, 4);
	ct_row_reset(&r);
	ct_row_str(&r, "ab");
	assert_string_equal(laid_out(&c, &r), "ab                    ");
}

static void test_not_a_terminal_has_no_width(void **state)
{
	int fd[2];

	(void)state;
	assert_int_equal(pipe(fd), 0);
	assert_int_equal(ct_term_width(fd[1]), 0);
	close(fd[0]);
	close(fd[1]);
	assert_int_equal(ct_term_width(-1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimum_widths_and_alignment),
		cmocka_unit_test(test_name_longer_than_minimum),
		cmocka_unit_test(test_fit_widens_every_line),
		cmocka_unit_test(test_fit_never_narrows),
		cmocka_unit_test(test_longest_ipv6_fits),
		cmocka_unit_test(test_spread_shares_spare_room_up_to_max),
		cmocka_unit_test(test_missing_cells_are_blank),
		cmocka_unit_test(test_not_a_terminal_has_no_width),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
