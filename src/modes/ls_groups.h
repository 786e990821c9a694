/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/* states --by-container: the TCP state histogram of each container. */
#ifndef CT_LS_GROUPS_H
#define CT_LS_GROUPS_H

#include <stdio.h>

#include "engine/sockdump.h"
#include "lib/u64map.h"
#include "output/json.h"

struct ct_ls_groups {
	struct u64map by_cgroup;	/* cgroup + 1 -> struct ct_ls_group */
};

struct ct_ls_group {
	uint64_t cgroup;	/* the sockets' cgroup v2 id; 0: not known */
	uint64_t total;
	uint64_t states[16];
};

int ct_ls_groups_init(struct ct_ls_groups *g);
void ct_ls_groups_free(struct ct_ls_groups *g);
/*
 * Counts a TCP socket in the histogram of cgroup (its owner's, as
 * ct_ls_cgroup() gives it); 0 or -ENOMEM.
 */
int ct_ls_groups_count(struct ct_ls_groups *g, const struct ct_sockrec *r,
		       uint64_t cgroup);
/* The histograms, most sockets first, as a table after the summary. */
void ct_ls_groups_print(FILE *f, const struct ct_ls_groups *g);
/* The same as a "containers" array of the summary's JSON object. */
void ct_ls_groups_json(struct json_writer *j, const struct ct_ls_groups *g);

#endif
