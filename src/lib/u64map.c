// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "lib/u64map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_CAP 64

static size_t slot_of(const struct u64map *m, uint64_t key)
{
	/* Kernel addresses and inodes share low bits; mix before masking. */
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)key & (m->cap - 1);
}

static int alloc_slots(struct u64map *m, size_t cap)
{
	m->keys = calloc(cap, sizeof(*m->keys));
	m->vals = calloc(cap, m->val_size);
	if (!m->keys || !m->vals) {
		free(m->keys);
		free(m->vals);
		m->keys = NULL;
		m->vals = NULL;
		return -ENOMEM;
	}
	m->cap = cap;
	m->len = 0;
	return 0;
}

int u64map_init(struct u64map *m, size_t val_size)
{
	memset(m, 0, sizeof(*m));
	m->val_size = val_size;
	return alloc_slots(m, INITIAL_CAP);
}

void u64map_free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

void u64map_clear(struct u64map *m)
{
	memset(m->keys, 0, m->cap * sizeof(*m->keys));
	m->len = 0;
}

static size_t find(const struct u64map *m, uint64_t key)
{
	size_t i = slot_of(m, key);

	while (m->keys[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

void *u64map_get(const struct u64map *m, uint64_t key)
{
	size_t i;

	if (!key || !m->cap)
		return NULL;
	i = find(m, key);
	return m->keys[i] ? m->vals + i * m->val_size : NULL;
}

/* Adds a key known to be absent, where the table has room for it. */
static void place(struct u64map *m, uint64_t key, const void *val)
{
	size_t j = find(m, key);

	m->keys[j] = key;
	memcpy(m->vals + j * m->val_size, val, m->val_size);
	m->len++;
}

static int rehash(struct u64map *m, size_t cap)
{
	struct u64map old = *m;

	if (alloc_slots(m, cap))
		return (*m = old), -ENOMEM;
	for (size_t i = 0; i < old.cap; i++)
		if (old.keys[i])
			place(m, old.keys[i], old.vals + i * old.val_size);
	free(old.keys);
	free(old.vals);
	return 0;
}

static int grow(struct u64map *m)
{
	return rehash(m, m->cap * 2);
}

int u64map_reserve(struct u64map *m, size_t n)
{
	size_t cap = m->cap;

	while (n * 4 > cap * 3)
		cap *= 2;
	return cap == m->cap ? 0 : rehash(m, cap);
}

void *u64map_put(struct u64map *m, uint64_t key, int *created)
{
	size_t i;

	if (created)
		*created = 0;
	if (!key)
		return NULL;
	if ((m->len + 1) * 4 > m->cap * 3 && grow(m))
		return NULL;
	i = find(m, key);
	if (!m->keys[i]) {
		m->keys[i] = key;
		memset(m->vals + i * m->val_size, 0, m->val_size);
		m->len++;
		if (created)
			*created = 1;
	}
	return m->vals + i * m->val_size;
}

int u64map_retain(struct u64map *m, u64map_keep_fn keep, void *ctx)
{
	struct u64map kept;
	size_t gone = 0;

	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i] && !keep(m->keys[i], m->vals + i * m->val_size, ctx))
			gone++;
	if (!gone)
		return 0;
	if (u64map_init(&kept, m->val_size) || u64map_reserve(&kept, m->len - gone)) {
		u64map_free(&kept);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		const void *v = m->vals + i * m->val_size;

		if (m->keys[i] && keep(m->keys[i], v, ctx))
			place(&kept, m->keys[i], v);
	}
	u64map_free(m);
	*m = kept;
	return 0;
}
