// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * libFuzzer target for the parsers of /proc/net/snmp, snmp6, netstat and
 * dev, and for the deltas of two reads. Besides not crashing, it checks
 * what stats relies on: a parser returns one of its documented errors,
 * with the line of a format error; and a delta pairs each record with the
 * previous read's record at the same place if it has the same name, else
 * with the first of that name, as a plain scan would.
 * The previous read is the input's lines reversed, so names move.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/stats_data.h"
#include "engine/stats_proc.h"

static void must(int cond, const char *what)
{
	if (cond)
		return;
	fprintf(stderr, "fuzz_stats: %s\n", what);
	abort();
}

static void check_rc(int rc, int line)
{
	must(rc == 0 || rc == -ENOMEM || rc == -EIO || rc == -EBADMSG,
	     "undocumented error");
	must(rc != -EBADMSG || line >= 1, "format error without its line");
}

typedef int (*parse_fn)(FILE *f, void *out, int *line);

/* The parser's result for data, or -1 if fmemopen() fails. */
static int parse(const char *data, size_t size, parse_fn fn, void *out)
{
	FILE *f;
	int rc, line = -1;

	if (!size)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return -1;
	rc = fn(f, out, &line);
	fclose(f);
	check_rc(rc, line);
	return rc;
}

static int snmp(FILE *f, void *out, int *line)
{
	return ct_parse_snmp(f, out, line);
}

static int snmp6(FILE *f, void *out, int *line)
{
	return ct_parse_snmp6(f, out, line);
}

static int netdev(FILE *f, void *out, int *line)
{
	return ct_parse_netdev(f, out, line);
}

/* The record at hint if it has the name, else the first that has it. */
static const void *scan(const void *v, size_t n, size_t size, const char *name,
			size_t hint)
{
	if (hint < n && !strcmp((const char *)v + hint * size, name))
		return (const char *)v + hint * size;
	for (size_t i = 0; i < n; i++)
		if (!strcmp((const char *)v + i * size, name))
			return (const char *)v + i * size;
	return NULL;
}

static void check_counters(const struct ct_counters *prev,
			   const struct ct_counters *cur)
{
	struct ct_counters d = { 0 };
	const struct ct_counter *p;

	if (ct_counters_delta(prev, cur, &d))
		goto out;
	must(d.n == cur->n, "delta lost counters");
	for (size_t i = 0; i < d.n; i++) {
		p = scan(prev->v, prev->n, sizeof(*p), cur->v[i].name, i);
		must(!strcmp(d.v[i].name, cur->v[i].name), "delta renamed");
		must(d.v[i].val == ct_counter_delta(p ? p->val : 0,
						    cur->v[i].val),
		     "counter paired with the wrong name");
	}
out:
	ct_counters_free(&d);
}

static void check_ifaces(const struct ct_ifaces *prev,
			 const struct ct_ifaces *cur)
{
	struct ct_ifaces d = { 0 };
	const struct ct_iface *p;

	if (ct_ifaces_delta(prev, cur, &d))
		goto out;
	must(d.n == cur->n, "delta lost interfaces");
	for (size_t i = 0; i < d.n; i++) {
		p = scan(prev->v, prev->n, sizeof(*p), cur->v[i].name, i);
		must(!strcmp(d.v[i].name, cur->v[i].name), "delta renamed");
		for (int f = 0; f < CT_IF_NFIELDS; f++)
			must(d.v[i].f[f] == ct_counter_delta(p ? p->f[f] : 0,
							     cur->v[i].f[f]),
			     "interface paired with the wrong name");
	}
out:
	ct_ifaces_free(&d);
}

/*
 * The input with its lines in reverse order, in groups of `group` lines
 * (snmp's names and values go in pairs), the first group left out: the
 * previous read with names moved and one gone. Caller frees.
 */
static char *reverse_lines(const char *data, size_t size, int group,
			   size_t *len)
{
	char *out = malloc(size + 1);
	size_t end = size, start, n = 0;
	int lines;

	if (!out)
		return NULL;
	while (end) {
		start = end;
		lines = 0;
		/* Back over `group` lines; a line ends at its '\n', if any. */
		while (start && lines < group) {
			start--;
			while (start && data[start - 1] != '\n')
				start--;
			lines++;
		}
		if (start) {
			memcpy(out + n, data + start, end - start);
			n += end - start;
			if (out[n - 1] != '\n')
				out[n++] = '\n';
		}
		end = start;
	}
	*len = n;
	return out;
}

static void try_counters(const char *text, size_t size, parse_fn fn,
			 int group)
{
	struct ct_counters prev = { 0 }, cur = { 0 };
	size_t plen;
	char *p = reverse_lines(text, size, group, &plen);

	if (p && !parse(p, plen, fn, &prev) && !parse(text, size, fn, &cur))
		check_counters(&prev, &cur);
	free(p);
	ct_counters_free(&prev);
	ct_counters_free(&cur);
}

static void try_ifaces(const char *text, size_t size)
{
	struct ct_ifaces prev = { 0 }, cur = { 0 };
	size_t plen;
	char *p = reverse_lines(text, size, 1, &plen);

	if (p && !parse(p, plen, netdev, &prev) &&
	    !parse(text, size, netdev, &cur))
		check_ifaces(&prev, &cur);
	free(p);
	ct_ifaces_free(&prev);
	ct_ifaces_free(&cur);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;

	try_counters(text, size, snmp, 2);
	try_counters(text, size, snmp6, 1);
	try_ifaces(text, size);
	return 0;
}
