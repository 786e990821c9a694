// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "lib/grow.h"

#include <errno.h>
#include <stdlib.h>

int ct_grow(void **v, size_t *cap, size_t n, size_t sz)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	p = reallocarray(*v, ncap, sz);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = ncap;
	return 0;
}
