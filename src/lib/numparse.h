/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_NUMPARSE_H
#define CT_NUMPARSE_H

#include <stdint.h>

/* Whole decimal number in [min, max] with nothing after it. 0 or -EINVAL. */
int ct_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
/* Non-negative decimal number of seconds, e.g. "2" or "0.5". */
int ct_parse_seconds(const char *s, double *out);

/*
 * A size in bytes: "1000000", or with a binary unit K, M, G or T (also
 * "KiB" or "KB", all powers of 1024). 0 or -EINVAL.
 */
int ct_parse_size(const char *s, uint64_t *out);

#endif
