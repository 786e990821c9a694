/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/* A small open-addressing hash table from a non-zero u64 key to a value. */
#ifndef CT_U64MAP_H
#define CT_U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct u64map {
	uint64_t *keys;		/* 0 marks an empty slot */
	unsigned char *vals;
	size_t val_size;
	size_t cap;		/* a power of two */
	size_t len;
};

int u64map_init(struct u64map *m, size_t val_size);
void u64map_free(struct u64map *m);
void u64map_clear(struct u64map *m);
/* Returns the value slot for key, or NULL. */
void *u64map_get(const struct u64map *m, uint64_t key);
/*
 * Returns the slot for key, inserting a zeroed one if absent (*created is
 * then set). NULL on allocation failure or key 0.
 */
void *u64map_put(struct u64map *m, uint64_t key, int *created);
/* Makes room for n keys at once, so filling it never rehashes. */
int u64map_reserve(struct u64map *m, size_t n);

typedef int (*u64map_keep_fn)(uint64_t key, const void *val, void *ctx);
/*
 * Drops every entry keep() says no to, and shrinks the table to what
 * stays, so that its memory follows the live entries. keep() is asked
 * twice per entry, so it must answer the same. 0, or -ENOMEM with the
 * table as it was.
 */
int u64map_retain(struct u64map *m, u64map_keep_fn keep, void *ctx);

#endif
