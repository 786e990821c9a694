// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "output/json.h"

#include <math.h>
#include <string.h>

#include "output/format.h"

/* --- where the text goes: the line buffer, or the stream ------------------ */

static void flush_line(struct json_writer *w)
{
	if (w->len)
		fwrite(w->line, 1, w->len, w->f);
	w->len = 0;
}

static void out_mem(struct json_writer *w, const char *p, size_t n)
{
	if (!w->lines) {
		fwrite(p, 1, n, w->f);
		return;
	}
	if (w->len + n > sizeof(w->line)) {
		flush_line(w);
		if (n > sizeof(w->line)) {
			fwrite(p, 1, n, w->f);
			return;
		}
	}
	memcpy(w->line + w->len, p, n);
	w->len += n;
}

static void out_char(struct json_writer *w, char c)
{
	if (w->lines && w->len < sizeof(w->line))
		w->line[w->len++] = c;
	else
		out_mem(w, &c, 1);
}

static void out_str(struct json_writer *w, const char *s)
{
	out_mem(w, s, strlen(s));
}

/* --- strings and numbers -------------------------------------------------- */

/* The bytes a JSON string takes as they are: all but controls, '"', '\\', DEL. */
static const bool plain_tab[256] = {
	[0x20 ... 0x21] = true, [0x23 ... 0x5b] = true,	/* not '"' */
	[0x5d ... 0x7e] = true, [0x80 ... 0xff] = true,	/* not '\\', DEL */
};

static bool plain(unsigned char c)
{
	return plain_tab[c];
}

/*
 * RFC 8259's two-character escapes; other controls and DEL get the
 * six-character one.
 */
static const char *const short_escape[128] = {
	['"'] = "\\\"", ['\\'] = "\\\\", ['\n'] = "\\n", ['\r'] = "\\r",
	['\t'] = "\\t",
};

static void escape(struct json_writer *w, unsigned char c)
{
	char u[8];

	if (c < 128 && short_escape[c]) {
		out_str(w, short_escape[c]);
		return;
	}
	snprintf(u, sizeof(u), "\\u%04x", c);
	out_str(w, u);
}

/*
 * Into the line buffer, a string that needs no escape and fits, in one
 * pass: scanning it, then copying it, was a quarter of a line's cost.
 */
static bool put_plain(struct json_writer *w, const char *s)
{
	char *d = w->line + w->len;
	char *end = w->line + sizeof(w->line) - 1;

	if (!w->lines || d >= end)
		return false;
	*d++ = '"';
	for (; *s; s++) {
		if (!plain((unsigned char)*s) || d == end)
			return false;
		*d++ = *s;
	}
	*d++ = '"';
	w->len = (size_t)(d - w->line);
	return true;
}

static void put_str(struct json_writer *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;

	if (put_plain(w, s))
		return;
	/* Runs that need no escape go out whole: most strings are one. */
	out_char(w, '"');
	for (; *p; p++) {
		if (plain(*p))
			continue;
		out_mem(w, (const char *)run, (size_t)(p - run));
		escape(w, *p);
		run = p + 1;
	}
	out_mem(w, (const char *)run, (size_t)(p - run));
	out_char(w, '"');
}

void json_write_str(FILE *f, const char *s)
{
	struct json_writer w;

	json_init(&w, f);
	put_str(&w, s);
}

/* Decimal by hand: fprintf's parsing cost more than the line's numbers. */
static void put_u64(struct json_writer *w, uint64_t v)
{
	char b[20];
	size_t i = sizeof(b);

	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out_mem(w, b + i, sizeof(b) - i);
}

/* --- the structure -------------------------------------------------------- */

void json_init(struct json_writer *w, FILE *f)
{
	w->f = f;
	w->depth = 0;
	w->members[0] = 0;
	w->lines = false;
	w->len = 0;
}

void json_init_lines(struct json_writer *w, FILE *f)
{
	json_init(w, f);
	w->lines = true;
}

/* What goes before any value: its separator, then its name if it has one. */
static void member(struct json_writer *w, const char *key)
{
	if (w->depth > 0 && w->depth <= JSON_MAX_DEPTH &&
	    w->members[w->depth]++)
		out_char(w, ',');
	if (key && w->depth > 0) {
		put_str(w, key);
		out_char(w, ':');
	}
}

/* After a value: one that is not inside anything ends its line. */
static void value_done(struct json_writer *w)
{
	if (w->depth)
		return;
	out_char(w, '\n');
	flush_line(w);
}

static void container_begin(struct json_writer *w, const char *key, char c)
{
	member(w, key);
	out_char(w, c);
	if (++w->depth <= JSON_MAX_DEPTH)
		w->members[w->depth] = 0;
}

static void container_end(struct json_writer *w, char c)
{
	out_char(w, c);
	if (w->depth > 0)
		w->depth--;
	value_done(w);
}

void json_obj_begin(struct json_writer *w, const char *key)
{
	container_begin(w, key, '{');
}

void json_obj_end(struct json_writer *w)
{
	container_end(w, '}');
}

void json_arr_begin(struct json_writer *w, const char *key)
{
	container_begin(w, key, '[');
}

void json_arr_end(struct json_writer *w)
{
	container_end(w, ']');
}

void json_str(struct json_writer *w, const char *key, const char *val)
{
	member(w, key);
	put_str(w, val);
	value_done(w);
}

void json_u64(struct json_writer *w, const char *key, uint64_t val)
{
	member(w, key);
	put_u64(w, val);
	value_done(w);
}

void json_i64(struct json_writer *w, const char *key, int64_t val)
{
	member(w, key);
	if (val < 0)
		out_char(w, '-');
	put_u64(w, val < 0 ? -(uint64_t)val : (uint64_t)val);
	value_done(w);
}

void json_double(struct json_writer *w, const char *key, double val, int prec)
{
	char b[512];	/* DBL_MAX has 309 digits */
	int n;

	member(w, key);
	/* JSON has no NaN or infinity; a rate over no time must not break it. */
	n = isfinite(val) ? ct_fixed_str(val, prec, b, sizeof(b)) : -1;
	if (n > 0 && (size_t)n < sizeof(b))
		out_mem(w, b, (size_t)n);
	else
		out_str(w, "null");
	value_done(w);
}

void json_hex(struct json_writer *w, const char *key, uint64_t val)
{
	char b[2 + 16 + 1];
	size_t i = sizeof(b) - 1;

	b[i] = '\0';
	do {
		b[--i] = "0123456789abcdef"[val & 0xf];
		val >>= 4;
	} while (val);
	b[--i] = 'x';
	b[--i] = '0';
	json_str(w, key, b + i);
}

void json_bool(struct json_writer *w, const char *key, bool val)
{
	member(w, key);
	out_str(w, val ? "true" : "false");
	value_done(w);
}

void json_null(struct json_writer *w, const char *key)
{
	member(w, key);
	out_str(w, "null");
	value_done(w);
}
