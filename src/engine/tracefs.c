// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/tracefs.h"

#include <errno.h>
#include <stdio.h>
#include <sys/mount.h>
#include <unistd.h>

#define TRACEFS "/sys/kernel/tracing"

static bool tracefs_mounted(void)
{
	return access(TRACEFS "/events", F_OK) == 0;
}

int ct_tracefs_ensure(void)
{
	if (tracefs_mounted())
		return 0;
	if (mount("tracefs", TRACEFS, "tracefs", 0, NULL))
		return -errno;
	return 0;
}

bool ct_tracefs_has_event(const char *category, const char *event)
{
	char path[256];

	/*
	 * Not mounted yet: the kernel still has the event if it has tracefs
	 * at all, which the mount point's existence tells us.
	 */
	if (!tracefs_mounted())
		return access(TRACEFS, F_OK) == 0;
	snprintf(path, sizeof(path), TRACEFS "/events/%s/%s", category, event);
	return access(path, F_OK) == 0;
}
