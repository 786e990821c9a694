// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/privs.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1U << (cap % 32));
}

int ct_check_privileges(char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = { { 0 } };

	if (syscall(SYS_capget, &hdr, data)) {
		snprintf(err, errlen, "cannot read capabilities: %m");
		return -errno;
	}
	if (has_cap(data, CAP_SYS_ADMIN) ||
	    (has_cap(data, CAP_BPF) && has_cap(data, CAP_PERFMON)))
		return 0;
	snprintf(err, errlen,
		 "must run as root (needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN); try sudo");
	return -EPERM;
}

int ct_raise_priority(unsigned int levels)
{
	int now;

	if (!levels)
		return 0;
	/* -1 is a nice value too: errno tells a failure apart. */
	errno = 0;
	now = getpriority(PRIO_PROCESS, 0);
	if (now == -1 && errno)
		return -errno;
	now -= (int)levels;
	if (setpriority(PRIO_PROCESS, 0, now < -20 ? -20 : now))
		return -errno;
	return 0;
}
