// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* The option tables: parsing and --help from one table, and one meaning per letter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "modes/hooks_cmd.h"
#include "modes/ls_opts.h"
#include "modes/options.h"
#include "modes/record_opts.h"
#include "modes/replay_opts.h"
#include "modes/stats_opts.h"
#include "modes/top_opts.h"
#include "modes/watch_opts.h"
#include "modes/export_opts.h"

enum { OPT_SIZE = CT_OPT_MODE_FIRST, OPT_WAIT };

static const struct ct_opt demo_opts[] = {
	CT_FLAG("json", 'j', "one JSON object"),
	CT_TEXT("name", 'N', "NAME", "a name", "none"),
	CT_UINT("size", OPT_SIZE, "N", "how many", 2, 1000, "10"),
	CT_SECS("wait", OPT_WAIT, "SECS",
		"wait SECS seconds between the first and the second look, "
		"which is long enough to wrap", 0.5, 60, NULL),
	CT_FLAG("help", 'h', "show this help"),
	CT_OPT_END,
};

static const struct ct_cmd demo = {
	.name = "demo",
	.synopsis = "demo [OPTIONS] [WORD...]",
	.about = "A mode made up for the test.",
	.opts = demo_opts,
	.notes = "Notes come last.",
};

/* What the demo's apply saw. */
struct seen {
	int json, size_calls;
	const char *name;
	uint32_t size;
	double wait;
};

static int demo_apply(void *ctx, const struct ct_opt *o,
		      const struct ct_optval *v, char *err, size_t len)
{
	struct seen *seen = ctx;

	switch (o->key) {
	case 'j':
		seen->json++;
		break;
	case 'N':
		if (!strcmp(v->text, "bad")) {
			snprintf(err, len, "bad name");
			return CT_PARSE_ERROR;
		}
		seen->name = v->text;
		break;
	case OPT_SIZE:
		seen->size = v->u;
		seen->size_calls++;
		break;
	case OPT_WAIT:
		seen->wait = v->secs;
		break;
	}
	return CT_PARSE_OK;
}

static int rest;

/* The demo mode's parser, shaped as every mode's is. */
static int demo_parse(int argc, char **argv, struct seen *seen, char *err,
		      size_t len)
{
	memset(seen, 0, sizeof(*seen));
	rest = -1;
	return ct_opts_parse(&demo, argc, argv, demo_apply, seen, &rest, err,
			     len);
}

#define PARSE_MODE "demo"
#define PARSE_OPTS struct seen
#define PARSE_FN demo_parse
#include "parse_test.h"


static char *help_of(const struct ct_cmd *cmd)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	ct_opts_help(cmd, f);
	fclose(f);
	return buf;
}

static void test_help_from_table(void **state)
{
	char *h = help_of(&demo);

	(void)state;
	assert_string_equal(h,
		"Usage: conntrace demo [OPTIONS] [WORD...]\n"
		"A mode made up for the test.\n"
		"\n"
		"  -j, --json            one JSON object\n"
		"  -N, --name NAME       a name (default none)\n"
		"      --size N          how many (2 to 1000; default 10)\n"
		"      --wait SECS       wait SECS seconds between the first and the second\n"
		"                        look, which is long enough to wrap (0.5 to 60 s)\n"
		"  -h, --help            show this help\n"
		"\n"
		"Notes come last.\n");
	free(h);
}

static void test_parse_forms(void **state)
{
	(void)state;
	assert_int_equal(PARSE("-j", "-N", "a", "--size", "5", "--wait=1.5"),
			 CT_PARSE_OK);
	assert_int_equal(opts.json, 1);
	assert_string_equal(opts.name, "a");
	assert_int_equal(opts.size, 5);
	assert_true(opts.wait == 1.5);
	assert_int_equal(rest, 7);
	assert_int_equal(PARSE("-jNb", "--name=c", "--size=7"), CT_PARSE_OK);
	assert_int_equal(opts.json, 1);
	assert_string_equal(opts.name, "c");
	assert_int_equal(opts.size, 7);
	/* Unique prefixes of long names, as getopt_long takes them. */
	assert_int_equal(PARSE("--si", "9"), CT_PARSE_OK);
	assert_int_equal(opts.size, 9);
}

/* Without permute, options end at the first word (a filter's). */
static void test_parse_stops_at_word(void **state)
{
	(void)state;
	assert_int_equal(PARSE("-j", "word", "-N", "x"), CT_PARSE_OK);
	assert_int_equal(rest, 2);
	assert_null(opts.name);
	assert_int_equal(PARSE("--", "-j"), CT_PARSE_OK);
	assert_int_equal(rest, 2);
	assert_int_equal(opts.json, 0);
}

static void test_parse_help(void **state)
{
	(void)state;
	assert_int_equal(PARSE("-h"), CT_PARSE_HELP);
	assert_int_equal(PARSE("-j", "--help", "--size", "0"), CT_PARSE_HELP);
}

static void test_parse_unknown(void **state)
{
	(void)state;
	assert_parse_error("unknown option '-x'", "-x");
	assert_parse_error("unknown option '-z'", "-jz");
	assert_parse_error("unknown option '--bogus'", "--bogus");
	assert_parse_error("unknown option '--bogus'", "--bogus=1");
	assert_parse_error("option '--json' takes no value", "--json=1");
}

static void test_parse_missing_value(void **state)
{
	(void)state;
	assert_parse_error("option '-N' needs a value", "-N");
	assert_parse_error("option '--size' needs a value", "--size");
	assert_parse_error("option '--wait' needs a value", "-j", "--wait");
}

static void test_parse_bounds(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--size", "2"), CT_PARSE_OK);
	assert_int_equal(opts.size, 2);
	assert_int_equal(PARSE("--size", "1000"), CT_PARSE_OK);
	assert_int_equal(opts.size, 1000);
	assert_parse_error("invalid --size '1' (N: 2 to 1000)", "--size", "1");
	assert_parse_error("invalid --size '1001' (N: 2 to 1000)", "--size", "1001");
	assert_parse_error("invalid --size '99999999999'", "--size", "99999999999");
	assert_parse_error("invalid --size '-3'", "--size", "-3");
	assert_parse_error("invalid --size '5x'", "--size", "5x");
	assert_parse_error("invalid --size ''", "--size=");
	assert_int_equal(PARSE("--wait", "0.5"), CT_PARSE_OK);
	assert_int_equal(PARSE("--wait", "60"), CT_PARSE_OK);
	assert_parse_error("invalid --wait '0.4' (SECS: 0.5 to 60 seconds)", "--wait",
		     "0.4");
	assert_parse_error("invalid --wait '60.01'", "--wait", "60.01");
	assert_parse_error("invalid --wait '1e1'", "--wait", "1e1");
	/* A value out of bounds never reaches the mode. */
	assert_int_equal(opts.size_calls, 0);
}

static void test_parse_apply_error(void **state)
{
	(void)state;
	assert_parse_error("bad name", "-N", "bad");
}

/* Reusable: getopt's state does not leak from one parse to the next. */
static void test_parse_again(void **state)
{
	(void)state;
	assert_int_equal(PARSE("-xj"), CT_PARSE_ERROR);
	assert_int_equal(PARSE("-N", "n"), CT_PARSE_OK);
	assert_int_equal(opts.json, 0);
	assert_string_equal(opts.name, "n");
}

static const struct ct_cmd *const every_mode[] = {
	&ct_watch_cmd, &ct_top_cmd, &ct_ls_cmd, &ct_states_cmd, &ct_stats_cmd,
	&ct_hooks_cmd,
	&ct_export_cmd, &ct_record_cmd, &ct_replay_cmd,
};
#define NMODES (sizeof(every_mode) / sizeof(every_mode[0]))

/*
 * The global letter map: a short letter means one option (one long name)
 * in every mode that has it, so -p is never a PID here and processes there.
 */
static void test_one_meaning_per_letter(void **state)
{
	const char *meaning[128] = { 0 };
	const char *where[128] = { 0 };

	(void)state;
	for (size_t m = 0; m < NMODES; m++) {
		for (const struct ct_opt *o = every_mode[m]->opts; o->name; o++) {
			if (o->key >= CT_OPT_LONG)
				continue;
			assert_true(o->key > 0 && o->key < 128);
			if (!meaning[o->key]) {
				meaning[o->key] = o->name;
				where[o->key] = every_mode[m]->name;
			} else if (strcmp(meaning[o->key], o->name)) {
				fail_msg("-%c is --%s in %s but --%s in %s",
					 o->key, meaning[o->key], where[o->key],
					 o->name, every_mode[m]->name);
			}
		}
	}
}

/* And a long name is one option: the same letter (or none) everywhere. */
static void test_one_letter_per_name(void **state)
{
	(void)state;
	for (size_t m = 0; m < NMODES; m++)
		for (const struct ct_opt *o = every_mode[m]->opts; o->name; o++)
			for (size_t n = 0; n < NMODES; n++)
				for (const struct ct_opt *p = every_mode[n]->opts;
				     p->name; p++)
					if (!strcmp(o->name, p->name) &&
					    (o->key < CT_OPT_LONG ||
					     p->key < CT_OPT_LONG) &&
					    o->key != p->key)
						fail_msg("--%s has two letters (%s, %s)",
							 o->name,
							 every_mode[m]->name,
							 every_mode[n]->name);
}

/* Every table is sound: unique keys and names, --help, sane bounds. */
static void test_tables_sound(void **state)
{
	(void)state;
	for (size_t m = 0; m < NMODES; m++) {
		const struct ct_cmd *c = every_mode[m];
		char *h = help_of(c);

		assert_non_null(ct_opts_find(c, 'h'));
		for (const struct ct_opt *o = c->opts; o->name; o++) {
			char want[64];

			assert_ptr_equal(ct_opts_find(c, o->key), o);
			for (const struct ct_opt *p = o + 1; p->name; p++)
				if (!strcmp(o->name, p->name))
					fail_msg("%s: --%s twice", c->name, o->name);
			if (o->arg)
				assert_non_null(o->argname);
			if (o->arg == CT_ARG_UINT || o->arg == CT_ARG_SECS)
				assert_true(o->min <= o->max);
			snprintf(want, sizeof(want), "--%s", o->name);
			if (!strstr(h, want))
				fail_msg("%s --help lacks %s", c->name, want);
		}
		free(h);
	}
}

/* The help as one line: wrapping may split a bound. */
static char *help_unwrapped(const struct ct_cmd *cmd)
{
	char *h = help_of(cmd), *r = h, *w = h;

	while (*r) {
		if (*r == '\n' && r[1] == ' ') {
			r += strspn(r + 1, " ") + 1;
			*w++ = ' ';
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return h;
}

/* Every number an option takes has its bound in --help. */
static void test_bounds_in_help(void **state)
{
	(void)state;
	for (size_t m = 0; m < NMODES; m++) {
		char *h = help_unwrapped(every_mode[m]);

		for (const struct ct_opt *o = every_mode[m]->opts; o->name; o++) {
			char want[64];

			if (o->arg != CT_ARG_UINT && o->arg != CT_ARG_SECS)
				continue;
			snprintf(want, sizeof(want), "(%.10g to %.10g", o->min,
				 o->max);
			if (!strstr(h, want))
				fail_msg("%s --help lacks '%s' for --%s",
					 every_mode[m]->name, want, o->name);
		}
		free(h);
	}
}

/* Each help line fits 80 columns. */
static void test_help_fits(void **state)
{
	(void)state;
	for (size_t m = 0; m < NMODES; m++) {
		char *h = help_of(every_mode[m]), *line = h;

		while (*line) {
			size_t n = strcspn(line, "\n");

			if (n > 79)
				fail_msg("%s --help: line of %zu: %.*s",
					 every_mode[m]->name, n, (int)n, line);
			line += n + (line[n] == '\n');
		}
		free(h);
	}
}

/* states has its own help, not ls's. */
static void test_states_help_is_its_own(void **state)
{
	char *h = help_of(&ct_states_cmd);

	(void)state;
	assert_non_null(strstr(h, "Usage: conntrace states"));
	assert_null(strstr(h, "Usage: conntrace ls"));
	assert_non_null(strstr(h, "Count TCP sockets per state"));
	/* Options that only change the listing are not offered. */
	assert_null(strstr(h, "--processes"));
	assert_null(strstr(h, "  --summary"));
	free(h);
}

/*
 * Runs ct_watch_parse() with -F in a child without privileges (dropped
 * to nobody when the tests run as root). Returns the parse result.
 */
static int parse_unprivileged(const char *file, char *msg, size_t len)
{
	int pipefd[2], status;
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ct_watch_opts o;
		char e[256] = "";
		int rc;

		close(pipefd[0]);
		if (geteuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(100);
		rc = ct_watch_parse(3, (char *[]){ "watch", "-F", (char *)file,
						   NULL },
				    &o, e, sizeof(e));
		if (write(pipefd[1], e, strlen(e)) < 0)
			_exit(101);
		_exit(rc == CT_PARSE_CANNOT_RUN ? 0 : rc == CT_PARSE_ERROR ? 2 : 3);
	}
	close(pipefd[1]);
	n = read(pipefd[0], msg, len - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* -F's file is opened after the privilege check, in modes that need root. */
static void test_filter_file_after_privileges(void **state)
{
	char msg[256];

	(void)state;
	/* Unreadable or missing: the user learns about root, not the file. */
	assert_int_equal(parse_unprivileged("/nonexistent/filter", msg,
					    sizeof(msg)), 0);
	assert_non_null(strstr(msg, "root"));
	assert_null(strstr(msg, "nonexistent"));
}

/* ls needs no root: its -F file is read while parsing, as before. */
static void test_ls_filter_file_read_at_once(void **state)
{
	struct ct_ls_opts o;
	char e[256];

	(void)state;
	assert_int_equal(ct_ls_parse(3, (char *[]){ "ls", "-F",
						   "/nonexistent/filter", NULL },
				     &o, e, sizeof(e)),
			 CT_PARSE_ERROR);
	assert_non_null(strstr(e, "cannot open"));
}

static int ls_parse(char **argv, struct ct_ls_opts *o)
{
	char e[256];
	int argc = 0, rc;

	while (argv[argc])
		argc++;
	rc = ct_ls_parse(argc, argv, o, e, sizeof(e));
	if (rc == CT_PARSE_OK)
		ctf_free(o->filter);
	return rc;
}

/* ls and states share -4, -6 and -F handling with watch and top. */
static void test_ls_and_states(void **state)
{
	struct ct_ls_opts o;

	(void)state;
	assert_int_equal(ls_parse((char *[]){ "ls", "-tanp4", NULL }, &o), 0);
	assert_true(o.tcp && !o.udp && o.all && o.procs && !o.summary);
	assert_int_equal(o.family, AF_INET);
	assert_int_equal(ls_parse((char *[]){ "ls", "-4", "-6", NULL }, &o), 0);
	assert_int_equal(o.family, 0);
	assert_true(o.tcp && o.udp);
	assert_int_equal(ls_parse((char *[]){ "states", "-6", NULL }, &o), 0);
	assert_true(o.summary && o.all);
	assert_int_equal(o.family, AF_INET6);
	assert_int_equal(ls_parse((char *[]){ "states", "-l", NULL }, &o), 0);
	assert_true(o.summary && o.listening && !o.all);
	/* Listing options are ls's only. */
	assert_int_equal(ls_parse((char *[]){ "states", "-p", NULL }, &o),
			 CT_PARSE_ERROR);
	assert_int_equal(ls_parse((char *[]){ "states", "--help", NULL }, &o),
			 CT_PARSE_HELP);
}

/* What ct_cli_parsed() wrote to stderr for one parse. */
static void cli_error(char **argv, int argc, char *out, size_t len)
{
	struct ct_watch_opts o = { 0 };
	char err[256] = "";
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	assert_non_null(tmp);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	assert_int_equal(ct_cli_parsed(ct_watch_parse(argc, argv, &o, err,
						      sizeof(err)),
				       err, &ct_watch_cmd), 2);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, len - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
}

/* A word with a newline or an escape in it must not break the one line. */
static void test_error_quotes_control_characters_safely(void **state)
{
	char *argv[] = { "watch", "--po\nrt\033[2J", NULL };
	char out[512];

	(void)state;
	cli_error(argv, 2, out, sizeof(out));
	assert_string_equal(out,
		"conntrace: unknown option '--po?rt?[2J' (see 'conntrace watch --help')\n");
}

/* Issue 12: -H, -r, --interval with --count, and states --by. */
static void test_ls_newcomer_options(void **state)
{
	struct ct_ls_opts o;

	(void)state;
	assert_int_equal(ls_parse((char *[]){ "ls", "-tH", "-r", NULL }, &o), 0);
	assert_true(o.human && o.resolve && o.interval_s == 0 && o.count == 0);
	assert_int_equal(ls_parse((char *[]){ "ls", "--human", "--resolve",
					       "--interval", "0.5", "--count",
					       "3", NULL }, &o), 0);
	assert_true(o.human && o.resolve);
	assert_true(o.interval_s == 0.5 && o.count == 3);
	assert_int_equal(ls_parse((char *[]){ "ls", "-d", "2", NULL }, &o), 0);
	assert_true(o.interval_s == 2 && o.count == 0);
	/* A count without an interval would list once and mean nothing. */
	assert_int_equal(ls_parse((char *[]){ "ls", "--count", "2", NULL }, &o),
			 CT_PARSE_ERROR);
	assert_int_equal(ls_parse((char *[]){ "ls", "-d", "0", NULL }, &o),
			 CT_PARSE_ERROR);
	assert_int_equal(ls_parse((char *[]){ "ls", "-d", "0.5", "--count",
					       "0", NULL }, &o), CT_PARSE_ERROR);
	for (int by = CT_BY_NONE + 1; by < CT_BY_MAX; by++) {
		char *name = (char *)ct_ls_by_name((enum ct_ls_by)by);

		assert_int_equal(ls_parse((char *[]){ "states", "--by", name,
						       NULL }, &o), 0);
		assert_int_equal(o.by, by);
		assert_true(o.summary);
	}
	assert_string_equal(ct_ls_by_name(CT_BY_RADDR), "raddr");
	assert_int_equal(ls_parse((char *[]){ "states", "--by", "host", NULL },
				  &o), CT_PARSE_ERROR);
	assert_int_equal(ls_parse((char *[]){ "states", "--by", "", NULL }, &o),
			 CT_PARSE_ERROR);
	/* --by is states', -H and -r are ls's. */
	assert_int_equal(ls_parse((char *[]){ "ls", "--by", "rport", NULL }, &o),
			 CT_PARSE_ERROR);
	assert_int_equal(ls_parse((char *[]){ "states", "-H", NULL }, &o),
			 CT_PARSE_ERROR);
	/* watch takes -H for -L's byte counts. */
	{
		struct ct_watch_opts w;
		char e[256];

		assert_int_equal(ct_watch_parse(3, (char *[]){ "watch", "-L", "-H",
							      NULL }, &w, e, sizeof(e)), 0);
		assert_true(w.lifetime && w.human);
		ctf_free(w.filter.expr);
	}
}

/* The shared output options go to the fields a mode names, and no others. */
static void test_out_opt(void **state)
{
	bool json = false, verbose = false;
	double interval = 0, duration = 0;
	struct ct_optval v = { .secs = 2.5 };
	const struct ct_out_fields f = {
		.json = &json, .verbose = &verbose, .interval_s = &interval,
	};
	const struct ct_out_fields g = { .duration_s = &duration };

	(void)state;
	assert_true(ct_out_opt(&f, 'j', &v) && json);
	assert_true(ct_out_opt(&f, 'v', &v) && verbose);
	assert_true(ct_out_opt(&f, 'd', &v));
	assert_true(interval == 2.5);
	/* Not this mode's: left to its own cases. */
	assert_false(ct_out_opt(&f, 'L', &v));
	assert_false(ct_out_opt(&f, 'H', &v));
	assert_false(ct_out_opt(&f, CT_OPT_DURATION, &v));
	assert_false(ct_out_opt(&f, 'x', &v));
	assert_true(ct_out_opt(&g, CT_OPT_DURATION, &v));
	assert_true(duration == 2.5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_from_table),
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_stops_at_word),
		cmocka_unit_test(test_parse_help),
		cmocka_unit_test(test_parse_unknown),
		cmocka_unit_test(test_parse_missing_value),
		cmocka_unit_test(test_parse_bounds),
		cmocka_unit_test(test_parse_apply_error),
		cmocka_unit_test(test_parse_again),
		cmocka_unit_test(test_one_meaning_per_letter),
		cmocka_unit_test(test_one_letter_per_name),
		cmocka_unit_test(test_tables_sound),
		cmocka_unit_test(test_bounds_in_help),
		cmocka_unit_test(test_help_fits),
		cmocka_unit_test(test_states_help_is_its_own),
		cmocka_unit_test(test_filter_file_after_privileges),
		cmocka_unit_test(test_ls_filter_file_read_at_once),
		cmocka_unit_test(test_ls_and_states),
		cmocka_unit_test(test_error_quotes_control_characters_safely),
		cmocka_unit_test(test_ls_newcomer_options),
		cmocka_unit_test(test_out_opt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
