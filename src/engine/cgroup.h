/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * cgroup v2 ids, as the kernel records them with an owner, turned into
 * paths and readable container names, with nothing but the cgroup2 mount
 * to ask: no runtime daemon.
 *
 * Paths are relative to the cgroup2 mount and begin with "/", as ss
 * prints them ("/" is the root). The mount is found in
 * /proc/self/mountinfo, as it is not at the same place everywhere (hybrid
 * hierarchies mount it below the v1 controllers).
 */
#ifndef CT_CGROUP_H
#define CT_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CT_CONTAINER_ID_LEN 64	/* a runtime's full id, in hex */
#define CT_CONTAINER_SHORT 12	/* as docker ps shows it */
#define CT_POD_UID_LEN 36

/* What a cgroup path says about the container around it. */
struct ct_container {
	char runtime[16];	/* "docker", "containerd", "crio", "podman"; "" */
	char id[CT_CONTAINER_ID_LEN + 1];	/* the runtime's id; "" */
	char pod[CT_POD_UID_LEN + 1];	/* a Kubernetes pod's UID; "" */
	char service[128];	/* the innermost systemd service unit; "" */
	/* "docker:0123456789ab", "pod:<uid>", "nginx.service"; "": unknown */
	char name[160];
	char given[64];		/* the name Docker gave it, if readable; "" */
};

/*
 * Reads the container from a path's naming layout (systemd's and the
 * cgroupfs drivers' for Docker, containerd/CRI, CRI-O, Podman, Kubernetes
 * pods, systemd services). The innermost runtime scope wins, then a pod,
 * then a service. Returns 0, -ENOENT when no known layout is found (c is
 * zeroed), -EINVAL for a path that is not absolute or is too long.
 */
int ct_container_parse(const char *path, struct ct_container *c);

/*
 * The name Docker gave container id, from dir/<id>/config.v2.json (dir:
 * Docker's containers directory), into out. A file that is missing,
 * not regular (a FIFO cannot block this), over 1 MiB, or without a plain
 * name gives -errno (-ENOENT, -EINVAL, -EFBIG); nothing here waits.
 */
int ct_docker_name_from(const char *dir, const char *id, char *out,
			size_t len);

/*
 * Whether want names this container: its name, the runtime's id or a
 * prefix of it (4 characters or more), the pod's UID, the service with
 * or without ".service"; for an unknown layout, the path itself.
 */
bool ct_container_match(const struct ct_container *c, const char *path,
			const char *want);

/*
 * Whether path lies in the cgroup prefix, compared by whole components
 * as directories nest: "/a" holds "/a" and "/a/b", not "/ab".
 */
bool ct_cgroup_under(const char *path, const char *prefix);

/* The cgroup2 mount point in a mountinfo file; 0 or -ENOENT. */
int ct_cgroup_mount_parse(FILE *mountinfo, char *out, size_t len);

/* The cgroup2 mount point of this machine (found once), or NULL. */
const char *ct_cgroup_mount(void);

struct ct_cgroup {
	uint64_t id;
	const char *path;	/* relative to the cgroup2 mount */
	struct ct_container ctr;
};

/*
 * The cgroup with this v2 id, from a bounded cache filled by walking the
 * cgroup2 mount; NULL for id 0, a cgroup removed before it was looked up,
 * or no cgroup2 at all. The pointer stays valid until the next call.
 */
const struct ct_cgroup *ct_cgroup_get(uint64_t id);

/* What to show for an owner's cgroup: its container's name, else its path. */
const char *ct_cgroup_label(const struct ct_cgroup *cg);

/* Whether the cgroup with this id is known and lies in prefix. */
bool ct_cgroup_id_under(uint64_t id, const char *prefix);

/* Whether the cgroup with this id is known and want names its container. */
bool ct_cgroup_id_is(uint64_t id, const char *want);

/*
 * A process's cgroup v2 id from /proc/PID/cgroup, for owners found without
 * the kernel's help; 0 if unknown.
 */
uint64_t ct_cgroup_of_pid(uint32_t pid);

/*
 * The cgroup v2 path in a /proc/PID/cgroup file (its "0::PATH" line), as
 * out. Returns 0; -ENOENT without such a line or for a cgroup removed
 * since (" (deleted)"); -EINVAL if any line is not ID:CONTROLLERS:PATH,
 * if there are two v2 lines, or if the path is not absolute or steps up
 * ("..", a process outside our cgroup namespace); -ENAMETOOLONG if the
 * path does not fit in len.
 */
int ct_proc_cgroup_parse(FILE *f, char *out, size_t len);

/*
 * The ids of the cgroups now under `under` (a path; NULL: any) whose
 * container is `container` (NULL: any), in a malloc'd *ids, and in *max
 * the highest cgroup id there is: cgroups made later have higher ids
 * (src/engine/kernel.h). Returns how many ids, or -ENOENT without a
 * cgroup2 mount, or -ENOMEM.
 */
int ct_cgroup_list_matching(const char *under, const char *container,
			    uint64_t **ids, uint64_t *max);

#endif
