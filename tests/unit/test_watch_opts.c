// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "modes/watch_opts.h"

#define PARSE_MODE "watch"
#define PARSE_OPTS struct ct_watch_opts
#define PARSE_FN ct_watch_parse
#include "parse_test.h"

static void test_defaults(void **state)
{
	(void)state;
	/* Leftovers from an earlier parse must not survive. */
	assert_int_equal(PARSE("--pid", "9", "-j", "-v", "--port", "1"), CT_PARSE_OK);
	assert_int_equal(PARSE_NONE(), CT_PARSE_OK);
	assert_int_equal(opts.filter.pid, 0);
	assert_int_equal(opts.filter.port, 0);
	assert_int_equal(opts.filter.family, 0);
	assert_string_equal(opts.filter.comm, "");
	assert_false(opts.json);
	assert_false(opts.verbose);
	assert_true(opts.duration_s == 0);
}

/* -p is ls's --processes; watch's PID filter is --pid only. */
static void test_pid_has_no_short(void **state)
{
	(void)state;
	assert_parse_error("unknown option '-p'", "-p", "123");
	assert_int_equal(PARSE("--pid=456"), CT_PARSE_OK);
	assert_int_equal(opts.filter.pid, 456);
}

static void test_pid_long(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--pid=123"), CT_PARSE_OK);
	assert_int_equal(opts.filter.pid, 123);
	assert_int_equal(PARSE("--pid", "77"), CT_PARSE_OK);
	assert_int_equal(opts.filter.pid, 77);
}

static void test_pid_max(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--pid", "2147483647"), CT_PARSE_OK);
	assert_int_equal(opts.filter.pid, 2147483647);
	assert_parse_error("2147483648", "--pid", "2147483648");
	/* The bound is in the message. */
	assert_parse_error("1 to 2147483647", "--pid", "2147483648");
}

static void test_pid_invalid(void **state)
{
	static const char *const bad[] = { "0", "-1", "abc", "12x",
					   "99999999999", "", " 5" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char quoted[64];

		snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
		assert_parse_error(quoted, "--pid", (char *)bad[i]);
		assert_non_null(strstr(err, "invalid --pid"));
	}
}

static void test_comm(void **state)
{
	(void)state;
	assert_int_equal(PARSE("-c", "nginx"), CT_PARSE_OK);
	assert_string_equal(opts.filter.comm, "nginx");
	assert_int_equal(PARSE("--comm=curl"), CT_PARSE_OK);
	assert_string_equal(opts.filter.comm, "curl");
}

static void test_comm_truncated_to_15(void **state)
{
	(void)state;
	assert_int_equal(PARSE("-c", "abcdefghijklmnopqrst"), CT_PARSE_OK);
	assert_string_equal(opts.filter.comm, "abcdefghijklmno");
}

static void test_comm_empty_rejected(void **state)
{
	(void)state;
	assert_parse_error("empty", "--comm=");
}

static void test_port(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--port", "80"), CT_PARSE_OK);
	assert_int_equal(opts.filter.port, 80);
	assert_int_equal(PARSE("--port=65535"), CT_PARSE_OK);
	assert_int_equal(opts.filter.port, 65535);
}

static void test_port_invalid(void **state)
{
	(void)state;
	assert_parse_error("'0'", "--port", "0");
	assert_parse_error("'70000'", "--port", "70000");
	assert_parse_error("'65536'", "--port=65536");
	assert_parse_error("'http'", "--port", "http");
}

static void test_family(void **state)
{
	(void)state;
	assert_int_equal(PARSE("-4"), CT_PARSE_OK);
	assert_int_equal(opts.filter.family, AF_INET);
	assert_int_equal(PARSE("--ipv6"), CT_PARSE_OK);
	assert_int_equal(opts.filter.family, AF_INET6);
}

static void test_family_both_means_any(void **state)
{
	(void)state;
	assert_int_equal(PARSE("-4", "-6"), CT_PARSE_OK);
	assert_int_equal(opts.filter.family, 0);
	assert_int_equal(PARSE("--ipv4", "--ipv6"), CT_PARSE_OK);
	assert_int_equal(opts.filter.family, 0);
}

static void test_json(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--json"), CT_PARSE_OK);
	assert_true(opts.json);
	assert_int_equal(PARSE("-j"), CT_PARSE_OK);
	assert_true(opts.json);
}

static void test_verbose(void **state)
{
	(void)state;
	assert_int_equal(PARSE("-v"), CT_PARSE_OK);
	assert_true(opts.verbose);
	assert_int_equal(PARSE("--verbose"), CT_PARSE_OK);
	assert_true(opts.verbose);
}

static void test_duration(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--duration", "2.5"), CT_PARSE_OK);
	assert_true(opts.duration_s == 2.5);
	assert_int_equal(PARSE("--duration=10"), CT_PARSE_OK);
	assert_true(opts.duration_s == 10);
}

static void test_duration_invalid(void **state)
{
	(void)state;
	assert_parse_error("'0'", "--duration", "0");
	assert_parse_error("'-1'", "--duration", "-1");
	assert_parse_error("'x'", "--duration", "x");
	assert_parse_error("'0.0'", "--duration", "0.0");
	/* -t is ls's --tcp; watch's duration is --duration only. */
	assert_parse_error("unknown option '-t'", "-t", "1");
	/* Past a year is refused, with the bound in the message. */
	assert_parse_error("0.001 to 31536000", "--duration", "31536001");
	assert_int_equal(PARSE("--duration", "31536000"), CT_PARSE_OK);
}

static void test_combined(void **state)
{
	(void)state;
	assert_int_equal(PARSE("-4j", "--pid", "1", "--port", "22", "-c", "ssh",
			       "--duration", "1"),
			 CT_PARSE_OK);
	assert_int_equal(opts.filter.family, AF_INET);
	assert_true(opts.json);
	assert_int_equal(opts.filter.pid, 1);
	assert_int_equal(opts.filter.port, 22);
	assert_string_equal(opts.filter.comm, "ssh");
	assert_true(opts.duration_s == 1);
}

static void test_help(void **state)
{
	(void)state;
	assert_int_equal(PARSE("-h"), CT_PARSE_HELP);
	assert_int_equal(PARSE("--help"), CT_PARSE_HELP);
	assert_int_equal(PARSE("-j", "--help", "--pid", "1"), CT_PARSE_HELP);
}

static void test_unknown_short(void **state)
{
	(void)state;
	assert_parse_error("'-x'", "-x");
	assert_parse_error("'-z'", "-jz");
}

static void test_unknown_long(void **state)
{
	(void)state;
	assert_parse_error("'--bogus'", "--bogus");
	assert_parse_error("--frobnicate", "-j", "--frobnicate=1");
}

static void test_stray_positional(void **state)
{
	(void)state;
	assert_parse_error("'extra'", "extra");
	assert_parse_error("'extra'", "-j", "extra", "-v");
	assert_parse_error("'foo'", "--", "foo");
}

static void test_missing_value(void **state)
{
	(void)state;
	assert_parse_error("'--pid'", "--pid");
	assert_parse_error("'--port'", "-j", "--port");
	assert_parse_error("'--duration'", "--duration");
	assert_parse_error("'-c'", "-c");
}

static void test_reparse_after_error(void **state)
{
	(void)state;
	/* Stops inside "-xj"; a stale getopt cursor would replay the "j". */
	assert_int_equal(PARSE("-xj"), CT_PARSE_ERROR);
	assert_int_equal(PARSE("--pid", "7"), CT_PARSE_OK);
	assert_int_equal(opts.filter.pid, 7);
	assert_false(opts.json);
}

static void test_reparse_many_times(void **state)
{
	(void)state;
	for (int i = 0; i < 100; i++) {
		assert_int_equal(PARSE("-4", "--pid=42"), CT_PARSE_OK);
		assert_int_equal(opts.filter.pid, 42);
		assert_int_equal(opts.filter.family, AF_INET);
		assert_int_equal(PARSE("-q"), CT_PARSE_ERROR);
	}
}

static void test_usage_mentions_options(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	ct_opts_help(&ct_watch_cmd, f);
	fclose(f);
	assert_non_null(strstr(buf, "Usage:"));
	assert_non_null(strstr(buf, "--pid"));
	assert_non_null(strstr(buf, "--port"));
	assert_non_null(strstr(buf, "--duration"));
	free(buf);
}

/* Runs ct_cli_parsed() with stdout and stderr caught in out and errs. */
static int parsed(enum ct_parse_result r, const char *msg, char *out,
		  char *errs, size_t len)
{
	FILE *o = tmpfile(), *e = tmpfile();
	int saved_out = dup(1), saved_err = dup(2), rc;
	size_t n;

	assert_non_null(o);
	assert_non_null(e);
	fflush(stdout);
	fflush(stderr);
	dup2(fileno(o), 1);
	dup2(fileno(e), 2);
	rc = ct_cli_parsed(r, msg, &ct_watch_cmd);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	rewind(o);
	rewind(e);
	n = fread(out, 1, len - 1, o);
	out[n] = '\0';
	n = fread(errs, 1, len - 1, e);
	errs[n] = '\0';
	fclose(o);
	fclose(e);
	return rc;
}

/* The outcome every mode's main acts on, shared through options.c. */
/* The ring's size: sized at start (0) unless asked, a power of two of MiB. */
static void test_ring_size(void **state)
{
	(void)state;
	assert_int_equal(PARSE_NONE(), CT_PARSE_OK);
	assert_int_equal(opts.ring_bytes, 0);
	assert_int_equal(PARSE("--ring-size", "1"), CT_PARSE_OK);
	assert_int_equal(opts.ring_bytes, 1u << 20);
	assert_int_equal(PARSE("--ring-size", "3"), CT_PARSE_OK);
	assert_int_equal(opts.ring_bytes, 4u << 20);
	assert_int_equal(PARSE("--ring-size", "1024"), CT_PARSE_OK);
	assert_int_equal(opts.ring_bytes, 1024u << 20);
	assert_int_equal(PARSE("--ring-size", "0"), CT_PARSE_ERROR);
	assert_int_equal(PARSE("--ring-size", "1025"), CT_PARSE_ERROR);
	assert_int_equal(PARSE("--ring-size", "4x"), CT_PARSE_ERROR);
}

/* The priority boost: 5 nice levels unless asked, 0 to 20. */
static void test_boost(void **state)
{
	(void)state;
	assert_int_equal(PARSE_NONE(), CT_PARSE_OK);
	assert_int_equal(opts.boost, 5);
	assert_int_equal(PARSE("--boost", "0"), CT_PARSE_OK);
	assert_int_equal(opts.boost, 0);
	assert_int_equal(PARSE("--boost", "20"), CT_PARSE_OK);
	assert_int_equal(opts.boost, 20);
	assert_int_equal(PARSE("--boost", "21"), CT_PARSE_ERROR);
	assert_int_equal(PARSE("--boost", "-1"), CT_PARSE_ERROR);
}

static void test_cli_parsed_outcomes(void **state)
{
	static char out[8192], errs[512];

	(void)state;
	assert_int_equal(parsed(CT_PARSE_OK, "", out, errs, sizeof(errs)), -1);
	assert_string_equal(out, "");
	assert_string_equal(errs, "");
	assert_int_equal(parsed(CT_PARSE_HELP, "", out, errs, sizeof(out)), 0);
	assert_non_null(strstr(out, "Usage: conntrace [watch]"));
	assert_string_equal(errs, "");
	assert_int_equal(parsed(CT_PARSE_ERROR, "bad", out, errs, sizeof(errs)), 2);
	assert_string_equal(out, "");
	assert_string_equal(errs,
			    "conntrace: bad (see 'conntrace watch --help')\n");
	assert_int_equal(parsed(CT_PARSE_CANNOT_RUN, "must be root", out, errs,
				sizeof(errs)), 1);
	assert_string_equal(errs, "conntrace: must be root\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_parsed_outcomes),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_ring_size),
		cmocka_unit_test(test_boost),
		cmocka_unit_test(test_pid_has_no_short),
		cmocka_unit_test(test_pid_long),
		cmocka_unit_test(test_pid_max),
		cmocka_unit_test(test_pid_invalid),
		cmocka_unit_test(test_comm),
		cmocka_unit_test(test_comm_truncated_to_15),
		cmocka_unit_test(test_comm_empty_rejected),
		cmocka_unit_test(test_port),
		cmocka_unit_test(test_port_invalid),
		cmocka_unit_test(test_family),
		cmocka_unit_test(test_family_both_means_any),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_verbose),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_duration_invalid),
		cmocka_unit_test(test_combined),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_unknown_short),
		cmocka_unit_test(test_unknown_long),
		cmocka_unit_test(test_stray_positional),
		cmocka_unit_test(test_missing_value),
		cmocka_unit_test(test_reparse_after_error),
		cmocka_unit_test(test_reparse_many_times),
		cmocka_unit_test(test_usage_mentions_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
