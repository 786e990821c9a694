/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/* Command-line pieces shared by the modes that filter connections. */
#ifndef CT_CLI_H
#define CT_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "engine/filter.h"

enum ct_parse_result {
	CT_PARSE_OK = 0,
	CT_PARSE_HELP = 1,	/* --help: print usage, exit 0 */
	CT_PARSE_ERROR = -1,	/* err holds a one-line message */
};

/*
 * What every mode does with its parse result: usage on stdout for --help
 * (exit 0), the one-line error and where to find help for bad input
 * (exit 2). Returns the exit status, or -1 to go on.
 */
int ct_cli_parsed(enum ct_parse_result r, const char *err, const char *mode,
		  void (*usage)(FILE *f));

/* Long options of the filters; short ones are CT_FILTER_SHORTOPTS. */
#define CT_OPT_PORT 256
#define CT_FILTER_SHORTOPTS "p:c:46F:"
#define CT_FILTER_LONGOPTS					\
	{ "pid", required_argument, NULL, 'p' },		\
	{ "comm", required_argument, NULL, 'c' },		\
	{ "port", required_argument, NULL, CT_OPT_PORT },	\
	{ "ipv4", no_argument, NULL, '4' },			\
	{ "ipv6", no_argument, NULL, '6' },			\
	{ "filter", required_argument, NULL, 'F' }

/* Parser state of the filter options until ct_cli_filter_expr(). */
struct ct_famsel {
	bool v4, v6;
	const char *file;	/* -F FILE */
};

/*
 * Applies one filter option. Returns 1 if it was one, 0 if c is not a
 * filter option, and -1 (with a message in err) if its value is bad.
 */
int ct_cli_filter_opt(struct ct_kfilter *f, struct ct_famsel *fs, int c,
		      const char *arg, char *err, size_t errlen);

/* -4 alone or -6 alone select a family; both or neither mean any. */
void ct_cli_filter_finish(struct ct_kfilter *f, const struct ct_famsel *fs);

/*
 * Parses the filter expression: from file (-F) if given, else from the
 * words argv[0..argc). When every match has one port at some end, and no
 * --port was given, the kernel is told to keep only that port. Returns 0,
 * or -1 with the parser's one-line message in err.
 */
int ct_cli_filter_expr(struct ct_kfilter *f, int argc, char **argv,
		       const char *file, char *err, size_t errlen);

/*
 * Parses an expression from file (-F) or from the words argv[0..argc),
 * whichever was given (neither: *out stays NULL). 0, or -1 with one line
 * in err.
 */
int ct_cli_parse_expr(int argc, char **argv, const char *file,
		      struct ctf_filter **out, char *err, size_t errlen);
void ct_cli_filter_usage(FILE *f);

/*
 * Explains a getopt_long() failure ('?' or ':') in err. Call it with the
 * parser's state untouched.
 */
void ct_cli_getopt_error(int c, char **argv, const struct option *opts,
			 char *err, size_t errlen);

/* Resets getopt so a parser can run more than once in one process. */
void ct_cli_reset(void);

#endif
