// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/stats_data.h"

#include <errno.h>
#include <fnmatch.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"

int ct_counters_add(struct ct_counters *s, const char *name, uint64_t val)
{
	struct ct_counter *c;

	if (strlen(name) >= CT_STAT_NAME_MAX)
		return -ENAMETOOLONG;
	if (ct_grow((void **)&s->v, &s->cap, s->n, sizeof(*s->v)))
		return -ENOMEM;
	c = &s->v[s->n++];
	strcpy(c->name, name);
	c->val = val;
	return 0;
}

/*
 * Records that begin with their name: counters and interfaces. Two reads
 * of the same files list the same names in the same order, so the name is
 * nearly always at index hint: look there before anywhere else.
 */
_Static_assert(offsetof(struct ct_counter, name) == 0, "name must come first");
_Static_assert(offsetof(struct ct_iface, name) == 0, "name must come first");

static const void *at_hint(const void *v, size_t n, size_t size,
			   const char *name, size_t hint)
{
	const char *rec;

	if (hint >= n)
		return NULL;
	rec = (const char *)v + hint * size;
	return strcmp(rec, name) ? NULL : rec;
}

static const void *find_named(const void *v, size_t n, size_t size,
			      const char *name, size_t hint)
{
	const char *base = v, *rec = at_hint(v, n, size, name, hint);

	for (size_t i = 0; !rec && i < n; i++)
		if (!strcmp(base + i * size, name))
			rec = base + i * size;
	return rec;
}

/*
 * The previous read's names, for a delta. When names move (an interface
 * gone, a new order), a scan per name would make the delta quadratic in
 * the number of names: they are sorted once instead, on the first miss.
 */
struct name_index {
	const char *base;
	size_t n, size;
	const char **sorted;	/* NULL until the hint first misses */
};

/* By name, then by place, so the first of equal names is found first. */
static int cmp_names(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	int c = strcmp(x, y);

	return c ? c : (x > y) - (x < y);
}

static int index_sort(struct name_index *ix)
{
	ix->sorted = malloc(ix->n * sizeof(*ix->sorted));
	if (!ix->sorted)
		return -ENOMEM;
	for (size_t i = 0; i < ix->n; i++)
		ix->sorted[i] = ix->base + i * ix->size;
	qsort(ix->sorted, ix->n, sizeof(*ix->sorted), cmp_names);
	return 0;
}

/* The record named name, or NULL; *err is -ENOMEM if the sort failed. */
static const void *index_find(struct name_index *ix, const char *name,
			      size_t hint, int *err)
{
	const void *rec = at_hint(ix->base, ix->n, ix->size, name, hint);
	size_t lo = 0, hi = ix->n, mid;

	if (rec || !ix->n)
		return rec;
	if (!ix->sorted && (*err = index_sort(ix)))
		return NULL;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(ix->sorted[mid], name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ix->n && !strcmp(ix->sorted[lo], name) ? ix->sorted[lo] :
							       NULL;
}

const struct ct_counter *ct_counters_find(const struct ct_counters *s,
					  const char *name, size_t hint)
{
	return find_named(s->v, s->n, sizeof(*s->v), name, hint);
}

void ct_counters_free(struct ct_counters *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

struct ct_iface *ct_ifaces_add(struct ct_ifaces *s, const char *name)
{
	struct ct_iface *i;

	if (strlen(name) >= CT_IFNAME_MAX)
		return NULL;
	if (ct_grow((void **)&s->v, &s->cap, s->n, sizeof(*s->v)))
		return NULL;
	i = &s->v[s->n++];
	memset(i, 0, sizeof(*i));
	strcpy(i->name, name);
	i->mtu = -1;
	return i;
}

void ct_ifaces_free(struct ct_ifaces *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

uint64_t ct_counter_delta(uint64_t prev, uint64_t cur)
{
	return cur >= prev ? cur - prev : cur;
}

int ct_counters_delta(const struct ct_counters *prev,
		      const struct ct_counters *cur, struct ct_counters *out)
{
	struct name_index ix = { (const char *)prev->v, prev->n,
				 sizeof(*prev->v), NULL };
	const struct ct_counter *p;
	int err = 0;

	out->n = 0;
	for (size_t i = 0; !err && i < cur->n; i++) {
		p = index_find(&ix, cur->v[i].name, i, &err);
		if (!err)
			err = ct_counters_add(out, cur->v[i].name,
					      ct_counter_delta(p ? p->val : 0,
							       cur->v[i].val));
	}
	free(ix.sorted);
	return err;
}

int ct_ifaces_delta(const struct ct_ifaces *prev, const struct ct_ifaces *cur,
		    struct ct_ifaces *out)
{
	struct name_index ix = { (const char *)prev->v, prev->n,
				 sizeof(*prev->v), NULL };
	const struct ct_iface *p;
	struct ct_iface *o;
	int err = 0;

	out->n = 0;
	for (size_t i = 0; !err && i < cur->n; i++) {
		p = index_find(&ix, cur->v[i].name, i, &err);
		if (err)
			break;
		o = ct_ifaces_add(out, cur->v[i].name);
		if (!o) {
			err = -ENOMEM;
			break;
		}
		o->mtu = cur->v[i].mtu;
		for (int f = 0; f < CT_IF_NFIELDS; f++)
			o->f[f] = ct_counter_delta(p ? p->f[f] : 0,
						   cur->v[i].f[f]);
	}
	free(ix.sorted);
	return err;
}

/* Skips a bracket expression starting after its '['; NULL if never closed. */
static const char *skip_bracket(const char *p)
{
	if (*p == '!' || *p == '^')
		p++;
	if (*p == ']')	/* a ']' first in the set is a member, not the end */
		p++;
	for (; *p; p++) {
		if (*p == ']')
			return p;
		if (*p == '\\' && !*++p)
			return NULL;
	}
	return NULL;
}

int ct_glob_check(const char *glob)
{
	const char *p;

	if (!glob[0])
		return -EINVAL;
	/* fnmatch(3) quietly takes a broken pattern literally: refuse it. */
	for (p = glob; *p; p++) {
		if (*p == '\\' && !*++p)
			return -EINVAL;
		if (*p == '[') {
			p = skip_bracket(p + 1);
			if (!p)
				return -EINVAL;
		}
	}
	return 0;
}

bool ct_glob_match(char *const *globs, size_t n, const char *name)
{
	if (!n)
		return true;
	for (size_t i = 0; i < n; i++)
		if (!fnmatch(globs[i], name, 0))
			return true;
	return false;
}
