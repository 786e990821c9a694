/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Payload bytes from the kernel's TCP counters. bytes_acked and
 * bytes_received count sequence space, which also holds the SYN (on the
 * side that called connect()) and each FIN.
 */
#ifndef CT_PAYLOAD_H
#define CT_PAYLOAD_H

#include <stdint.h>

#include "conntrace.h"
#include "engine/sockdump.h"

/* Each way, at a connection's close, from its last transition. */
void ct_payload_bytes(const struct ct_event *ev, uint64_t *tx, uint64_t *rx);

/* Each way, now, for a socket from a sock_diag dump. */
void ct_sockrec_payload(const struct ct_sockrec *r, uint64_t *tx, uint64_t *rx);

#endif
