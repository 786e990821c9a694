// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* conntrace: who owns each TCP connection, and what it does. */
#include <stdio.h>
#include <string.h>

#include "engine/filter.h"
#include "modes/hooks_cmd.h"
#include "modes/ls.h"
#include "modes/options.h"
#include "modes/record.h"
#include "modes/replay.h"
#include "modes/stats.h"
#include "modes/top.h"
#include "modes/watch.h"
#include "modes/export.h"
#include "output/ostream.h"

#define CT_VERSION "0.1.0"

struct mode {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *what;
};

static const struct mode modes[] = {
	{ "watch", ct_watch_main,
	  "stream TCP state transitions with their owner (default)" },
	{ "top", ct_top_main,
	  "live bytes per process, connection and remote host" },
	{ "ls", ct_ls_main,
	  "list TCP and UDP sockets with owners and bytes, like ss and netstat" },
	{ "states", ct_states_main,
	  "histogram of connection states, with totals (ls --summary)" },
	{ "stats", ct_stats_main,
	  "protocol and interface counters, like nstat and netstat -i" },
	{ "hooks", ct_hooks_main,
	  "what this kernel offers, and which program variants load" },
	{ "export", ct_export_main,
	  "Prometheus/OpenMetrics metrics over HTTP, until stopped" },
	{ "record", ct_record_main,
	  "record transitions, events, owners and byte counters to a file" },
	{ "replay", ct_replay_main,
	  "show a recording as watch, top, ls or states would, as any user" },
};

#define NMODES (sizeof(modes) / sizeof(modes[0]))

/* Options of conntrace itself, before any mode. */
static const struct ct_opt main_opts[] = {
	CT_FLAG("help", 'h', "show this help, then watch's"),
	CT_FLAG("version", 'V', "show the version"),
	CT_OPT_END,
};

static void usage(FILE *f)
{
	fputs("Usage: conntrace [MODE] [OPTIONS] [FILTER]\n\nModes:\n", f);
	for (size_t i = 0; i < NMODES; i++)
		fprintf(f, "  %-8s %s\n", modes[i].name, modes[i].what);
	fputs("\nWithout a mode, conntrace watches; a FILTER may come first.\n"
	      "Run 'conntrace MODE --help' for the options of a mode.\n\n", f);
	ct_opts_print(main_opts, f);
}

static const struct mode *find_mode(const char *name)
{
	for (size_t i = 0; i < NMODES; i++)
		if (!strcmp(name, modes[i].name))
			return &modes[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const char *arg = argc > 1 ? argv[1] : "";
	const struct mode *m = find_mode(arg);

	ct_stdio_init();
	if (!strcmp(arg, "-V") || !strcmp(arg, "--version")) {
		printf("conntrace %s\n", CT_VERSION);
		return 0;
	}
	if (!strcmp(arg, "help")) {
		usage(stdout);
		return 0;
	}
	if (m)
		return m->main(argc - 1, argv + 1);
	/* Only mode names select a mode; a filter may stand for watch's. */
	if (arg[0] && arg[0] != '-' && !ctf_begins_filter(arg)) {
		fprintf(stderr, "conntrace: unknown mode '%s' (see 'conntrace --help')\n",
			arg);
		return 2;
	}
	/* No mode: watch, which also answers --help for the whole tool. */
	if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
		usage(stdout);
		putchar('\n');
	}
	return ct_watch_main(argc, argv);
}
