/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The names of the kernel's drop and reset reasons, carried in a
 * recording's header: a reason is a number whose name differs from
 * kernel to kernel, so a replay on another machine names it as the
 * recording host did.
 */
#ifndef CT_RECNAMES_H
#define CT_RECNAMES_H

#include <stddef.h>

#include "engine/recread.h"
#include "engine/tcpev.h"

/* Header keys: comma-separated names, the value's position its number. */
#define CT_REC_DROP_KEY "drop_reasons"
#define CT_REC_RESET_KEY "reset_reasons"

/*
 * Appends the header lines of t's names (ct_tcpev_load_reasons() read
 * them) to buf, which holds a string. 0, or -E2BIG if they do not fit.
 */
int ct_recnames_put(const struct ct_tcpev *t, char *buf, size_t len);

/*
 * Gives t the names of the recording's header instead of this kernel's;
 * a recording without them names no reason. 0 or -ENOMEM.
 */
int ct_recnames_get(const struct ct_rec_reader *rd, struct ct_tcpev *t);

#endif
