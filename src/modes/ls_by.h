/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * states --by: sockets counted per remote address, port, owner or state,
 * most frequent first, as `awk | sort | uniq -c | sort -rn` would.
 */
#ifndef CT_LS_BY_H
#define CT_LS_BY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/owners.h"
#include "engine/sockdump.h"
#include "modes/ls_opts.h"

#define CT_BY_KEY_LEN 96	/* a container's cgroup path may be long */

/* One socket counted: its key, and what went wrong on it so far. */
struct ct_by_entry {
	char key[CT_BY_KEY_LEN];
	uint64_t retrans;	/* tcpi_total_retrans */
	uint64_t drops;		/* sk_drops */
};

struct ct_by_count {
	struct ct_by_entry *keys;	/* one per socket counted */
	size_t n, cap;
	bool trouble;		/* print each key's retrans and drops too */
};

/* Counts r under its key; holder NULL: owner unknown ("-"). 0 or -ENOMEM. */
int ct_by_add(struct ct_by_count *c, enum ct_ls_by by,
	      const struct ct_sockrec *r, const struct ct_holder *holder);
/* The counts, most first (ties by key), as a table or one JSON object. */
void ct_by_print(FILE *f, struct ct_by_count *c, enum ct_ls_by by, bool json);
void ct_by_free(struct ct_by_count *c);

#endif
