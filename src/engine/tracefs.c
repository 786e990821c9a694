// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/tracefs.h"

#include <errno.h>
#include <stdio.h>
#include <sys/mount.h>
#include <unistd.h>

static bool mounted_at(const char *root)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/events", root);
	return access(path, F_OK) == 0;
}

int ct_tracefs_ensure(void)
{
	if (mounted_at(CT_TRACEFS_ROOT))
		return 0;
	if (mount("tracefs", CT_TRACEFS_ROOT, "tracefs", 0, NULL))
		return -errno;
	return 0;
}

enum ct_tracefs_answer ct_tracefs_event_at(const char *root,
					   const char *category,
					   const char *event)
{
	char path[256];

	/*
	 * An empty mount point says nothing about the kernel's events: it
	 * exists on every kernel built with tracefs, whatever events it has.
	 */
	if (!mounted_at(root))
		return CT_TRACEFS_UNMOUNTED;
	snprintf(path, sizeof(path), "%s/events/%s/%s", root, category, event);
	return access(path, F_OK) == 0 ? CT_TRACEFS_YES : CT_TRACEFS_NO;
}

enum ct_tracefs_answer ct_tracefs_event(const char *category, const char *event)
{
	return ct_tracefs_event_at(CT_TRACEFS_ROOT, category, event);
}
