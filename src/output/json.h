/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_JSON_H
#define CT_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* A flat JSON object written field by field: {"k":v,...}. */
struct json_obj {
	FILE *f;
	int nfields;
};

/* Writes s as a JSON string literal, escaping what RFC 8259 requires. */
void json_write_str(FILE *f, const char *s);

void json_begin(struct json_obj *o, FILE *f);
void json_end(struct json_obj *o);
/* Writes "key": for a value the caller writes, such as a nested object. */
void json_key(struct json_obj *o, const char *key);
void json_str(struct json_obj *o, const char *key, const char *val);
void json_u64(struct json_obj *o, const char *key, uint64_t val);
void json_double(struct json_obj *o, const char *key, double val, int prec);
void json_bool(struct json_obj *o, const char *key, bool val);
void json_null(struct json_obj *o, const char *key);

#endif
