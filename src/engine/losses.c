// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/losses.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/grow.h"

void ct_losses_from_stats(struct ct_losses *l, const uint64_t stats[CT_STAT_MAX])
{
	l->rb_drops = stats[CT_STAT_RB_DROPS];
	l->sock_map_full = stats[CT_STAT_SOCK_MAP_FULL];
	l->listen_map_full = stats[CT_STAT_LISTEN_MAP_FULL];
	l->conn_map_full = stats[CT_STAT_CONN_MAP_FULL];
}

int ct_losses_add_prog(struct ct_losses *l, const char *name,
		       enum ct_prog_group g, uint64_t misses)
{
	if ((unsigned)g >= CT_GROUP_KINDS)
		return -EINVAL;
	if (ct_grow((void **)&l->progs, &l->cap, l->nprogs, sizeof(*l->progs)))
		return -ENOMEM;
	l->progs[l->nprogs++] = (struct ct_prog_loss){ name, g, misses };
	l->missed[g] += misses;
	l->missed_total += misses;
	return 0;
}

void ct_losses_free(struct ct_losses *l)
{
	free(l->progs);
	l->progs = NULL;
	l->nprogs = l->cap = 0;
}

bool ct_losses_missed_line(const struct ct_losses *l, enum ct_prog_group g,
			   const char *what, char *buf, size_t len)
{
	if (len)
		buf[0] = '\0';
	if ((unsigned)g >= CT_GROUP_KINDS || !l->missed[g])
		return false;
	snprintf(buf, len,
		 "%llu %s missed: the kernel skipped the program (recursion)",
		 (unsigned long long)l->missed[g], what);
	return true;
}
