/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Tables of text whose columns are declared once and widen to fit what
 * they hold, so a long IPv6 address moves the columns after it instead of
 * breaking them.
 *
 * A row is built cell by cell with the row builder (strbuf.h), then laid
 * out: each cell padded to its column's width, one space between columns.
 * A one-shot listing fits every row before it writes any; a stream fits
 * each row as it comes, and a column then only ever grows.
 */
#ifndef CT_TABLE_H
#define CT_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "output/strbuf.h"

#define CT_COLS_MAX 16

enum ct_align { CT_LEFT, CT_RIGHT };

struct ct_col {
	const char *name;	/* the header */
	enum ct_align align;
	int min;		/* the width even short values get */
	int max;		/* longest value there can be (0: unknown) */
};

struct ct_cols {
	const struct ct_col *col;
	int n;
	int width[CT_COLS_MAX];
};

/* A row's cells, back to back in b; cell i ends at end[i]. */
struct ct_row {
	struct ct_strbuf b;
	uint16_t end[CT_COLS_MAX];
	int n;
};

/* Columns at their minimum widths (or their names', if longer). */
void ct_cols_init(struct ct_cols *c, const struct ct_col *col, int n);
/*
 * Gives the columns that have a max the spare room of a line of
 * line_width characters, up front, shared evenly, none past its max.
 */
void ct_cols_spread(struct ct_cols *c, int line_width);
/* Widens the columns to fit r's cells; returns whether any grew. */
bool ct_cols_fit(struct ct_cols *c, const struct ct_row *r);
/* Characters in a laid-out line, separators included. */
int ct_cols_line_width(const struct ct_cols *c);

/* Appends the header, or a row, laid out; neither adds a newline. */
void ct_cols_header(const struct ct_cols *c, struct ct_strbuf *out);
void ct_cols_row(const struct ct_cols *c, const struct ct_row *r,
		 struct ct_strbuf *out);

static inline void ct_row_reset(struct ct_row *r)
{
	ct_sb_reset(&r->b);
	r->n = 0;
}

/* Ends the cell the caller has appended to r->b; extra cells are dropped. */
static inline void ct_row_end_cell(struct ct_row *r)
{
	if (r->n < CT_COLS_MAX)
		r->end[r->n++] = (uint16_t)r->b.len;
}

/* One cell of text, or of a number. */
void ct_row_str(struct ct_row *r, const char *s);
void ct_row_u64(struct ct_row *r, uint64_t v);
/* A byte count: digits, or in binary units when human (-H). */
void ct_row_bytes(struct ct_row *r, uint64_t v, bool human);

/* Columns of the terminal on fd; 0 when fd is not a terminal. */
int ct_term_width(int fd);

/* Appends a laid-out row, or the header for a NULL row, to out. */
void ct_cols_line(const struct ct_cols *c, const struct ct_row *r,
		  struct ct_strbuf *out);
/* Writes ct_cols_line() and a newline. */
void ct_cols_write(FILE *f, const struct ct_cols *c, const struct ct_row *r);

#endif
