// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/nsname.h"

#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/cgroup.h"
#include "engine/netns.h"
#include "lib/u64map.h"
#include "output/format.h"

#define NAME_LEN 256
/* Namespaces remembered; past this the cache starts afresh. */
#define CACHE_MAX 1024
/* Namespaces come and go: a name is looked for again after this. */
#define STALE_NS 1000000000ULL

struct entry {
	uint64_t looked_ns;
	char name[NAME_LEN];	/* "": none */
};

static struct u64map cache;
static bool cache_ready;

/* A name from ip netns: a file in /run/netns with this inode. */
static bool named(uint32_t ino, char *out)
{
	DIR *d = opendir("/run/netns");
	struct dirent *de;
	char path[16 + NAME_LEN];
	struct stat st;
	bool found = false;

	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", de->d_name);
		if (!stat(path, &st) && st.st_ino == ino) {
			snprintf(out, NAME_LEN, "%.*s", NAME_LEN - 1, de->d_name);
			found = true;
		}
	}
	closedir(d);
	return found;
}

/* The container of the first process found in the namespace. */
static bool container_of(uint32_t ino, char *out)
{
	DIR *d = opendir("/proc");
	const struct ct_cgroup *cg;
	struct dirent *de;
	char path[64];
	struct stat st;
	bool found = false;

	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/ns/net", de->d_name);
		if (stat(path, &st) || st.st_ino != ino)
			continue;
		cg = ct_cgroup_get(ct_cgroup_of_pid((uint32_t)atoi(de->d_name)));
		if (cg && cg->ctr.name[0]) {
			snprintf(out, NAME_LEN, "%s", cg->ctr.name);
			found = true;
		}
	}
	closedir(d);
	return found;
}

const char *ct_netns_name(uint32_t ino)
{
	uint64_t now = ct_monotonic_ns();
	struct entry *e;
	int created;

	if (!ino || ino == ct_netns_self())
		return NULL;
	if (!cache_ready) {
		if (u64map_init(&cache, sizeof(struct entry)))
			return NULL;
		cache_ready = true;
	}
	e = u64map_get(&cache, ino);
	if (!e) {
		if (cache.len >= CACHE_MAX)
			u64map_clear(&cache);
		e = u64map_put(&cache, ino, &created);
		if (!e)
			return NULL;
	}
	if (!e->looked_ns || now - e->looked_ns >= STALE_NS) {
		e->looked_ns = now;
		if (!named(ino, e->name) && !container_of(ino, e->name))
			e->name[0] = '\0';
	}
	return e->name[0] ? e->name : NULL;
}
