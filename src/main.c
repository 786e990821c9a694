// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* conntrace: who owns each TCP connection, and what it does. */
#include <stdio.h>
#include <string.h>

#include "watch.h"

#define CT_VERSION "0.1.0"

static void usage(FILE *f)
{
	fputs("Usage: conntrace [MODE] [OPTIONS]\n"
	      "\n"
	      "Modes:\n"
	      "  watch    stream TCP state transitions with their owner (default)\n"
	      "\n"
	      "Run 'conntrace MODE --help' for the options of a mode.\n"
	      "  -h, --help     show this help\n"
	      "  -V, --version  show the version\n",
	      f);
}

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))) {
		printf("conntrace %s\n", CT_VERSION);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "watch"))
		return ct_watch_main(argc - 1, argv + 1);
	if (argc > 1 && argv[1][0] != '-') {
		fprintf(stderr, "conntrace: unknown mode '%s' (see 'conntrace --help')\n",
			argv[1]);
		return 2;
	}
	/* No mode: watch, which also answers --help for the whole tool. */
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		putchar('\n');
	}
	return ct_watch_main(argc, argv);
}
