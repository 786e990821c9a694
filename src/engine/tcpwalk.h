/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * One walk of every TCP socket in every network namespace with the
 * iter/tcp program (struct ct_tcp_rec records), for the byte sampler and
 * the recorder alike.
 */
#ifndef CT_TCPWALK_H
#define CT_TCPWALK_H

#include <stdint.h>

#include "engine/iter.h"

struct bpf_link;

/*
 * Calls fn for each socket's record; a namespace that went away meanwhile
 * is skipped. 0, fn's non-zero return, or -errno.
 */
int ct_tcp_walk(struct bpf_link *tcp_iter, ct_record_fn fn, void *ctx);

/* The same in one namespace; 0 if it is gone. */
int ct_tcp_walk_netns(struct bpf_link *tcp_iter, uint32_t netns,
		      ct_record_fn fn, void *ctx);

struct conntrace_bpf;

/* Makes the iter/tcp link the walk needs. 0, or -errno with one line in err. */
int ct_tcp_walk_attach(struct conntrace_bpf *skel, struct bpf_link **out,
		       char *err, size_t errlen);

#endif
