/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_PRIVS_H
#define CT_PRIVS_H

#include <stddef.h>

/*
 * Checks that we may load and attach tracing programs: CAP_BPF and
 * CAP_PERFMON, or CAP_SYS_ADMIN on kernels that predate them. Returns 0, or
 * -EPERM with a one-line reason in err.
 */
int ct_check_privileges(char *err, size_t errlen);

/*
 * Lowers the calling thread's nice value by levels (threads it starts
 * inherit it), down to -20 at most. 0, or -errno.
 */
int ct_raise_priority(unsigned int levels);

#endif
