/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Which owner walk a one-shot listing should pay for: the kernel's file
 * walk (iter/task_file), whose cost is mostly fixed, or /proc/<pid>/fd,
 * whose cost grows with processes and descriptors. Decided from facts
 * that cost microseconds, before anything is loaded.
 */
#ifndef CT_WALKCOST_H
#define CT_WALKCOST_H

#include <stdbool.h>
#include <stddef.h>

enum ct_walk { CT_WALK_AUTO, CT_WALK_PROC, CT_WALK_BPF };

/* Sockets of every kind in use on the host (/proc/net/sockstat), or 0. */
size_t ct_sockets_in_use(void);

/* Processes in /proc, or 0 if it cannot be read. */
size_t ct_count_procs(void);

/* Whether walking /proc is expected to cost less than the kernel walk. */
bool ct_proc_walk_cheaper(size_t procs, size_t sockets);

/*
 * The walk asked for in CONNTRACE_OWNER_WALK (auto, proc or bpf; unset is
 * auto), or -EINVAL for any other value.
 */
int ct_walk_from_env(const char *value);

#endif
