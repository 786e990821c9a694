// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/options.h"

#include <getopt.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/filter.h"
#include "engine/netns.h"
#include "engine/privs.h"
#include "lib/numparse.h"
#include "output/format.h"

/* More options than any mode has; a longer table is a programming error. */
#define MAX_OPTS 40
/* Where the help text of an option starts, and where lines end. */
#define HELP_COL 24
#define HELP_WIDTH 79

/* The getopt_long() view of one table. */
struct getopt_tab {
	struct option longs[MAX_OPTS + 1];
	char shorts[3 + 2 * MAX_OPTS + 1];
};

static int build_getopt(const struct ct_cmd *cmd, struct getopt_tab *g)
{
	size_t n = 0, s = 0;

	memset(g, 0, sizeof(*g));
	/* '+': options end at the first word, where a filter begins, as in ss. */
	if (!cmd->permute)
		g->shorts[s++] = '+';
	g->shorts[s++] = ':';
	for (const struct ct_opt *o = cmd->opts; o->name; o++, n++) {
		if (n == MAX_OPTS)
			return -1;
		g->longs[n] = (struct option){
			o->name, o->arg ? required_argument : no_argument,
			NULL, o->key,
		};
		if (o->key >= CT_OPT_LONG)
			continue;
		g->shorts[s++] = (char)o->key;
		if (o->arg)
			g->shorts[s++] = ':';
	}
	return 0;
}

const struct ct_opt *ct_opts_find(const struct ct_cmd *cmd, int key)
{
	for (const struct ct_opt *o = cmd->opts; o->name; o++)
		if (o->key == key)
			return o;
	return NULL;
}

/* Whether "--name=value" names an option we have (that takes no value). */
static bool known_long(const struct option *opts, const char *arg)
{
	size_t n = strcspn(arg + 2, "=");

	for (; opts->name; opts++)
		if (strlen(opts->name) == n && !strncmp(opts->name, arg + 2, n))
			return true;
	return false;
}

/* Explains a getopt_long() failure ('?' or ':'), its state untouched. */
static void getopt_error(int c, char **argv, const struct option *opts,
			 char *err, size_t len)
{
	const char *arg = argv[optind - 1];
	const char *eq = strchr(arg, '=');
	bool dashdash = !strncmp(arg, "--", 2);

	if (c == ':')
		snprintf(err, len, "option '%s' needs a value", arg);
	else if (dashdash && eq && known_long(opts, arg))
		snprintf(err, len, "option '%.*s' takes no value",
			 (int)(eq - arg), arg);
	else if (dashdash && eq)
		snprintf(err, len, "unknown option '%.*s'", (int)(eq - arg), arg);
	else if (optopt && optopt < CT_OPT_LONG)
		snprintf(err, len, "unknown option '-%c'", optopt);
	else
		snprintf(err, len, "unknown option '%s'", arg);
}

/* Prints a bound without a useless ".000000" or thousands of zeros. */
static void bound_str(double v, char *buf, size_t len)
{
	snprintf(buf, len, "%.10g", v);
}

static int bad_number(const struct ct_opt *o, const char *arg, char *err,
		      size_t len)
{
	char lo[32], hi[32];

	bound_str(o->min, lo, sizeof(lo));
	bound_str(o->max, hi, sizeof(hi));
	snprintf(err, len, "invalid --%s '%s' (%s: %s to %s%s)", o->name, arg,
		 o->argname, lo, hi,
		 o->arg == CT_ARG_SECS ? " seconds" : "");
	return CT_PARSE_ERROR;
}

static int convert(const struct ct_opt *o, const char *arg,
		   struct ct_optval *v, char *err, size_t len)
{
	memset(v, 0, sizeof(*v));
	v->text = arg;
	switch (o->arg) {
	case CT_ARG_UINT:
		if (ct_parse_u32(arg, (uint32_t)o->min, (uint32_t)o->max, &v->u))
			return bad_number(o, arg, err, len);
		break;
	case CT_ARG_SECS:
		if (ct_parse_seconds(arg, &v->secs) || v->secs < o->min ||
		    v->secs > o->max)
			return bad_number(o, arg, err, len);
		break;
	default:
		break;
	}
	return CT_PARSE_OK;
}

enum ct_parse_result ct_opts_parse(const struct ct_cmd *cmd, int argc,
				   char **argv, ct_opt_apply apply, void *ctx,
				   int *rest, char *err, size_t len)
{
	struct getopt_tab g;
	struct ct_optval v;
	int c, rc;

	if (build_getopt(cmd, &g)) {
		snprintf(err, len, "too many options in mode %s", cmd->name);
		return CT_PARSE_ERROR;
	}
	optind = 0; /* 0, not 1: glibc then also forgets its internal state */
	opterr = 0;
	while ((c = getopt_long(argc, argv, g.shorts, g.longs, NULL)) != -1) {
		const struct ct_opt *o = ct_opts_find(cmd, c);

		if (c == '?' || c == ':' || !o) {
			getopt_error(c, argv, g.longs, err, len);
			return CT_PARSE_ERROR;
		}
		if (c == 'h')
			return CT_PARSE_HELP;
		if (c == CT_OPT_UTC) {
			ct_time_set_utc(true);
			continue;
		}
		rc = convert(o, optarg, &v, err, len);
		if (rc == CT_PARSE_OK)
			rc = apply(ctx, o, &v, err, len);
		if (rc != CT_PARSE_OK)
			return rc;
	}
	*rest = optind;
	return CT_PARSE_OK;
}

/* Prints words from column col on, wrapped at HELP_WIDTH. */
static void wrap(FILE *f, const char *text, int col)
{
	int at = col;

	while (*text) {
		size_t n = strcspn(text, " ");

		if (at > col && at + 1 + (int)n > HELP_WIDTH) {
			fprintf(f, "\n%*s", col, "");
			at = col;
		} else if (at > col) {
			fputc(' ', f);
			at++;
		}
		fwrite(text, 1, n, f);
		at += (int)n;
		text += n;
		text += strspn(text, " ");
	}
	fputc('\n', f);
}

/* The help of one option, with its bounds and default, as one string. */
static void help_text(const struct ct_opt *o, char *buf, size_t len)
{
	char lo[32], hi[32];
	int n = snprintf(buf, len, "%s", o->help);

	if (n < 0 || (size_t)n >= len)
		return;
	if (o->arg == CT_ARG_UINT || o->arg == CT_ARG_SECS) {
		bound_str(o->min, lo, sizeof(lo));
		bound_str(o->max, hi, sizeof(hi));
		snprintf(buf + n, len - (size_t)n, " (%s to %s%s%s%s)", lo, hi,
			 o->arg == CT_ARG_SECS ? " s" : "",
			 o->def ? "; default " : "", o->def ? o->def : "");
	} else if (o->def) {
		snprintf(buf + n, len - (size_t)n, " (default %s)", o->def);
	}
}

static void print_opt(const struct ct_opt *o, FILE *f)
{
	char left[80], help[512];
	int n;

	if (o->key < CT_OPT_LONG)
		n = snprintf(left, sizeof(left), "  -%c, --%s", o->key, o->name);
	else
		n = snprintf(left, sizeof(left), "      --%s", o->name);
	if (o->arg && n > 0 && (size_t)n < sizeof(left))
		snprintf(left + n, sizeof(left) - (size_t)n, " %s", o->argname);
	help_text(o, help, sizeof(help));
	if ((int)strlen(left) < HELP_COL - 1)
		fprintf(f, "%-*s", HELP_COL, left);
	else
		fprintf(f, "%s\n%*s", left, HELP_COL, "");
	wrap(f, help, HELP_COL);
}

void ct_opts_print(const struct ct_opt *opts, FILE *f)
{
	for (const struct ct_opt *o = opts; o->name; o++)
		print_opt(o, f);
}

void ct_opts_help(const struct ct_cmd *cmd, FILE *f)
{
	fprintf(f, "Usage: conntrace %s\n", cmd->synopsis);
	if (cmd->about)
		fprintf(f, "%s\n", cmd->about);
	fputc('\n', f);
	ct_opts_print(cmd->opts, f);
	if (cmd->notes)
		fprintf(f, "\n%s\n", cmd->notes);
}

/*
 * The message quotes the user's words, which may hold a newline or a
 * terminal's escape: each control character prints as '?', so the error
 * stays one line and cannot move the cursor.
 */
static const char *one_line(const char *in, char *out, size_t len)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < len; i++)
		out[i] = (unsigned char)in[i] < 0x20 || in[i] == 0x7f ? '?' : in[i];
	out[i] = '\0';
	return out;
}

int ct_cli_parsed(enum ct_parse_result r, const char *err,
		  const struct ct_cmd *cmd)
{
	char line[512];

	if (r == CT_PARSE_ERROR || r == CT_PARSE_CANNOT_RUN)
		err = one_line(err, line, sizeof(line));
	switch (r) {
	case CT_PARSE_HELP:
		ct_opts_help(cmd, stdout);
		return 0;
	case CT_PARSE_ERROR:
		fprintf(stderr, "conntrace: %s (see 'conntrace %s --help')\n",
			err, cmd->name);
		return 2;
	case CT_PARSE_CANNOT_RUN:
		fprintf(stderr, "conntrace: %s\n", err);
		return 1;
	default:
		return -1;
	}
}

/* --- filter options --- */

bool ct_family_file_opt(struct ct_family_file *ff, int key,
			const struct ct_optval *v)
{
	switch (key) {
	case '4':
		ff->v4 = true;
		return true;
	case '6':
		ff->v6 = true;
		return true;
	case 'F':
		ff->file = v->text;
		return true;
	default:
		return false;
	}
}

static bool set_flag(bool *field)
{
	if (!field)
		return false;
	*field = true;
	return true;
}

static bool set_secs(double *field, const struct ct_optval *v)
{
	if (!field)
		return false;
	*field = v->secs;
	return true;
}

/* The kernel takes only a power of two of pages for a ring buffer. */
uint32_t ct_ring_bytes(uint32_t mib)
{
	uint32_t p = 1;

	while (p < mib && p < 1024)
		p <<= 1;
	return p << 20;
}

static bool set_ring(uint32_t *field, const struct ct_optval *v)
{
	if (!field)
		return false;
	*field = ct_ring_bytes(v->u);
	return true;
}

bool ct_out_opt(const struct ct_out_fields *f, int key,
		const struct ct_optval *v)
{
	switch (key) {
	case 'j':
		return set_flag(f->json);
	case 'L':
		return set_flag(f->lifetime);
	case 'H':
		return set_flag(f->human);
	case 'v':
		return set_flag(f->verbose);
	case 'd':
		return set_secs(f->interval_s, v);
	case CT_OPT_DURATION:
		return set_secs(f->duration_s, v);
	case CT_OPT_RING:
		return set_ring(f->ring_bytes, v);
	case CT_OPT_BOOST:
		if (!f->boost)
			return false;
		*f->boost = v->u;
		return true;
	}
	return false;
}

uint16_t ct_family_of(const struct ct_family_file *ff)
{
	if (ff->v4 == ff->v6)
		return 0;
	return ff->v4 ? AF_INET : AF_INET6;
}

int ct_owner_cgroup_opt(int key, const struct ct_optval *v,
			const char **cgroup, const char **container,
			char *err, size_t len)
{
	if (key != CT_OPT_CGROUP && key != CT_OPT_CONTAINER)
		return 0;
	if (!v->text[0]) {
		snprintf(err, len, "empty --%s",
			 key == CT_OPT_CGROUP ? "cgroup" : "container");
		return CT_PARSE_ERROR;
	}
	if (key == CT_OPT_CONTAINER) {
		*container = v->text;
		return 1;
	}
	/* Paths are relative to the cgroup2 mount, as ss prints them. */
	if (v->text[0] != '/') {
		snprintf(err, len, "bad --cgroup '%s': a path begins with /",
			 v->text);
		return CT_PARSE_ERROR;
	}
	*cgroup = v->text;
	return 1;
}

/* The filter options' state while a command line is parsed. */
struct filtered {
	struct ct_kfilter *f;
	struct ct_family_file ff;
	ct_opt_apply apply;	/* the mode's other options */
	void *ctx;
};

/* Applies one filter option, or hands any other to the mode's apply. */
static int filter_opt(void *ctx, const struct ct_opt *o,
		      const struct ct_optval *v, char *err, size_t len)
{
	struct filtered *fo = ctx;
	struct ct_kfilter *f = fo->f;
	int rc;

	if (ct_family_file_opt(&fo->ff, o->key, v))
		return CT_PARSE_OK;
	rc = ct_owner_cgroup_opt(o->key, v, &f->cgroup, &f->container, err, len);
	if (rc)
		return rc < 0 ? rc : CT_PARSE_OK;

	switch (o->key) {
	case CT_OPT_PID:
		f->pid = v->u;
		break;
	case 'c':
		if (!v->text[0]) {
			snprintf(err, len, "empty command name");
			return CT_PARSE_ERROR;
		}
		/* The kernel keeps 15 characters of a command name. */
		snprintf(f->comm, sizeof(f->comm), "%s", v->text);
		break;
	case CT_OPT_PORT:
		f->port = (uint16_t)v->u;
		break;
	case CT_OPT_NETNS:
		rc = ct_netns_resolve(v->text, &f->netns);
		if (rc) {
			snprintf(err, len, "network namespace '%s': %s", v->text,
				 ct_netns_strerror(rc));
			return CT_PARSE_ERROR;
		}
		break;
	default:
		return fo->apply(fo->ctx, o, v, err, len);
	}
	return CT_PARSE_OK;
}

int ct_parse_expr(int argc, char **argv, const char *file,
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

enum ct_parse_result ct_opts_parse_filtered(const struct ct_cmd *cmd,
					    int argc, char **argv,
					    struct ct_kfilter *f,
					    ct_opt_apply apply, void *ctx,
					    char *err, size_t len)
{
	struct filtered fo = { .f = f, .apply = apply, .ctx = ctx };
	int rest, port, rc;

	rc = ct_opts_parse(cmd, argc, argv, filter_opt, &fo, &rest, err, len);
	if (rc != CT_PARSE_OK)
		return rc;
	argc -= rest;
	argv += rest;
	f->family = ct_family_of(&fo.ff);
	if (fo.ff.file && cmd->needs_root && ct_check_privileges(err, len))
		return CT_PARSE_CANNOT_RUN;
	if (ct_parse_expr(argc, argv, fo.ff.file, &f->expr, err, len))
		return CT_PARSE_ERROR;
	/* The kernel's port test takes either end: a safe superset here. */
	port = ctf_port(f->expr, CTF_EITHER);
	if (port < 0)
		port = ctf_port(f->expr, CTF_SRC);
	if (port < 0)
		port = ctf_port(f->expr, CTF_DST);
	if (!f->port && port > 0)
		f->port = (uint16_t)port;
	return CT_PARSE_OK;
}
