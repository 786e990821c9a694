// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#define _GNU_SOURCE
#include "engine/netns.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <linux/nsfs.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/grow.h"

uint32_t ct_netns_self(void)
{
	/*
	 * Asked for every line printed: read once. conntrace enters other
	 * namespaces only inside ct_netns_run, and comes back.
	 */
	static uint32_t self;
	struct stat st;

	if (!self && !stat("/proc/self/ns/net", &st))
		self = (uint32_t)st.st_ino;
	return self;
}

typedef int (*ns_fn)(const char *path, uint32_t ino, void *ctx);

/*
 * Calls fn for every dir/<entry><suffix> that exists (for /proc, only
 * the pid entries), until fn returns non-zero, which is then returned.
 */
static int walk_dir(const char *dir, const char *suffix, bool pids_only,
		    ns_fn fn, void *ctx)
{
	char path[512];
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);
	int rc = 0;

	if (!d)
		return 0;
	while (!rc && (de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    (pids_only && !isdigit((unsigned char)de->d_name[0])))
			continue;
		snprintf(path, sizeof(path), "%s/%s%s", dir, de->d_name, suffix);
		if (!stat(path, &st))
			rc = fn(path, (uint32_t)st.st_ino, ctx);
	}
	closedir(d);
	return rc;
}

/* The named namespaces first, then every process's. */
static int walk_namespaces(ns_fn fn, void *ctx)
{
	int rc = walk_dir("/run/netns", "", false, fn, ctx);

	return rc ? rc : walk_dir("/proc", "/ns/net", true, fn, ctx);
}

struct open_ctx {
	uint32_t ino;
	int fd;
};

static int open_if_match(const char *path, uint32_t ino, void *ctx)
{
	struct open_ctx *o = ctx;

	if (ino != o->ino)
		return 0;
	o->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (o->fd < 0)
		o->fd = -errno;
	return 1;
}

/*
 * Namespaces named by path, held open: a bind mount outside /run/netns
 * that no process is in cannot be found again by its inode number.
 */
static struct named {
	uint32_t ino;
	int fd;
} *named;
static size_t nnamed, named_cap;

static int remember(uint32_t ino, int fd)
{
	for (size_t i = 0; i < nnamed; i++)
		if (named[i].ino == ino) {
			close(fd);
			return 0;
		}
	if (ct_grow((void **)&named, &named_cap, nnamed, sizeof(*named))) {
		close(fd);
		return -ENOMEM;
	}
	named[nnamed++] = (struct named){ ino, fd };
	return 0;
}

/* 0 if fd is a network namespace, CT_NETNS_ENOTNET if anything else. */
static int check_netns(int fd)
{
	/* Only nsfs files answer NS_GET_NSTYPE (Linux 4.11+). */
	int type = ioctl(fd, NS_GET_NSTYPE);

	return type == CLONE_NEWNET ? 0 : CT_NETNS_ENOTNET;
}

int ct_netns_resolve(const char *name, uint32_t *ino)
{
	char path[512];
	struct stat st;
	int fd, rc;

	if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", name);
	/* O_NONBLOCK: opening a FIFO without a writer must not hang. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	rc = fstat(fd, &st) ? -errno : check_netns(fd);
	if (rc) {
		close(fd);
		return rc;
	}
	*ino = (uint32_t)st.st_ino;
	return remember(*ino, fd);
}

const char *ct_netns_strerror(int rc)
{
	return rc == CT_NETNS_ENOTNET ? "not a network namespace" : strerror(-rc);
}

struct collect_ctx {
	uint32_t *out;
	int n, max;
};

static int add_unique(const char *path, uint32_t ino, void *ctx)
{
	struct collect_ctx *c = ctx;

	(void)path;
	for (int i = 0; i < c->n; i++)
		if (c->out[i] == ino)
			return 0;
	if (c->n < c->max)
		c->out[c->n++] = ino;
	return 0;
}

int ct_netns_all(uint32_t *out, int max)
{
	struct collect_ctx c = { out, 0, max };

	add_unique(NULL, ct_netns_self(), &c);
	walk_namespaces(add_unique, &c);
	return c.n;
}

int ct_netns_open(uint32_t ino)
{
	struct open_ctx o = { ino, -ENOENT };

	for (size_t i = 0; i < nnamed; i++)
		if (named[i].ino == ino) {
			int fd = fcntl(named[i].fd, F_DUPFD_CLOEXEC, 0);

			return fd < 0 ? -errno : fd;
		}
	walk_namespaces(open_if_match, &o);
	return o.fd;
}

int ct_netns_run(uint32_t ino, int (*fn)(void *arg), void *arg)
{
	int target, self, ret;

	if (ino == ct_netns_self())
		return fn(arg);
	target = ct_netns_open(ino);
	if (target < 0)
		return target;
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0) {
		ret = -errno;
		close(target);
		return ret;
	}
	if (setns(target, CLONE_NEWNET)) {
		ret = -errno;
	} else {
		ret = fn(arg);
		if (setns(self, CLONE_NEWNET))
			ret = -errno;
	}
	close(target);
	close(self);
	return ret;
}
