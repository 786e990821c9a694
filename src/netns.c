// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#define _GNU_SOURCE
#include "netns.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

uint32_t ct_netns_self(void)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st))
		return 0;
	return (uint32_t)st.st_ino;
}

static int open_if_match(const char *path, uint32_t ino)
{
	struct stat st;

	int fd;

	if (stat(path, &st) || (uint32_t)st.st_ino != ino)
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Looks at dir/<entry><suffix>; /proc needs digits_only to skip non-pids. */
static int scan_dir(const char *dir, const char *suffix, int digits_only,
		    uint32_t ino)
{
	char path[512];
	struct dirent *de;
	DIR *d = opendir(dir);
	int fd = -ENOENT;

	if (!d)
		return -errno;
	while (fd < 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (digits_only && !isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "%s/%s%s", dir, de->d_name, suffix);
		fd = open_if_match(path, ino);
	}
	closedir(d);
	return fd;
}

int ct_netns_resolve(const char *name, uint32_t *ino)
{
	char path[512];
	struct stat st;

	if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", name);
	if (stat(path, &st))
		return -errno;
	*ino = (uint32_t)st.st_ino;
	return 0;
}

static int add_unique(uint32_t *out, int n, int max, uint32_t ino)
{
	for (int i = 0; i < n; i++)
		if (out[i] == ino)
			return n;
	if (n < max)
		out[n++] = ino;
	return n;
}

/* Adds the namespace of every dir/<entry><suffix> that exists. */
static int collect_dir(const char *dir, const char *suffix, int digits_only,
		       uint32_t *out, int n, int max)
{
	char path[512];
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);

	if (!d)
		return n;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    (digits_only && !isdigit((unsigned char)de->d_name[0])))
			continue;
		snprintf(path, sizeof(path), "%s/%s%s", dir, de->d_name, suffix);
		if (!stat(path, &st))
			n = add_unique(out, n, max, (uint32_t)st.st_ino);
	}
	closedir(d);
	return n;
}

int ct_netns_all(uint32_t *out, int max)
{
	int n = add_unique(out, 0, max, ct_netns_self());

	n = collect_dir("/run/netns", "", 0, out, n, max);
	return collect_dir("/proc", "/ns/net", 1, out, n, max);
}

int ct_netns_open(uint32_t ino)
{
	int fd = scan_dir("/run/netns", "", 0, ino);

	if (fd < 0)
		fd = scan_dir("/proc", "/ns/net", 1, ino);
	return fd;
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
