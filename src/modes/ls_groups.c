// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/ls_groups.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "modes/cgroup_out.h"
#include "output/format.h"
#include "output/table.h"

int ct_ls_groups_init(struct ct_ls_groups *g)
{
	return u64map_init(&g->by_cgroup, sizeof(struct ct_ls_group));
}

void ct_ls_groups_free(struct ct_ls_groups *g)
{
	u64map_free(&g->by_cgroup);
}

int ct_ls_groups_count(struct ct_ls_groups *g, const struct ct_sockrec *r,
		       uint64_t cgroup)
{
	struct ct_ls_group *p;

	if (r->proto != IPPROTO_TCP)
		return 0;
	p = u64map_put(&g->by_cgroup, cgroup + 1, NULL);
	if (!p)
		return -ENOMEM;
	p->cgroup = cgroup;
	p->total++;
	p->states[r->state & 15]++;
	return 0;
}

static int by_total(const void *x, const void *y)
{
	const struct ct_ls_group *a = x, *b = y;

	if (a->total != b->total)
		return a->total < b->total ? 1 : -1;
	return a->cgroup < b->cgroup ? -1 : a->cgroup > b->cgroup;
}

/* The groups, most sockets first; NULL (and *n 0) if none or no memory. */
static struct ct_ls_group *sorted(const struct ct_ls_groups *g, size_t *n)
{
	const struct u64map *m = &g->by_cgroup;
	struct ct_ls_group *v = calloc(m->len ? m->len : 1, sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i])
			memcpy(&v[(*n)++], m->vals + i * m->val_size, sizeof(*v));
	qsort(v, *n, sizeof(*v), by_total);
	return v;
}

static const struct ct_col cols[] = {
	{ "CONTAINER", CT_LEFT, 24, 0 },
	{ "COUNT", CT_RIGHT, 8, 0 },
	{ "TCP STATE", CT_LEFT, 0, 0 },
};

static void cells(struct ct_row *r, const struct ct_ls_group *p, int st)
{
	ct_row_reset(r);
	ct_row_str(r, ct_container_cell(p->cgroup));
	ct_row_u64(r, p->states[st]);
	ct_row_str(r, ct_state_name(st));
}

void ct_ls_groups_print(FILE *f, const struct ct_ls_groups *g)
{
	size_t n;
	struct ct_ls_group *v = sorted(g, &n);
	struct ct_cols c;
	struct ct_row r;

	ct_cols_init(&c, cols, 3);
	for (int pass = 0; pass < 2; pass++) {
		if (pass)
			ct_cols_write(f, &c, NULL);
		for (size_t i = 0; i < n; i++)
			for (int st = 0; st < 16; st++) {
				if (!v[i].states[st])
					continue;
				cells(&r, &v[i], st);
				if (pass)
					ct_cols_write(f, &c, &r);
				else
					ct_cols_fit(&c, &r);
			}
	}
	free(v);
}

void ct_ls_groups_json(struct json_writer *j, const struct ct_ls_groups *g)
{
	size_t n;
	struct ct_ls_group *v = sorted(g, &n);

	json_arr_begin(j, "containers");
	for (size_t i = 0; i < n; i++) {
		json_obj_begin(j, NULL);
		ct_cgroup_json(j, v[i].cgroup);
		json_u64(j, "total", v[i].total);
		json_obj_begin(j, "states");
		for (int st = 0; st < 16; st++)
			if (v[i].states[st])
				json_u64(j, ct_state_name(st), v[i].states[st]);
		json_obj_end(j);
		json_obj_end(j);
	}
	json_arr_end(j);
	free(v);
}
