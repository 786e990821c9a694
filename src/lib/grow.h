/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_GROW_H
#define CT_GROW_H

#include <stddef.h>

/*
 * Makes room in the array *v (of *cap elements of size sz, n in use) for
 * one more, doubling it when full. 0 or -ENOMEM, *v untouched on failure.
 */
int ct_grow(void **v, size_t *cap, size_t n, size_t sz);

/*
 * Makes *v hold at least want elements at once, for an array whose bound
 * is known: its pages are touched only as it fills, and it is never
 * copied to grow. 0 or -ENOMEM, *v untouched on failure.
 */
int ct_reserve(void **v, size_t *cap, size_t want, size_t sz);

#endif
