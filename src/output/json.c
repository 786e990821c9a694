// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "output/json.h"

#include <inttypes.h>

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

void json_begin(struct json_obj *o, FILE *f)
{
	o->f = f;
	o->nfields = 0;
	fputc('{', f);
}

void json_end(struct json_obj *o)
{
	fputc('}', o->f);
}

void json_key(struct json_obj *o, const char *k)
{
	if (o->nfields++)
		fputc(',', o->f);
	json_write_str(o->f, k);
	fputc(':', o->f);
}

void json_str(struct json_obj *o, const char *k, const char *val)
{
	json_key(o, k);
	json_write_str(o->f, val);
}

void json_u64(struct json_obj *o, const char *k, uint64_t val)
{
	json_key(o, k);
	fprintf(o->f, "%" PRIu64, val);
}

void json_double(struct json_obj *o, const char *k, double val, int prec)
{
	json_key(o, k);
	fprintf(o->f, "%.*f", prec, val);
}

void json_bool(struct json_obj *o, const char *k, bool val)
{
	json_key(o, k);
	fputs(val ? "true" : "false", o->f);
}

void json_null(struct json_obj *o, const char *k)
{
	json_key(o, k);
	fputs("null", o->f);
}
