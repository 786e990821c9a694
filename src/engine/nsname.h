/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * A readable name for a network namespace: its name in /run/netns (ip
 * netns), else the container of a process in it, found from the
 * process's cgroup. Both are looked up again at most once a second.
 */
#ifndef CT_NSNAME_H
#define CT_NSNAME_H

#include <stdint.h>

/*
 * The name of the namespace with this inode number, or NULL for our own
 * namespace or one with no name to give. Valid until the next call.
 */
const char *ct_netns_name(uint32_t ino);

#endif
