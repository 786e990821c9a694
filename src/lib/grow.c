// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "lib/grow.h"

#include <errno.h>
#include <stdlib.h>

int ct_reserve(void **v, size_t *cap, size_t want, size_t sz)
{
	void *p;

	if (want <= *cap)
		return 0;
	p = reallocarray(*v, want, sz);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = want;
	return 0;
}

int ct_grow(void **v, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return 0;
	return ct_reserve(v, cap, *cap ? *cap * 2 : 64, sz);
}
