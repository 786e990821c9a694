// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/options.h"

#include <string.h>
#include <sys/socket.h>

#include "engine/filter.h"
#include "lib/numparse.h"

int ct_cli_filter_opt(struct ct_kfilter *f, struct ct_famsel *fs, int c,
		      const char *arg, char *err, size_t len)
{
	uint32_t n;

	switch (c) {
	case 'p':
		if (ct_parse_u32(arg, 1, 0x7fffffff, &n)) {
			snprintf(err, len, "invalid PID '%s'", arg);
			return -1;
		}
		f->pid = n;
		return 1;
	case 'c':
		if (!arg[0]) {
			snprintf(err, len, "empty command name");
			return -1;
		}
		/* The kernel keeps 15 characters of a command name. */
		snprintf(f->comm, sizeof(f->comm), "%s", arg);
		return 1;
	case CT_OPT_PORT:
		if (ct_parse_u32(arg, 1, 65535, &n)) {
			snprintf(err, len, "invalid port '%s'", arg);
			return -1;
		}
		f->port = (uint16_t)n;
		return 1;
	case '4':
		fs->v4 = true;
		return 1;
	case '6':
		fs->v6 = true;
		return 1;
	case 'F':
		fs->file = arg;
		return 1;
	default:
		return 0;
	}
}

int ct_cli_parse_expr(int argc, char **argv, const char *file,
		      struct ctf_filter **out, char *err, size_t len)
{
	struct ctf_error fe;
	int rc = 0;

	if (file && argc > 0) {
		snprintf(err, len, "give a filter either with -F or as arguments");
		return -1;
	}
	if (file)
		rc = ctf_parse_file(file, out, &fe);
	else if (argc > 0)
		rc = ctf_parse_argv(argc, argv, out, &fe);
	if (rc) {
		snprintf(err, len, "%s", fe.msg);
		return -1;
	}
	return 0;
}

int ct_cli_filter_expr(struct ct_kfilter *f, int argc, char **argv,
		       const char *file, char *err, size_t len)
{
	int port;

	if (ct_cli_parse_expr(argc, argv, file, &f->expr, err, len))
		return -1;
	/* The kernel's port test takes either end: a safe superset here. */
	port = ctf_port(f->expr, CTF_EITHER);
	if (port < 0)
		port = ctf_port(f->expr, CTF_SRC);
	if (port < 0)
		port = ctf_port(f->expr, CTF_DST);
	if (!f->port && port > 0)
		f->port = (uint16_t)port;
	return 0;
}

void ct_cli_filter_finish(struct ct_kfilter *f, const struct ct_famsel *fs)
{
	if (fs->v4 != fs->v6)
		f->family = fs->v4 ? AF_INET : AF_INET6;
}

void ct_cli_filter_usage(FILE *f)
{
	fputs("  FILTER               an ss-style expression, e.g. 'dport = :443 or\n"
	      "                       dst 10.0.0.0/8' (see 'conntrace ls --help')\n"
	      "  -F, --filter FILE    read the expression from FILE\n"
	      "  -p, --pid PID        only connections owned by process PID\n"
	      "  -c, --comm COMM      only connections owned by command COMM\n"
	      "      --port PORT      only connections with PORT at either end\n"
	      "  -4, --ipv4           only IPv4\n"
	      "  -6, --ipv6           only IPv6\n",
	      f);
}

/* Whether "--name=value" names an option we have (that takes no value). */
static bool known_long(const struct option *opts, const char *arg)
{
	size_t n = strcspn(arg + 2, "=");

	for (; opts && opts->name; opts++)
		if (strlen(opts->name) == n && !strncmp(opts->name, arg + 2, n))
			return true;
	return false;
}

void ct_cli_getopt_error(int c, char **argv, const struct option *opts,
			 char *err, size_t len)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		snprintf(err, len, "option '%s' needs a value", arg);
	else if (!strncmp(arg, "--", 2) && strchr(arg, '=') &&
		 known_long(opts, arg))
		snprintf(err, len, "option '%.*s' takes no value",
			 (int)(strchr(arg, '=') - arg), arg);
	else if (!strncmp(arg, "--", 2) && strchr(arg, '='))
		snprintf(err, len, "unknown option '%.*s'",
			 (int)(strchr(arg, '=') - arg), arg);
	else if (optopt && optopt < 256)
		snprintf(err, len, "unknown option '-%c'", optopt);
	else
		snprintf(err, len, "unknown option '%s'", arg);
}

void ct_cli_reset(void)
{
	optind = 0; /* 0, not 1: glibc then also forgets its internal state */
	opterr = 0;
}

int ct_cli_parsed(enum ct_parse_result r, const char *err, const char *mode,
		  void (*usage)(FILE *f))
{
	switch (r) {
	case CT_PARSE_HELP:
		usage(stdout);
		return 0;
	case CT_PARSE_ERROR:
		fprintf(stderr, "conntrace: %s (see 'conntrace %s%s--help')\n", err,
			mode, *mode ? " " : "");
		return 2;
	default:
		return -1;
	}
}
