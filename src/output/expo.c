// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "output/expo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void ct_text_mem(struct ct_text *t, const char *s, size_t n)
{
	if (t->oom)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		char *p;

		while (cap < t->len + n + 1)
			cap *= 2;
		p = realloc(t->p, cap);
		if (!p) {
			t->oom = true;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

void ct_text_str(struct ct_text *t, const char *s)
{
	ct_text_mem(t, s, strlen(s));
}

void ct_text_free(struct ct_text *t)
{
	free(t->p);
	memset(t, 0, sizeof(*t));
}

static void text_char(struct ct_text *t, char c)
{
	ct_text_mem(t, &c, 1);
}

/* HELP text: both formats escape '\' and newlines; OpenMetrics '"' too. */
static void help_text(struct ct_text *t, const char *s, bool om)
{
	for (; *s; s++) {
		if (*s == '\\')
			ct_text_str(t, "\\\\");
		else if (*s == '\n')
			ct_text_str(t, "\\n");
		else if (*s == '"' && om)
			ct_text_str(t, "\\\"");
		else
			text_char(t, *s);
	}
}

static void label_value(struct ct_text *t, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\')
			ct_text_str(t, "\\\\");
		else if (c == '"')
			ct_text_str(t, "\\\"");
		else if (c == '\n')
			ct_text_str(t, "\\n");
		else
			text_char(t, c < 0x20 || c >= 0x7f ? '?' : (char)c);
	}
}

/* {a="x",b="y"} with an optional le="..." last; nothing if no labels. */
static void labels(struct ct_text *t, const struct ct_mfamily *f,
		   const struct ct_mseries *s, const char *le)
{
	const char *v = s->values;

	if (!f->nlabels && !le)
		return;
	text_char(t, '{');
	for (size_t i = 0; i < f->nlabels; i++) {
		if (i)
			text_char(t, ',');
		ct_text_str(t, f->def.labels[i]);
		ct_text_str(t, "=\"");
		label_value(t, v);
		text_char(t, '"');
		v += strlen(v) + 1;
	}
	if (le) {
		ct_text_str(t, f->nlabels ? ",le=\"" : "le=\"");
		ct_text_str(t, le);
		text_char(t, '"');
	}
	text_char(t, '}');
}

/* The shortest text that reads back as x, as Prometheus itself writes. */
static void shortest(char *buf, size_t len, double x)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, x);
		if (strtod(buf, NULL) == x)
			return;
	}
}

/* A value in the family's units, written in its base unit. */
static void value(struct ct_text *t, const struct ct_mfamily *f, uint64_t v)
{
	double scale = f->def.scale;
	char buf[48];

	if (!scale || scale == 1) {
		snprintf(buf, sizeof(buf), " %llu\n", (unsigned long long)v);
	} else {
		/* Dividing by 1e9 rounds once; multiplying by 1e-9 twice. */
		double per = (double)(uint64_t)(1 / scale + 0.5);
		double x = per * scale == 1 ? (double)v / per : (double)v * scale;

		buf[0] = ' ';
		shortest(buf + 1, sizeof(buf) - 2, x);
		strcat(buf, "\n");
	}
	ct_text_str(t, buf);
}

static void sample(struct ct_text *t, const struct ct_mfamily *f,
		   const struct ct_mseries *s, const char *suffix,
		   const char *le, uint64_t v)
{
	ct_text_str(t, f->def.name);
	ct_text_str(t, suffix);
	labels(t, f, s, le);
	/* Bucket counts and _count are counts, whatever the family's unit. */
	if (le || !strcmp(suffix, "_count")) {
		char buf[32];

		snprintf(buf, sizeof(buf), " %llu\n", (unsigned long long)v);
		ct_text_str(t, buf);
	} else {
		value(t, f, v);
	}
}

static void histogram(struct ct_text *t, const struct ct_mfamily *f,
		      const struct ct_mseries *s)
{
	uint64_t cum = 0;
	char le[32];

	for (size_t b = 0; b < f->def.nbounds; b++) {
		cum += s->buckets[b];
		snprintf(le, sizeof(le), "%g", f->def.bounds[b]);
		sample(t, f, s, "_bucket", le, cum);
	}
	sample(t, f, s, "_bucket", "+Inf", s->count);
	sample(t, f, s, "_sum", NULL, s->v);
	sample(t, f, s, "_count", NULL, s->count);
}

static const char *type_name(enum ct_mtype type)
{
	return type == CT_M_COUNTER ? "counter" :
	       type == CT_M_GAUGE ? "gauge" : "histogram";
}

/*
 * The classic format names a counter with its "_total" in HELP and TYPE;
 * OpenMetrics names the family without it, and only samples carry it.
 */
static void header(struct ct_text *t, const struct ct_mfamily *f, bool om)
{
	const char *total = f->def.type == CT_M_COUNTER && !om ? "_total" : "";

	ct_text_str(t, "# HELP ");
	ct_text_str(t, f->def.name);
	ct_text_str(t, total);
	text_char(t, ' ');
	help_text(t, f->def.help, om);
	ct_text_str(t, "\n# TYPE ");
	ct_text_str(t, f->def.name);
	ct_text_str(t, total);
	text_char(t, ' ');
	ct_text_str(t, type_name(f->def.type));
	text_char(t, '\n');
}

static void family(struct ct_text *t, const struct ct_mfamily *f, bool om)
{
	header(t, f, om);
	for (size_t i = 0; i < f->nseries; i++) {
		const struct ct_mseries *s = &f->series[i];

		if (f->def.type == CT_M_HISTOGRAM)
			histogram(t, f, s);
		else
			sample(t, f, s, f->def.type == CT_M_COUNTER ? "_total" : "",
			       NULL, s->v);
	}
}

void ct_expo_write(const struct ct_metrics *m, bool openmetrics,
		   struct ct_text *t)
{
	for (size_t i = 0; i < m->nfams; i++)
		family(t, &m->fams[i], openmetrics);
	if (openmetrics)
		ct_text_str(t, "# EOF\n");
}

/* Whether a media range's parameters (from ';' on) hold q=0. */
static bool refused(const char *p)
{
	while (*p == ';') {
		p++;
		p += strspn(p, " \t");
		if (!strncasecmp(p, "q=", 2))
			return strtod(p + 2, NULL) <= 0;
		p += strcspn(p, ";,");
	}
	return false;
}

/* Media types are case-insensitive, and may come with parameters. */
bool ct_expo_wants_openmetrics(const char *accept)
{
	static const char om[] = "application/openmetrics-text";
	const char *p = accept;

	if (!p)
		return false;
	while (*p) {
		p += strspn(p, " \t,");
		if (!strncasecmp(p, om, sizeof(om) - 1)) {
			const char *q = p + sizeof(om) - 1;

			/* Not asked for with q=0 (RFC 9110: "not acceptable"). */
			q += strspn(q, " \t");
			if (*q == '\0' || *q == ',' || *q == ';')
				return !refused(q);
		}
		p += strcspn(p, ",");
	}
	return false;
}
