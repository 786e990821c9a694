// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "output/table.h"

#include "output/format.h"

#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

void ct_cols_init(struct ct_cols *c, const struct ct_col *col, int n)
{
	c->col = col;
	c->n = n < CT_COLS_MAX ? n : CT_COLS_MAX;
	for (int i = 0; i < c->n; i++) {
		int name = (int)strlen(col[i].name);

		c->width[i] = col[i].min > name ? col[i].min : name;
	}
}

int ct_cols_line_width(const struct ct_cols *c)
{
	int w = c->n > 0 ? c->n - 1 : 0;

	for (int i = 0; i < c->n; i++)
		w += c->width[i];
	return w;
}

void ct_cols_spread(struct ct_cols *c, int line_width)
{
	int spare = line_width - ct_cols_line_width(c);
	bool grew = true;

	/* One character at a time round the columns, so they share evenly. */
	while (spare > 0 && grew) {
		grew = false;
		for (int i = 0; i < c->n && spare > 0; i++)
			if (c->width[i] < c->col[i].max) {
				c->width[i]++;
				spare--;
				grew = true;
			}
	}
}

static int cell_len(const struct ct_row *r, int i)
{
	return r->end[i] - (i ? r->end[i - 1] : 0);
}

bool ct_cols_fit(struct ct_cols *c, const struct ct_row *r)
{
	bool grew = false;

	for (int i = 0; i < c->n && i < r->n; i++)
		if (cell_len(r, i) > c->width[i]) {
			c->width[i] = cell_len(r, i);
			grew = true;
		}
	return grew;
}

/* Blanks and text in place; the caller has checked that they fit. */
static char *blanks(char *p, int n)
{
	memset(p, ' ', (size_t)n);
	return p + n;
}

static char *text(char *p, const char *s, int n)
{
	memcpy(p, s, (size_t)n);
	return p + n;
}

/*
 * Appends cells laid out; cell i is s + start[i], len[i] characters.
 * The last column, if left-aligned, is not padded: no trailing blanks.
 * Written in place, not through the row builder's calls: ls lays out a
 * row per socket, and a call per piece cost more than the copying.
 */
static void lay_out(const struct ct_cols *c, const char *s, const int *start,
		    const int *len, struct ct_strbuf *out)
{
	char line[CT_STRBUF_MAX + CT_COLS_MAX * 2], *p = line;
	size_t room = sizeof(line) - CT_COLS_MAX;

	for (int i = 0; i < c->n && (size_t)(p - line) < room; i++) {
		int fill = c->width[i] > len[i] ? c->width[i] - len[i] : 0;
		int n = len[i];

		/* Past the end of the line: cut off, as the builder does. */
		if ((size_t)(p - line) + (size_t)(fill + n) >= room) {
			fill = 0;
			n = (int)(room - (size_t)(p - line));
		}
		if (i)
			*p++ = ' ';
		if (c->col[i].align == CT_RIGHT)
			p = blanks(p, fill);
		p = text(p, s + start[i], n);
		if (c->col[i].align == CT_LEFT && i < c->n - 1)
			p = blanks(p, fill);
	}
	ct_sb_mem(out, line, (size_t)(p - line));
}

void ct_cols_header(const struct ct_cols *c, struct ct_strbuf *out)
{
	char names[CT_STRBUF_MAX];
	int start[CT_COLS_MAX], len[CT_COLS_MAX];
	size_t at = 0;

	for (int i = 0; i < c->n; i++) {
		size_t n = strlen(c->col[i].name);

		if (at + n > sizeof(names))
			n = sizeof(names) - at;
		memcpy(names + at, c->col[i].name, n);
		start[i] = (int)at;
		len[i] = (int)n;
		at += n;
	}
	lay_out(c, names, start, len, out);
}

void ct_cols_row(const struct ct_cols *c, const struct ct_row *r,
		 struct ct_strbuf *out)
{
	int start[CT_COLS_MAX], len[CT_COLS_MAX];

	/* A cell the row lacks is blank, so later ones stay in place. */
	for (int i = 0; i < c->n; i++) {
		start[i] = i && i <= r->n ? r->end[i - 1] : 0;
		len[i] = i < r->n ? cell_len(r, i) : 0;
	}
	lay_out(c, r->b.buf, start, len, out);
}

void ct_row_str(struct ct_row *r, const char *s)
{
	ct_sb_str(&r->b, s);
	ct_row_end_cell(r);
}

void ct_row_u64(struct ct_row *r, uint64_t v)
{
	ct_sb_u64(&r->b, v, 0);
	ct_row_end_cell(r);
}

void ct_row_bytes(struct ct_row *r, uint64_t v, bool human)
{
	char buf[32];

	if (!human) {
		ct_row_u64(r, v);
		return;
	}
	ct_row_str(r, ct_human_bytes((double)v, 0, buf, sizeof(buf)));
}

int ct_term_width(int fd)
{
	struct winsize ws;

	if (!isatty(fd) || ioctl(fd, TIOCGWINSZ, &ws) || !ws.ws_col)
		return 0;
	return ws.ws_col;
}

void ct_cols_line(const struct ct_cols *c, const struct ct_row *r,
		  struct ct_strbuf *out)
{
	if (r)
		ct_cols_row(c, r, out);
	else
		ct_cols_header(c, out);
}

void ct_cols_write(FILE *f, const struct ct_cols *c, const struct ct_row *r)
{
	struct ct_strbuf b;

	ct_sb_reset(&b);
	ct_cols_line(c, r, &b);
	ct_sb_char(&b, '\n');
	fwrite(b.buf, 1, b.len, f);
}
