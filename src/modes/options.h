/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Command lines from one table per mode. A mode lists its options once,
 * in a struct ct_cmd; the getopt_long() arrays, the checks of numbers
 * against their bounds and the --help text are all made from that table,
 * so they cannot drift apart.
 *
 * The short letters mean one thing in every mode (tests/unit/test_options.c
 * checks it over every table). ls and states keep the letters of netstat
 * and ss; the live modes use long options where a letter is taken:
 *
 *   -4 ipv4       -6 ipv6        -F filter      -L lifetime
 *   -a all        -c comm        -d interval    -e extended
 *   -h help       -i info        -j json        -l listening
 *   -m memory     -n numeric     -o options     -p processes
 *   -t tcp        -u udp         -v verbose     -z zeros
 *   -w write (record's file)
 *   -V version (conntrace -V, before any mode)
 *   -H human      -r resolve
 */
#ifndef CT_OPTIONS_H
#define CT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/filter.h"

enum ct_parse_result {
	CT_PARSE_OK = 0,
	CT_PARSE_HELP = 1,	/* --help: print usage, exit 0 */
	CT_PARSE_ERROR = -1,	/* err holds a one-line message: exit 2 */
	CT_PARSE_CANNOT_RUN = -2, /* err says why (not root): exit 1 */
};

/* What an option's argument is; numbers are checked against min and max. */
enum ct_arg {
	CT_ARG_NONE,
	CT_ARG_TEXT,
	CT_ARG_UINT,	/* whole number */
	CT_ARG_SECS,	/* seconds, decimals allowed */
};

/* Keys of options without a short letter start here. */
#define CT_OPT_LONG 256

/* Long-only options that several modes share; a mode's own start at 300. */
enum {
	CT_OPT_PID = CT_OPT_LONG,
	CT_OPT_PORT,
	CT_OPT_COUNT,
	CT_OPT_CGROUP,
	CT_OPT_CONTAINER,
	CT_OPT_NETNS,
	CT_OPT_UTC,
	CT_OPT_DURATION,
	CT_OPT_RING,
	CT_OPT_BOOST,
	CT_OPT_MODE_FIRST = 300,
};

struct ct_opt {
	const char *name;	/* long name without "--"; NULL ends a table */
	int key;		/* short letter, or CT_OPT_LONG and up */
	enum ct_arg arg;
	const char *argname;	/* in --help, e.g. "SECS" */
	const char *help;	/* wrapped by the help printer */
	double min, max;	/* CT_ARG_UINT and CT_ARG_SECS */
	const char *def;	/* default, for --help; NULL if none */
};

/* Table rows: a flag, a text argument, a number within bounds, seconds. */
#define CT_FLAG(n, k, h) { .name = (n), .key = (k), .help = (h) }
#define CT_TEXT(n, k, a, h, d)						\
	{ .name = (n), .key = (k), .arg = CT_ARG_TEXT, .argname = (a),	\
	  .help = (h), .def = (d) }
#define CT_UINT(n, k, a, h, lo, hi, d)					\
	{ .name = (n), .key = (k), .arg = CT_ARG_UINT, .argname = (a),	\
	  .help = (h), .min = (lo), .max = (hi), .def = (d) }
#define CT_SECS(n, k, a, h, lo, hi, d)					\
	{ .name = (n), .key = (k), .arg = CT_ARG_SECS, .argname = (a),	\
	  .help = (h), .min = (lo), .max = (hi), .def = (d) }
#define CT_OPT_END { .name = NULL }

/*
 * --utc, in every mode that shows a wall-clock time: ct_opts_parse() takes
 * it itself (output/format.h's ct_time_set_utc), as it takes --help.
 */
#define CT_UTC_OPT							\
	CT_FLAG("utc", CT_OPT_UTC, "times in UTC (...Z) instead of local "	\
		"time with its UTC offset")

/*
 * --ring-size, in the modes that stream from the kernel: the ring buffer
 * must hold what arrives while user space is off the CPU. Those that take
 * every transition (watch, record) size it from the rate of new
 * connections while they start (engine/ringsize.h), CT_STREAM_RING_MIB at
 * least: 8 MiB holds about 45,000 transitions, some 0.35 s of the highest
 * loopback churn measured on a 2-core machine (130,000 transitions a
 * second); with 2 MiB, watch started before full churn lost to it in
 * most make bench runs. top and export take only closes and events, and
 * keep the kernel side's 1 MiB.
 */
#define CT_STREAM_RING_MIB 8
#define CT_STREAM_RING_DEF "from the rate of new connections at start, " \
	CT_STR(CT_STREAM_RING_MIB) " at least"
#define CT_RING_OPT(def)						\
	CT_UINT("ring-size", CT_OPT_RING, "MIB",			\
		"ring buffer between the kernel and conntrace, in MiB "	\
		"(rounded up to a power of two); more rides out longer "	\
		"bursts", 1, 1024, def)

/*
 * --boost, in the modes that stream every transition (watch, record): a
 * reader that falls behind the kernel loses what the ring buffer cannot
 * hold, and under churn it competes for the CPU with the very processes
 * it traces. CT_STREAM_BOOST nice levels (CFS weight 3 to 1, as auditd's
 * default priority_boost of 4) made watch keep up at full loopback churn
 * on a 2-core machine (make bench); its cost per transition is the same.
 */
#define CT_STREAM_BOOST 5
#define CT_BOOST_OPT(def)						\
	CT_UINT("boost", CT_OPT_BOOST, "N",				\
		"raise conntrace's CPU priority by N nice levels while "	\
		"it reads events (0: as started)", 0, 20, def)

/* A mode's command line: its options and the text around them in --help. */
struct ct_cmd {
	const char *name;	/* "watch", "top", ... */
	const char *synopsis;	/* after "Usage: conntrace " */
	const char *about;	/* under the usage line */
	const struct ct_opt *opts;
	const char *notes;	/* after the options, or NULL */
	bool permute;		/* options may follow the words (stats) */
	bool needs_root;	/* -F's file is read after the privilege check */
};

/* An option's argument, converted as its table entry says. */
struct ct_optval {
	const char *text;
	uint32_t u;
	double secs;
};

/*
 * Applies one parsed option to a mode's settings. Returns CT_PARSE_OK, or
 * CT_PARSE_ERROR with a one-line message in err.
 */
typedef int (*ct_opt_apply)(void *ctx, const struct ct_opt *o,
			    const struct ct_optval *v, char *err, size_t len);

/*
 * Parses argv[1..argc) by cmd's table (argv[0] is the mode name), calling
 * apply for each option. -h/--help gives CT_PARSE_HELP at once. *rest is
 * the index of the first word that is not an option.
 */
enum ct_parse_result ct_opts_parse(const struct ct_cmd *cmd, int argc,
				   char **argv, ct_opt_apply apply, void *ctx,
				   int *rest, char *err, size_t len);

/* The --help text of cmd, all of it made from its table. */
void ct_opts_help(const struct ct_cmd *cmd, FILE *f);
/* The lines of --help that list the options of one table. */
void ct_opts_print(const struct ct_opt *opts, FILE *f);

/* The option table entry with short or long key, or NULL. */
const struct ct_opt *ct_opts_find(const struct ct_cmd *cmd, int key);

/*
 * What every mode does with its parse result: the help on stdout (exit 0),
 * the one-line error and where to find help for bad input (exit 2), the
 * reason it cannot run (exit 1). Returns the exit status, or -1 to go on.
 */
int ct_cli_parsed(enum ct_parse_result r, const char *err,
		  const struct ct_cmd *cmd);

/* --- the filter options of watch and top --- */

#define CT_FILTER_OPTS							\
	CT_TEXT("filter", 'F', "FILE",					\
		"read the filter expression from FILE ('-': stdin)", NULL), \
	CT_UINT("pid", CT_OPT_PID, "PID",				\
		"only connections owned by process PID", 1, 2147483647, NULL), \
	CT_TEXT("comm", 'c', "COMM",					\
		"only connections owned by command COMM (its first 15 "	\
		"characters)", NULL),					\
	CT_UINT("port", CT_OPT_PORT, "PORT",				\
		"only connections with PORT at either end", 1, 65535, NULL), \
	CT_FLAG("ipv4", '4', "only IPv4"),				\
	CT_FLAG("ipv6", '6', "only IPv6"),				\
	CT_OWNER_CGROUP_OPTS,						\
	CT_TEXT("netns", CT_OPT_NETNS, "NS",				\
		"only connections in network namespace NS (a name in "	\
		"/run/netns or a path); default: every namespace", NULL)

/* Both filters' and ls's: the owner's cgroup and container. */
#define CT_OWNER_CGROUP_OPTS						\
	CT_TEXT("cgroup", CT_OPT_CGROUP, "PATH",			\
		"only owners in cgroup PATH or below it (as ss prints "	\
		"it, e.g. /system.slice)", NULL),			\
	CT_TEXT("container", CT_OPT_CONTAINER, "NAME",			\
		"only owners in container NAME: as shown, a runtime id "	\
		"(or 4+ first characters), a pod UID or a service", NULL)

/* --duration, as the modes that run until stopped take it. */
#define CT_DURATION_OPT							\
	/* A year: far past any use, and in ns far inside 64 bits. */	\
	CT_SECS("duration", CT_OPT_DURATION, "SECS",			\
		"stop after SECS seconds", 0.001, 31536000, NULL)

/*
 * The output and run options that watch, record and replay share, each
 * taken into the field of the mode's settings that points at it; NULL
 * for an option the mode does not have.
 */
struct ct_out_fields {
	bool *json;		/* -j */
	bool *lifetime;		/* -L */
	bool *human;		/* -H */
	bool *verbose;		/* -v */
	double *interval_s;	/* -d SECS */
	double *duration_s;	/* --duration SECS */
	uint32_t *ring_bytes;	/* --ring-size MIB, in bytes */
	uint32_t *boost;	/* --boost N */
};

/* --ring-size's MiB (1 to 1024) in bytes, rounded up to a power of two. */
uint32_t ct_ring_bytes(uint32_t mib);

/* Takes key into its field of f: true, or false if f has none for it. */
bool ct_out_opt(const struct ct_out_fields *f, int key,
		const struct ct_optval *v);

/* -4, -6 and -F, which ls takes as well as watch and top. */
struct ct_family_file {
	bool v4, v6;
	const char *file;	/* -F FILE */
};

/*
 * Takes --cgroup or --container into *cgroup or *container: 1, or
 * CT_PARSE_ERROR with err filled in; 0 if key is another option.
 */
int ct_owner_cgroup_opt(int key, const struct ct_optval *v,
			const char **cgroup, const char **container,
			char *err, size_t len);

/* Takes -4, -6 or -F into ff; false if key is another option. */
bool ct_family_file_opt(struct ct_family_file *ff, int key,
			const struct ct_optval *v);
/* AF_INET for -4 alone, AF_INET6 for -6 alone; 0 (any) otherwise. */
uint16_t ct_family_of(const struct ct_family_file *ff);

/*
 * ct_opts_parse() for a mode with CT_FILTER_OPTS in its table: they go to
 * f, the others to apply; the words left are the filter expression. The
 * family is set (-4 alone or -6 alone; both or neither: any) and the
 * expression parsed, from -F's file or from the words. A mode that needs
 * root checks it before it opens the file, so an ordinary user learns
 * that, not that the file is unreadable. When every match has one port at
 * some end, and no --port was given, the kernel is told to keep only that
 * port.
 */
enum ct_parse_result ct_opts_parse_filtered(const struct ct_cmd *cmd,
					    int argc, char **argv,
					    struct ct_kfilter *f,
					    ct_opt_apply apply, void *ctx,
					    char *err, size_t len);

/*
 * Parses an expression from file (-F) or from the words argv[0..argc),
 * whichever was given (neither: *out stays NULL). 0, or -1 with one line
 * in err.
 */
int ct_parse_expr(int argc, char **argv, const char *file,
		  struct ctf_filter **out, char *err, size_t len);

#endif
