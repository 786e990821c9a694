// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "output/table.h"

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

/* The last column, if left-aligned, is not padded: no trailing blanks. */
static void cell(const struct ct_cols *c, int i, const char *s, int len,
		 struct ct_strbuf *out)
{
	int fill = c->width[i] - len;

	if (i)
		ct_sb_char(out, ' ');
	if (fill < 0)
		fill = 0;
	if (c->col[i].align == CT_RIGHT)
		ct_sb_pad(out, (size_t)fill);
	ct_sb_mem(out, s, (size_t)len);
	if (c->col[i].align == CT_LEFT && i < c->n - 1)
		ct_sb_pad(out, (size_t)fill);
}

void ct_cols_header(const struct ct_cols *c, struct ct_strbuf *out)
{
	for (int i = 0; i < c->n; i++)
		cell(c, i, c->col[i].name, (int)strlen(c->col[i].name), out);
}

void ct_cols_row(const struct ct_cols *c, const struct ct_row *r,
		 struct ct_strbuf *out)
{
	for (int i = 0; i < c->n; i++) {
		int start = i && i <= r->n ? r->end[i - 1] : 0;

		/* A cell the row lacks is blank, so later ones stay in place. */
		cell(c, i, r->b.buf + start, i < r->n ? cell_len(r, i) : 0, out);
	}
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

int ct_term_width(int fd)
{
	struct winsize ws;

	if (!isatty(fd) || ioctl(fd, TIOCGWINSZ, &ws) || !ws.ws_col)
		return 0;
	return ws.ws_col;
}
