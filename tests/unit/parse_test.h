/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * What every option-parser test needs. Before including, define
 * PARSE_MODE (the mode name, argv[0]), PARSE_OPTS (the options type) and
 * PARSE_FN (the parser).
 */
#ifndef CT_PARSE_TEST_H
#define CT_PARSE_TEST_H

#include <string.h>

static PARSE_OPTS opts;
static char err[256];

/* getopt_long permutes argv, so each call gets a fresh, writable array. */
static int parse_argv(char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	memset(err, 0, sizeof(err));
	return PARSE_FN(argc, argv, &opts, err, sizeof(err));
}

#define PARSE(...) parse_argv((char *[]){ PARSE_MODE, __VA_ARGS__, NULL })
#define PARSE_NONE() parse_argv((char *[]){ PARSE_MODE, NULL })

/* Parsing must fail with one line that names the offending text. */
#define assert_parse_error(needle, ...)					\
	do {								\
		assert_int_equal(PARSE(__VA_ARGS__), CT_PARSE_ERROR);	\
		if (!strstr(err, needle))				\
			fail_msg("error '%s' lacks '%s'", err, needle);	\
		assert_null(strchr(err, '\n'));			\
	} while (0)

#endif
