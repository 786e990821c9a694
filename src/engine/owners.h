/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Socket owners found by walking every task's open files in the kernel
 * (the ct_seed_files iterator), instead of reading /proc/<pid>/fd.
 */
#ifndef CT_OWNERS_H
#define CT_OWNERS_H

#include <stdbool.h>
#include <stdint.h>

#include "conntrace.h"
#include "lib/u64map.h"

struct conntrace_bpf;

struct ct_holder {
	uint32_t pid;		/* lowest tgid holding the socket */
	char comm[CT_COMM_LEN];
	uint64_t cgroup;	/* its cgroup v2 id, 0 if unknown */
};

struct ct_owners {
	struct conntrace_bpf *skel;
	/* 12 bytes a socket, as there may be millions: comm is per process. */
	struct u64map by_ino;	/* socket inode -> holder pid (uint32_t) */
	struct u64map comms;	/* pid + 1 -> struct ct_holder */
	struct u64map shared;	/* inodes more than one process holds */
	struct ct_holder found;	/* what ct_owners_find() returns */
	uint64_t scanned_ns;	/* CLOCK_MONOTONIC when the last walk began */
	uint64_t scans;
	/* Processes whose files /proc did not show us, in the last walk. */
	uint64_t denied;
};

/* With skel NULL, owners come from walking /proc/<pid>/fd instead. */
int ct_owners_init(struct ct_owners *o, struct conntrace_bpf *skel);
void ct_owners_free(struct ct_owners *o);

/*
 * Walks all open files once, and gives every TCP socket that the kernel
 * maps do not know yet its holder, so sockets older than conntrace have
 * owners. Listening sockets also become listeners children inherit from.
 */
int ct_owners_seed(struct ct_owners *o);

/* Walks every socket file now (the lean walk, or /proc). 0 or -errno. */
int ct_owners_walk(struct ct_owners *o);

/*
 * The holder of a socket inode as of a walk that began at or after
 * since_ns (CLOCK_MONOTONIC); walks again if the last one is older.
 * NULL if no task holds it.
 */
const struct ct_holder *ct_owners_find(struct ct_owners *o, uint64_t ino,
				       uint64_t since_ns);

/* Whether several processes held this socket at the last walk. */
bool ct_owners_shared(const struct ct_owners *o, uint64_t ino);

#endif
