// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* The interactive view of `conntrace top`, drawn with ncurses. */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "output/format.h"
#include "modes/top.h"

static void draw(const struct ct_top *t)
{
	const struct ct_top_state *st = &t->opts.st;
	struct ct_table tab;
	int row = 0;

	erase();
	mvprintw(row++, 0, "conntrace top - %s, %s, sorted by %s, evicted %llu",
		 ct_view_name(st->view), st->totals ? "totals" : "rates",
		 ct_sort_name(st->sort),
		 (unsigned long long)t->sampler.evicted);
	mvprintw(row++, 0, "keys: s/r/t/R/X/D sort  m rates/totals  p/c/h/C/l/Tab view  q quit");
	row++;
	if (ct_top_table(&t->sampler.acct, st, ct_monotonic_ns(), &tab)) {
		mvprintw(row, 0, "out of memory");
		refresh();
		return;
	}
	attron(A_REVERSE);
	mvprintw(row++, 0, "%-*s", COLS > 0 ? COLS - 1 : 0, tab.header);
	attroff(A_REVERSE);
	for (size_t i = 0; i < tab.nrows && row < LINES; i++)
		mvprintw(row++, 0, "%.*s", COLS > 0 ? COLS - 1 : 0, tab.rows[i]);
	ct_table_free(&tab);
	refresh();
}

int ct_top_ui(struct ct_top *t, volatile sig_atomic_t *stop)
{
	uint64_t next = ct_monotonic_ns();
	int rc = 0;

	if (!initscr())
		return ct_top_sample(t) ? 1 : 0;
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	timeout(100);
	while (!*stop) {
		int key = getch();

		if (key == 'q' || key == 'Q')
			break;
		if (key != ERR && ct_top_key(&t->opts.st, key))
			draw(t);
		if (ct_monotonic_ns() < next)
			continue;
		next += (uint64_t)(t->opts.interval_s * 1e9);
		if ((rc = ct_top_sample(t)))
			break;
		draw(t);
	}
	endwin();
	return rc ? 1 : 0;
}
