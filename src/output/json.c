// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "output/json.h"

#include <inttypes.h>
#include <math.h>

void json_write_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

void json_init(struct json_writer *w, FILE *f)
{
	w->f = f;
	w->depth = 0;
	w->members[0] = 0;
}

/* What goes before any value: its separator, then its name if it has one. */
static void member(struct json_writer *w, const char *key)
{
	if (w->depth > 0 && w->depth <= JSON_MAX_DEPTH &&
	    w->members[w->depth]++)
		fputc(',', w->f);
	if (key && w->depth > 0) {
		json_write_str(w->f, key);
		fputc(':', w->f);
	}
}

/* After a value: one that is not inside anything ends its line. */
static void value_done(struct json_writer *w)
{
	if (w->depth == 0)
		fputc('\n', w->f);
}

static void container_begin(struct json_writer *w, const char *key, char c)
{
	member(w, key);
	fputc(c, w->f);
	if (++w->depth <= JSON_MAX_DEPTH)
		w->members[w->depth] = 0;
}

static void container_end(struct json_writer *w, char c)
{
	fputc(c, w->f);
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
	json_write_str(w->f, val);
	value_done(w);
}

void json_u64(struct json_writer *w, const char *key, uint64_t val)
{
	member(w, key);
	fprintf(w->f, "%" PRIu64, val);
	value_done(w);
}

void json_i64(struct json_writer *w, const char *key, int64_t val)
{
	member(w, key);
	fprintf(w->f, "%" PRId64, val);
	value_done(w);
}

void json_double(struct json_writer *w, const char *key, double val, int prec)
{
	member(w, key);
	/* JSON has no NaN or infinity; a rate over no time must not break it. */
	if (isfinite(val))
		fprintf(w->f, "%.*f", prec, val);
	else
		fputs("null", w->f);
	value_done(w);
}

void json_bool(struct json_writer *w, const char *key, bool val)
{
	member(w, key);
	fputs(val ? "true" : "false", w->f);
	value_done(w);
}

void json_null(struct json_writer *w, const char *key)
{
	member(w, key);
	fputs("null", w->f);
	value_done(w);
}
