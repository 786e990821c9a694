// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/ls_by.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"
#include "modes/cgroup_out.h"
#include "modes/ls_out.h"
#include "output/format.h"
#include "output/json.h"
#include "output/table.h"

static void key_of(enum ct_ls_by by, const struct ct_sockrec *r,
		   const struct ct_holder *h, char *key)
{
	switch (by) {
	case CT_BY_RADDR:
		ct_addr_str(r->family, r->daddr, key, CT_BY_KEY_LEN);
		break;
	case CT_BY_RPORT:
		snprintf(key, CT_BY_KEY_LEN, "%u", r->dport);
		break;
	case CT_BY_LPORT:
		snprintf(key, CT_BY_KEY_LEN, "%u", r->sport);
		break;
	case CT_BY_COMM:
		/* Never a process we are not sure of. */
		snprintf(key, CT_BY_KEY_LEN, "%.*s", (int)sizeof(h->comm) - 1,
			 h ? h->comm : "-");
		break;
	case CT_BY_CONTAINER:
		/* The owner's cgroup, as states --by-container counts it. */
		snprintf(key, CT_BY_KEY_LEN, "%s",
			 ct_container_cell(ct_ls_cgroup(r->cgroup, h)));
		break;
	case CT_BY_PROCESS:
		if (h)
			snprintf(key, CT_BY_KEY_LEN, "%u/%.*s", h->pid,
				 (int)sizeof(h->comm) - 1, h->comm);
		else
			snprintf(key, CT_BY_KEY_LEN, "-");
		break;
	default:
		snprintf(key, CT_BY_KEY_LEN, "%s", ct_ls_state_name(r));
		break;
	}
}

int ct_by_add(struct ct_by_count *c, enum ct_ls_by by,
	      const struct ct_sockrec *r, const struct ct_holder *holder)
{
	struct ct_by_entry *e;

	if (ct_grow((void **)&c->keys, &c->cap, c->n, sizeof(*c->keys)))
		return -ENOMEM;
	e = &c->keys[c->n++];
	key_of(by, r, holder, e->key);
	e->retrans = r->has_info ? r->info.total_retrans : 0;
	e->drops = r->has_mem ? r->mem.drops : 0;
	return 0;
}

void ct_by_free(struct ct_by_count *c)
{
	free(c->keys);
	memset(c, 0, sizeof(*c));
}

struct group {
	const char *key;
	size_t count;
	uint64_t retrans, drops;
};

static int key_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->key, y->key);
}

/* sort | uniq -c | sort -rn: groups into g (room for c->n), their number. */
static size_t group(struct ct_by_count *c, struct group *g)
{
	size_t n = 0;

	if (!c->n)
		return 0;	/* keys is NULL: qsort may not be given it */
	qsort(c->keys, c->n, sizeof(*c->keys), key_cmp);
	for (size_t i = 0; i < c->n; i++) {
		const struct ct_by_entry *e = &c->keys[i];

		if (!n || strcmp(g[n - 1].key, e->key))
			g[n++] = (struct group){ e->key, 0, 0, 0 };
		g[n - 1].count++;
		g[n - 1].retrans += e->retrans;
		g[n - 1].drops += e->drops;
	}
	qsort(g, n, sizeof(*g), group_cmp);
	return n;
}

static void print_json(FILE *f, const struct group *g, size_t n,
		       enum ct_ls_by by, bool trouble)
{
	const char *name = ct_ls_by_name(by);
	struct json_writer j;

	json_init(&j, f);
	json_obj_begin(&j, NULL);
	json_str(&j, "by", name);
	json_arr_begin(&j, "counts");
	for (size_t i = 0; i < n; i++) {
		json_obj_begin(&j, NULL);
		if (by == CT_BY_RPORT || by == CT_BY_LPORT)
			json_u64(&j, name, strtoull(g[i].key, NULL, 10));
		else
			json_str(&j, name, g[i].key);
		json_u64(&j, "count", g[i].count);
		if (trouble) {
			json_u64(&j, "retrans", g[i].retrans);
			json_u64(&j, "drops", g[i].drops);
		}
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
}

static void group_row(const struct group *g, bool trouble, struct ct_row *row)
{
	ct_row_reset(row);
	ct_row_u64(row, g->count);
	ct_row_str(row, g->key);
	if (trouble) {
		ct_row_u64(row, g->retrans);
		ct_row_u64(row, g->drops);
	}
}

static void table_line(FILE *f, const struct ct_cols *c, const struct group *g,
		       bool trouble)
{
	struct ct_strbuf b;
	struct ct_row row;

	ct_sb_reset(&b);
	if (g) {
		group_row(g, trouble, &row);
		ct_cols_row(c, &row, &b);
	} else {
		ct_cols_header(c, &b);
	}
	ct_sb_char(&b, '\n');
	fwrite(b.buf, 1, b.len, f);
}

void ct_by_print(FILE *f, struct ct_by_count *c, enum ct_ls_by by, bool json)
{
	struct group *g = calloc(c->n + 1, sizeof(*g));
	char head[16];
	struct ct_cols cols;
	size_t n;

	if (!g) {
		fprintf(stderr, "conntrace: out of memory\n");
		return;
	}
	n = group(c, g);
	if (json) {
		print_json(f, g, n, by, c->trouble);
	} else {
		const char *name = ct_ls_by_name(by);
		size_t k;

		for (k = 0; name[k] && k < sizeof(head) - 1; k++)
			head[k] = (char)(name[k] >= 'a' && name[k] <= 'z' ?
					 name[k] - 'a' + 'A' : name[k]);
		head[k] = '\0';
		ct_cols_init(&cols, (const struct ct_col[]){
			{ "COUNT", CT_RIGHT, 8, 0 }, { head, CT_LEFT, 0, 0 },
			{ "RETRANS", CT_RIGHT, 7, 0 }, { "DROPS", CT_RIGHT, 5, 0 } },
			c->trouble ? 4 : 2);
		for (size_t i = 0; i < n; i++) {
			struct ct_row row;

			group_row(&g[i], c->trouble, &row);
			ct_cols_fit(&cols, &row);
		}
		table_line(f, &cols, NULL, c->trouble);
		for (size_t i = 0; i < n; i++)
			table_line(f, &cols, &g[i], c->trouble);
	}
	free(g);
}
