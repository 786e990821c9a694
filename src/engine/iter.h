/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_ITER_H
#define CT_ITER_H

#include <stddef.h>

struct bpf_program;

typedef int (*ct_record_fn)(const void *rec, void *ctx);

/*
 * Runs a BPF iterator once (over map_fd's elements, or -1 for none) and
 * calls fn for every fixed-size record it writes. A non-zero return from
 * fn stops the walk and is returned; otherwise 0 or -errno.
 */
int ct_iter_read(struct bpf_program *prog, int map_fd, size_t recsize,
		 ct_record_fn fn, void *ctx);

/* Reads an iterator made with bpf_iter_create() to its end, as above. */
int ct_iter_read_fd(int fd, size_t recsize, ct_record_fn fn, void *ctx);

#endif
