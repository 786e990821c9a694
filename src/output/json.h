/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * A JSON writer that keeps the punctuation itself: it knows how deep it is
 * and whether a container already has a member, so callers name fields and
 * values and never write a comma, brace or bracket.
 *
 * Every top-level value ends its line (JSON Lines), which is what each
 * mode's --json prints: one object per line.
 */
#ifndef CT_JSON_H
#define CT_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Deeper than any output of ours; past it, separators are no longer kept. */
#define JSON_MAX_DEPTH 8

struct json_writer {
	FILE *f;
	int depth;
	/* Members written so far in the open container at each depth. */
	uint32_t members[JSON_MAX_DEPTH + 1];
	/* json_init_lines(): each line is kept here and written whole. */
	bool lines;
	size_t len;
	char line[4096];
};

/* Writes s as a JSON string literal, escaping what RFC 8259 requires. */
void json_write_str(FILE *f, const char *s);

void json_init(struct json_writer *w, FILE *f);
/*
 * The same, for a writer that writes every value of f through it, a line
 * at a time: each top-level value reaches f in one piece once it ends
 * (millions of lines a second in a replay, where each field's stdio call
 * was half the cost). Nothing else may write to f while a value is open.
 */
void json_init_lines(struct json_writer *w, FILE *f);

/*
 * Each takes the member's name inside an object; NULL inside an array or
 * for a top-level value.
 */
void json_obj_begin(struct json_writer *w, const char *key);
void json_obj_end(struct json_writer *w);
void json_arr_begin(struct json_writer *w, const char *key);
void json_arr_end(struct json_writer *w);
void json_str(struct json_writer *w, const char *key, const char *val);
void json_u64(struct json_writer *w, const char *key, uint64_t val);
void json_i64(struct json_writer *w, const char *key, int64_t val);
/* prec digits after the point, always: "1.500" for 1.5 at 3. */
void json_double(struct json_writer *w, const char *key, double val, int prec);
/* A string "0x..." in lower-case hex: a kernel address, as an opaque key. */
void json_hex(struct json_writer *w, const char *key, uint64_t val);
void json_bool(struct json_writer *w, const char *key, bool val);
void json_null(struct json_writer *w, const char *key);

#endif
