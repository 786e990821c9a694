/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_LOADER_H
#define CT_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/filter.h"
#include "engine/hooks.h"

struct conntrace_bpf;
struct bpf_link;

struct ct_load_opts {
	struct ct_kfilter filter;
	bool count_bytes;	/* account bytes per socket and process */
	uint32_t max_conns;	/* size of the byte map; 0: the default */
};

#define CT_MAX_LINKS 16

struct ct_loader {
	struct conntrace_bpf *skel;
	struct ct_probe probe;
	enum ct_hook state_hook;
	enum ct_hook io_hook;	/* CT_HOOK_NONE if no I/O hook attached */
	bool sk_storage;	/* TCP byte counts in socket-local storage */
	bool owners_only;	/* just the owner walk, for ls: no maps */
	struct bpf_link *links[CT_MAX_LINKS];
	int nlinks;
};

/* Routes libbpf's own messages to stderr only when verbose. */
void ct_loader_set_verbose(bool verbose);

/*
 * Probes the kernel, loads the programs and attaches the best hooks that
 * work, falling back down the list from ct_hook_choices(). On failure,
 * writes a one-line reason to err and returns -errno.
 */
int ct_loader_start(struct ct_loader *l, const struct ct_load_opts *o,
		    char *err, size_t errlen);

/*
 * One attempt with one pair of hooks, after ct_probe_kernel() filled
 * l->probe: loads, and attaches if asked. Returns 0 or -errno, and leaves
 * nothing behind on failure. `conntrace hooks` uses it to test each kind.
 */
int ct_loader_try(struct ct_loader *l, const struct ct_load_opts *o,
		  enum ct_hook state, enum ct_hook io, bool attach);

/*
 * Loads only the lean file-walk iterator, for one-shot owner lookups, and
 * creates none of the maps the other programs need.
 */
int ct_loader_open_iter(struct ct_loader *l);

/* Detaches every program and frees everything. Safe to call twice. */
void ct_loader_stop(struct ct_loader *l);

/* Sums one counter of the per-CPU stats map. */
uint64_t ct_loader_stat(const struct ct_loader *l, int idx);

#endif
