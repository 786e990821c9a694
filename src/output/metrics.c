// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "output/metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"

/* Hash collisions of different label sets are told apart by these probes. */
#define MAX_PROBES 8

void ct_metrics_init(struct ct_metrics *m, size_t max_series)
{
	memset(m, 0, sizeof(*m));
	m->max_series = max_series;
}

void ct_metrics_free(struct ct_metrics *m)
{
	for (size_t i = 0; i < m->nfams; i++) {
		struct ct_mfamily *f = &m->fams[i];

		for (size_t j = 0; j < f->nseries; j++)
			free(f->series[j].values);
		free(f->series);
		u64map_free(&f->index);
	}
	free(m->fams);
	memset(m, 0, sizeof(*m));
}

bool ct_metrics_name_ok(const char *name)
{
	if (!name || !((*name >= 'a' && *name <= 'z') ||
		       (*name >= 'A' && *name <= 'Z') || *name == '_'))
		return false;
	for (const char *p = name + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

static bool bounds_ok(const struct ct_mdef *d)
{
	if (d->type != CT_M_HISTOGRAM)
		return true;
	if (!d->nbounds || d->nbounds > CT_M_MAX_BUCKETS)
		return false;
	for (size_t i = 1; i < d->nbounds; i++)
		if (!(d->bounds[i] > d->bounds[i - 1]))
			return false;
	return true;
}

static bool labels_ok(const struct ct_mdef *d, size_t *n)
{
	for (*n = 0; *n < CT_M_MAX_LABELS && d->labels[*n]; (*n)++) {
		if (!ct_metrics_name_ok(d->labels[*n]))
			return false;
		/* "le" is the histogram's own bucket label. */
		if (d->type == CT_M_HISTOGRAM && !strcmp(d->labels[*n], "le"))
			return false;
	}
	return true;
}

int ct_metrics_family(struct ct_metrics *m, const struct ct_mdef *def)
{
	struct ct_mfamily *f;
	size_t nlabels;

	if (!ct_metrics_name_ok(def->name) || !def->help ||
	    !labels_ok(def, &nlabels) || !bounds_ok(def))
		return -EINVAL;
	for (size_t i = 0; i < m->nfams; i++)
		if (!strcmp(m->fams[i].def.name, def->name))
			return -EINVAL;
	if (ct_grow((void **)&m->fams, &m->cap, m->nfams, sizeof(*m->fams)))
		return -ENOMEM;
	f = &m->fams[m->nfams];
	memset(f, 0, sizeof(*f));
	if (u64map_init(&f->index, sizeof(size_t)))
		return -ENOMEM;
	f->def = *def;
	f->nlabels = nlabels;
	return (int)m->nfams++;
}

/* FNV-1a, 64 bits: label sets are short and not chosen to collide. */
static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

/* The label values joined, each with its NUL; *len is the whole length. */
static char *join(const struct ct_mfamily *f, const char *const *values,
		  size_t *len)
{
	size_t n = 0, off = 0;
	char *s;

	for (size_t i = 0; i < f->nlabels; i++)
		n += strlen(values[i]) + 1;
	s = malloc(n ? n : 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < f->nlabels; i++) {
		size_t l = strlen(values[i]) + 1;

		memcpy(s + off, values[i], l);
		off += l;
	}
	*len = n;
	return s;
}

/*
 * The index slot of this label set: its own, or a free one to take when
 * make is set. Without it, nothing is added to the index: a set folded
 * past the cap leaves no key behind, or a flood of them would grow it.
 */
static size_t *slot(struct ct_mfamily *f, const char *v, size_t len,
		    bool make, bool *found)
{
	uint64_t h = hash(v, len);

	for (int i = 0; i < MAX_PROBES; i++) {
		uint64_t key = (h + (uint64_t)i) | 1;
		int created = 0;
		size_t *idx = u64map_get(&f->index, key);

		if (idx && *idx) {
			const struct ct_mseries *s = &f->series[*idx - 1];

			if (s->vlen == len && !memcmp(s->values, v, len)) {
				*found = true;
				return idx;
			}
			continue;
		}
		if (!idx && !make)
			return NULL;
		if (!idx)
			idx = u64map_put(&f->index, key, &created);
		*found = false;
		return idx;
	}
	return NULL;
}

static struct ct_mseries *find_or_make(struct ct_metrics *m,
				       struct ct_mfamily *f,
				       const char *const *values, bool force)
{
	struct ct_mseries *s;
	size_t len, *idx;
	bool found;
	bool full = !force && m->max_series && m->nseries >= m->max_series;
	char *v = join(f, values, &len);

	if (!v)
		return NULL;
	idx = slot(f, v, len, !full, &found);
	if (idx && found) {
		free(v);
		return &f->series[*idx - 1];
	}
	if (!idx || full ||
	    ct_grow((void **)&f->series, &f->cap, f->nseries, sizeof(*s))) {
		/* u64map_put made a slot of 0: never a series (they are 1-based). */
		if (idx)
			*idx = 0;
		free(v);
		return NULL;
	}
	s = &f->series[f->nseries];
	memset(s, 0, sizeof(*s));
	s->values = v;
	s->vlen = len;
	*idx = ++f->nseries;
	m->nseries++;
	return s;
}

/* The series of these values, or "other" past the cap (*folded set). */
static struct ct_mseries *lookup(struct ct_metrics *m, int fam,
				 const char *const *values, bool *folded)
{
	struct ct_mfamily *f = &m->fams[fam];
	const char *other[CT_M_MAX_LABELS];
	struct ct_mseries *s = find_or_make(m, f, values, false);

	*folded = false;
	if (s)
		return s;
	for (size_t i = 0; i < f->nlabels; i++)
		other[i] = CT_M_OTHER;
	/* One "other" per family, even past the cap: the cap stays bounded. */
	s = find_or_make(m, f, other, true);
	if (s) {
		m->folded++;
		*folded = true;
	}
	return s;
}

struct ct_mseries *ct_metrics_series(struct ct_metrics *m, int fam,
				     const char *const *values)
{
	bool folded;

	return lookup(m, fam, values, &folded);
}

void ct_metrics_add(struct ct_metrics *m, int fam, const char *const *values,
		    uint64_t n)
{
	struct ct_mseries *s = ct_metrics_series(m, fam, values);

	if (s)
		s->v += n;
}

void ct_metrics_set(struct ct_metrics *m, int fam, const char *const *values,
		    uint64_t v)
{
	bool folded;
	struct ct_mseries *s = lookup(m, fam, values, &folded);

	/* Folded gauges add up: "other" holds the sum of what it stands for. */
	if (s && folded)
		s->v += v;
	else if (s)
		s->v = v;
}

void ct_metrics_observe(struct ct_metrics *m, int fam,
			const char *const *values, uint64_t v)
{
	const struct ct_mdef *d = &m->fams[fam].def;
	double scale = d->scale ? d->scale : 1;
	struct ct_mseries *s = ct_metrics_series(m, fam, values);
	size_t b = 0;

	if (!s)
		return;
	while (b < d->nbounds && (double)v * scale > d->bounds[b])
		b++;
	if (b < d->nbounds)
		s->buckets[b]++;
	s->count++;
	s->v += v;
}

void ct_metrics_zero(struct ct_metrics *m, int fam)
{
	struct ct_mfamily *f = &m->fams[fam];

	for (size_t i = 0; i < f->nseries; i++)
		f->series[i].v = 0;
}
