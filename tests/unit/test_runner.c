// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* The shared start/run/report/finish shape of the modes, with fake steps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "engine/stopsig.h"
#include "modes/runner.h"

/* A fake mode: what its parser returns, and the order its steps ran in. */
struct fake {
	enum ct_parse_result parsed;
	int start_rc, run_rc;
	char steps[16];
	int n;
};

static void step(struct fake *f, char c)
{
	assert_true(f->n < (int)sizeof(f->steps) - 1);
	f->steps[f->n++] = c;
}

static enum ct_parse_result parse(void *self, int argc, char **argv,
				  char *err, size_t errlen)
{
	struct fake *f = self;

	assert_int_equal(argc, 2);
	assert_string_equal(argv[1], "-x");
	step(f, 'p');
	if (f->parsed < 0)
		snprintf(err, errlen, "invalid option '-x'");
	return f->parsed;
}

static const struct ct_opt no_opts[] = { CT_OPT_END };
static const struct ct_cmd fake_cmd = {
	.name = "fake", .synopsis = "fake", .about = "A mode of the tests.",
	.opts = no_opts,
};

static int start(void *self)
{
	step(self, 's');
	return ((struct fake *)self)->start_rc;
}

static int run(void *self)
{
	step(self, 'r');
	return ((struct fake *)self)->run_rc;
}

static void report(void *self)
{
	step(self, 'R');
}

static void finish(void *self)
{
	step(self, 'f');
}

static const struct ct_mode mode = {
	.cmd = &fake_cmd, .parse = parse,
	.start = start, .run = run, .report = report, .finish = finish,
};

static int run_mode(const struct ct_mode *m, struct fake *f)
{
	char *argv[] = { "fake", "-x", NULL };

	return ct_mode_run(m, f, 2, argv);
}

static void test_steps_in_order(void **state)
{
	struct fake f = { .run_rc = 3 };

	(void)state;
	assert_int_equal(run_mode(&mode, &f), 3);
	assert_string_equal(f.steps, "psrRf");
}

static void test_failed_start_still_finishes(void **state)
{
	struct fake f = { .start_rc = -1, .run_rc = 0 };

	(void)state;
	assert_int_equal(run_mode(&mode, &f), 1);
	assert_string_equal(f.steps, "psf");
}

/* A filter the kernel side refuses is bad input: exit 2, still finished. */
static void test_start_usage_error_exits_2(void **state)
{
	struct fake f = { .start_rc = 2, .run_rc = 0 };

	(void)state;
	assert_int_equal(run_mode(&mode, &f), 2);
	assert_string_equal(f.steps, "psf");
}

static void test_bad_option_exits_2_before_start(void **state)
{
	struct fake f = { .parsed = CT_PARSE_ERROR };

	(void)state;
	assert_int_equal(run_mode(&mode, &f), 2);
	assert_string_equal(f.steps, "p");
}

static void test_help_exits_0_before_start(void **state)
{
	struct fake f = { .parsed = CT_PARSE_HELP };

	(void)state;
	assert_int_equal(run_mode(&mode, &f), 0);
	assert_string_equal(f.steps, "p");
}

static void test_cannot_run_exits_1_before_start(void **state)
{
	struct fake f = { .parsed = CT_PARSE_CANNOT_RUN };

	(void)state;
	assert_int_equal(run_mode(&mode, &f), 1);
	assert_string_equal(f.steps, "p");
}

static void test_optional_steps_may_be_missing(void **state)
{
	struct ct_mode bare = { .cmd = &fake_cmd, .parse = parse, .run = run };
	struct fake f = { .run_rc = 0 };

	(void)state;
	assert_int_equal(run_mode(&bare, &f), 0);
	assert_string_equal(f.steps, "pr");
}

static void test_long_running_modes_stop_on_signals(void **state)
{
	struct ct_mode live = mode;
	struct fake f = { 0 };

	(void)state;
	live.stop_on_signals = true;
	ct_stop = 0;
	assert_int_equal(run_mode(&live, &f), 0);
	/* The handler is in place: SIGINT sets the flag instead of killing. */
	assert_int_equal(raise(SIGINT), 0);
	assert_int_equal(ct_stop, 1);
	signal(SIGINT, SIG_DFL);
	ct_stop = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps_in_order),
		cmocka_unit_test(test_failed_start_still_finishes),
		cmocka_unit_test(test_start_usage_error_exits_2),
		cmocka_unit_test(test_bad_option_exits_2_before_start),
		cmocka_unit_test(test_help_exits_0_before_start),
		cmocka_unit_test(test_cannot_run_exits_1_before_start),
		cmocka_unit_test(test_optional_steps_may_be_missing),
		cmocka_unit_test(test_long_running_modes_stop_on_signals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
