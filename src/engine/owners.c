// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/owners.h"

#include <bpf/bpf.h>
#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conntrace.skel.h"
#include "output/format.h"
#include "engine/cgroup.h"
#include "engine/iter.h"
#include "engine/walkcost.h"

typedef int (*seed_fn)(struct ct_owners *o, const struct ct_seed *rec);

int ct_owners_init(struct ct_owners *o, struct conntrace_bpf *skel)
{
	memset(o, 0, sizeof(*o));
	o->skel = skel;
	if (u64map_init(&o->comms, sizeof(struct ct_holder)) || u64map_init(&o->shared, 1))
		return -ENOMEM;
	return u64map_init(&o->by_ino, sizeof(uint32_t));
}

void ct_owners_free(struct ct_owners *o)
{
	u64map_free(&o->by_ino);
	u64map_free(&o->comms);
	u64map_free(&o->shared);
}

struct walk {
	struct ct_owners *o;
	seed_fn fn;
};

static int on_record(const void *rec, void *ctx)
{
	struct walk *w = ctx;

	return w->fn(w->o, rec);
}

/* Runs the file-walk iterator once and calls fn for every record. */
static int walk_files(struct ct_owners *o, seed_fn fn)
{
	struct walk w = { o, fn };

	o->scanned_ns = ct_monotonic_ns();
	o->scans++;
	return ct_iter_read(o->skel->progs.ct_seed_files, -1,
			    sizeof(struct ct_seed), on_record, &w);
}

static int remember_holder(struct ct_owners *o, const struct ct_seed *rec)
{
	int created;
	uint32_t *pid = u64map_put(&o->by_ino, rec->ino, &created);
	struct ct_holder *proc;

	if (!pid)
		return -ENOMEM;
	if (!created && rec->pid != *pid && !u64map_put(&o->shared, rec->ino, NULL))
		return -ENOMEM;
	/* Tasks come in pid order: the first holder is the oldest process. */
	if (created || rec->pid < *pid)
		*pid = rec->pid;
	proc = u64map_put(&o->comms, (uint64_t)rec->pid + 1, &created);
	if (!proc)
		return -ENOMEM;
	if (created) {
		proc->pid = rec->pid;
		memcpy(proc->comm, rec->comm, CT_COMM_LEN);
		proc->cgroup = rec->cgroup;
	}
	return 0;
}

static void seed_listener(struct ct_owners *o, const struct ct_seed *rec,
			  const struct ct_owner *owner)
{
	struct ct_listen_key key = {
		.netns = rec->netns,
		.family = rec->family,
		.port = rec->sport,
	};
	struct ct_listener val = { .skaddr = rec->skaddr, .owner = *owner };

	memcpy(key.addr, rec->saddr, sizeof(key.addr));
	bpf_map_update_elem(bpf_map__fd(o->skel->maps.ct_listeners), &key, &val,
			    BPF_NOEXIST);
}

static int seed_one(struct ct_owners *o, const struct ct_seed *rec)
{
	struct ct_sock s = { .owner = { .pid = rec->pid, .src = CT_OWNER_SEED } };
	int err = remember_holder(o, rec);

	if (err)
		return err;
	memcpy(s.owner.comm, rec->comm, sizeof(s.owner.comm));
	s.owner.cgroup = rec->cgroup;
	/* Only TCP has state transitions to tell owners for. */
	if (rec->proto != 6 /* IPPROTO_TCP */)
		return 0;
	/* Only the first (oldest) holder of a socket becomes its owner. */
	bpf_map_update_elem(bpf_map__fd(o->skel->maps.ct_socks), &rec->skaddr,
			    &s, BPF_NOEXIST);
	if (rec->state == 10 /* TCP_LISTEN */)
		seed_listener(o, rec, &s.owner);
	return 0;
}

int ct_owners_seed(struct ct_owners *o)
{
	u64map_clear(&o->by_ino);
	u64map_clear(&o->comms);
	u64map_clear(&o->shared);
	return walk_files(o, seed_one);
}

static void read_comm(uint32_t pid, char comm[CT_COMM_LEN])
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	memset(comm, 0, CT_COMM_LEN);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(comm, CT_COMM_LEN, f))
		comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}

/* One process's descriptors: the socket ones name their inode. */
static void walk_proc_fds(struct ct_owners *o, uint32_t pid)
{
	struct ct_seed rec = { .pid = pid };
	char path[64], link[64];
	struct dirent *de;
	bool have_comm = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%u/fd", pid);
	d = opendir(path);
	if (!d) {
		/* Another user's process: its sockets stay without owner. */
		if (errno == EACCES || errno == EPERM)
			o->denied++;
		return;
	}
	while ((de = readdir(d))) {
		ssize_t n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);

		if (n <= 0 || strncmp(link, "socket:[", 8))
			continue;
		link[n] = '\0';
		rec.ino = strtoull(link + 8, NULL, 10);
		if (!have_comm) {
			read_comm(pid, rec.comm);
			rec.cgroup = ct_cgroup_of_pid(pid);
			have_comm = true;
		}
		remember_holder(o, &rec);
	}
	closedir(d);
}

/* For kernels without BPF iterators, or without the rights to load one. */
static int walk_proc(struct ct_owners *o)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		return -errno;
	o->scanned_ns = ct_monotonic_ns();
	o->scans++;
	o->denied = 0;
	while ((de = readdir(d)))
		if (isdigit((unsigned char)de->d_name[0]))
			walk_proc_fds(o, (uint32_t)strtoul(de->d_name, NULL, 10));
	closedir(d);
	return 0;
}

static int on_holder(const void *rec, void *ctx)
{
	const struct ct_holder_rec *r = rec;
	struct ct_seed s = { .ino = r->ino, .pid = r->pid, .cgroup = r->cgroup };

	memcpy(s.comm, r->comm, sizeof(s.comm));
	return remember_holder(ctx, &s);
}

/* Every socket file's holder, from the lean walk (or /proc). */
int ct_owners_walk(struct ct_owners *o)
{
	u64map_clear(&o->by_ino);
	u64map_clear(&o->comms);
	u64map_clear(&o->shared);
	u64map_reserve(&o->by_ino, ct_sockets_in_use());
	if (!o->skel)
		return walk_proc(o);
	o->scanned_ns = ct_monotonic_ns();
	o->scans++;
	return ct_iter_read(o->skel->progs.ct_owner_files, -1,
			    sizeof(struct ct_holder_rec), on_holder, o);
}

const struct ct_holder *ct_owners_find(struct ct_owners *o, uint64_t ino,
				       uint64_t since_ns)
{
	if (!ino)
		return NULL;
	const struct ct_holder *proc;
	const uint32_t *pid;

	if (o->scanned_ns < since_ns && ct_owners_walk(o))
		return NULL;
	pid = u64map_get(&o->by_ino, ino);
	if (!pid)
		return NULL;
	proc = u64map_get(&o->comms, (uint64_t)*pid + 1);
	if (proc) {
		o->found = *proc;
		return &o->found;
	}
	memset(&o->found, 0, sizeof(o->found));
	o->found.pid = *pid;
	return &o->found;
}

bool ct_owners_shared(const struct ct_owners *o, uint64_t ino)
{
	return ino && u64map_get(&o->shared, ino);
}
