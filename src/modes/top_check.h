/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * top --verbose: checks each open TCP connection's byte counts against the
 * kernel's own (bytes_acked and bytes_received, as ss -ti shows them).
 *
 * What the processes sent is what the kernel has had acknowledged plus
 * what still waits in the send queue; what they received is what the
 * kernel received less what waits, unread, in the receive queue.
 */
#ifndef CT_TOP_CHECK_H
#define CT_TOP_CHECK_H

#include "engine/acct.h"
#include "engine/diag.h"

/* Fills the check fields of every open TCP share. 0 or -errno. */
int ct_top_check(struct ct_acct *a, struct ct_diag *d);

#endif
