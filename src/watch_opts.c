// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "watch_opts.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "numparse.h"

enum { OPT_PORT = 256 };

static const struct option long_opts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "comm", required_argument, NULL, 'c' },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "ipv4", no_argument, NULL, '4' },
	{ "ipv6", no_argument, NULL, '6' },
	{ "json", no_argument, NULL, 'j' },
	{ "duration", required_argument, NULL, 't' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void ct_watch_usage(FILE *f)
{
	fputs("Usage: conntrace [watch] [OPTIONS]\n"
	      "Print every TCP state transition on this host, with the process that\n"
	      "owns the connection, until Ctrl-C.\n"
	      "\n"
	      "  -p, --pid PID        only connections owned by process PID\n"
	      "  -c, --comm COMM      only connections owned by command COMM\n"
	      "      --port PORT      only connections with PORT at either end\n"
	      "  -4, --ipv4           only IPv4\n"
	      "  -6, --ipv6           only IPv6\n"
	      "  -j, --json           one JSON object per line\n"
	      "  -t, --duration SECS  stop after SECS seconds\n"
	      "  -v, --verbose        show libbpf messages and chosen hooks\n"
	      "  -h, --help           show this help\n"
	      "\n"
	      "PID ? means the owner cannot be known (see README, \"Owners\").\n",
	      f);
}

static int set_error(char *err, size_t len, const char *fmt, const char *arg)
{
	snprintf(err, len, fmt, arg);
	return CT_PARSE_ERROR;
}

/* Applies one option; returns CT_PARSE_OK, HELP or ERROR. */
static int apply(struct ct_watch_opts *o, int c, const char *arg,
		 char *err, size_t len, bool *v4, bool *v6)
{
	uint32_t n;

	switch (c) {
	case 'p':
		if (ct_parse_u32(arg, 1, 0x7fffffff, &n))
			return set_error(err, len, "invalid PID '%s'", arg);
		o->filter.pid = n;
		return CT_PARSE_OK;
	case 'c':
		if (!arg[0])
			return set_error(err, len, "empty command name%s", "");
		/* The kernel keeps 15 characters of a command name. */
		snprintf(o->filter.comm, sizeof(o->filter.comm), "%s", arg);
		return CT_PARSE_OK;
	case OPT_PORT:
		if (ct_parse_u32(arg, 1, 65535, &n))
			return set_error(err, len, "invalid port '%s'", arg);
		o->filter.port = (uint16_t)n;
		return CT_PARSE_OK;
	case '4':
		*v4 = true;
		return CT_PARSE_OK;
	case '6':
		*v6 = true;
		return CT_PARSE_OK;
	case 'j':
		o->json = true;
		return CT_PARSE_OK;
	case 't':
		if (ct_parse_seconds(arg, &o->duration_s) || o->duration_s <= 0)
			return set_error(err, len, "invalid duration '%s'", arg);
		return CT_PARSE_OK;
	case 'v':
		o->verbose = true;
		return CT_PARSE_OK;
	case 'h':
		return CT_PARSE_HELP;
	default:
		return CT_PARSE_ERROR;
	}
}

enum ct_parse_result ct_watch_parse(int argc, char **argv,
				    struct ct_watch_opts *o, char *err,
				    size_t errlen)
{
	bool v4 = false, v6 = false;
	int c, rc;

	memset(o, 0, sizeof(*o));
	optind = 0; /* a full reset, so the parser can be run more than once */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:c:46jt:vh", long_opts, NULL)) != -1) {
		if (c == '?') {
			if (optopt)
				snprintf(err, errlen, "unknown option '-%c'", optopt);
			else
				snprintf(err, errlen, "unknown option '%s'",
					 argv[optind - 1]);
			return CT_PARSE_ERROR;
		}
		if (c == ':') {
			snprintf(err, errlen, "option '%s' needs a value",
				 argv[optind - 1]);
			return CT_PARSE_ERROR;
		}
		rc = apply(o, c, optarg, err, errlen, &v4, &v6);
		if (rc != CT_PARSE_OK)
			return rc;
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return CT_PARSE_ERROR;
	}
	if (v4 != v6)
		o->filter.family = v4 ? AF_INET : AF_INET6;
	return CT_PARSE_OK;
}
