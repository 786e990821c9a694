// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * libFuzzer target for every mode's command line, parsed from its option
 * table. The first byte picks the mode, the rest are its arguments, one
 * after another, each ended by a NUL byte. Besides not crashing or
 * leaking, it checks what the runner relies on: a parser returns one of
 * its documented results, and an error comes with a message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/filter.h"
#include "modes/export_opts.h"
#include "modes/ls_opts.h"
#include "modes/record_opts.h"
#include "modes/replay_opts.h"
#include "modes/stats_opts.h"
#include "modes/top_opts.h"
#include "modes/watch_opts.h"

#define MAX_ARGS 32

/* New modes go at the end: a corpus entry's first byte keeps its mode. */
static const char *const modes[] = { "watch", "top", "ls", "states", "stats",
				     "export", "record", "replay" };
#define NMODES (sizeof(modes) / sizeof(modes[0]))

static void must(int cond, const char *what)
{
	if (cond)
		return;
	fprintf(stderr, "fuzz_options: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* `-F -` reads stdin: give it an empty one, never the terminal. */
	must(freopen("/dev/null", "r", stdin) != NULL, "cannot open /dev/null");
	/* --help writes the usage: keep the run's log readable. */
	must(freopen("/dev/null", "w", stdout) != NULL, "cannot open /dev/null");
	return 0;
}

/* The mode's parser; frees what a successful parse hands the caller. */
static enum ct_parse_result parse(unsigned mode, int argc, char **argv,
				  char *err, size_t errlen)
{
	enum ct_parse_result r;

	switch (mode) {
	case 0: {
		struct ct_watch_opts o = { 0 };

		r = ct_watch_parse(argc, argv, &o, err, errlen);
		ctf_free(o.filter.expr);
		return r;
	}
	case 1: {
		struct ct_top_opts o = { 0 };

		r = ct_top_parse(argc, argv, &o, err, errlen);
		ctf_free(o.st.filter.expr);
		return r;
	}
	case 2:
	case 3: {
		struct ct_ls_opts o = { 0 };

		r = ct_ls_parse(argc, argv, &o, err, errlen);
		ctf_free(o.filter);
		return r;
	}
	case 4: {
		struct ct_stats_opts o = { 0 };

		return ct_stats_parse(argc, argv, &o, err, errlen);
	}
	case 5: {
		struct ct_export_opts o = { 0 };

		r = ct_export_parse(argc, argv, &o, err, errlen);
		ctf_free(o.filter.expr);
		return r;
	}
	case 6: {
		struct ct_record_opts o = { 0 };

		r = ct_record_parse(argc, argv, &o, err, errlen);
		ctf_free(o.filter.expr);
		return r;
	}
	default: {
		struct ct_replay_opts o = { 0 };

		r = ct_replay_parse(argc, argv, &o, err, errlen);
		ctf_free(o.filter.expr);
		return r;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 2], *buf, err[256] = "";
	unsigned mode;
	int argc = 1;
	enum ct_parse_result r;

	if (size < 1)
		return 0;
	mode = data[0] % NMODES;
	buf = malloc(size);
	must(buf != NULL, "out of memory");
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	argv[0] = (char *)modes[mode];
	for (size_t i = 0; i < size - 1 && argc <= MAX_ARGS; argc++) {
		argv[argc] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	r = parse(mode, argc, argv, err, sizeof(err));
	must(r == CT_PARSE_OK || r == CT_PARSE_HELP || r == CT_PARSE_ERROR ||
	     r == CT_PARSE_CANNOT_RUN, "undocumented parse result");
	/* ct_cli_parsed() makes it one line: its control characters print as ?. */
	if (r == CT_PARSE_ERROR || r == CT_PARSE_CANNOT_RUN)
		must(err[0] != '\0', "error without a message");
	free(buf);
	return 0;
}
