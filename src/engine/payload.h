/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Payload bytes from the kernel's TCP counters. bytes_acked and
 * bytes_received count sequence space, which also holds the SYN (on the
 * side that called connect()) and each FIN.
 */
#ifndef CT_PAYLOAD_H
#define CT_PAYLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "conntrace.h"
#include "engine/sockdump.h"

/*
 * A TCP socket's counters with its sequence numbers: enough to say what
 * the application wrote and read, whether acked or still queued.
 */
struct ct_tcp_counts {
	struct ct_tcp_seqs tcp;
	bool active;		/* it called connect(): its SYN is in write_seq */
	bool fin_queued;	/* our FIN is in write_seq */
	bool peer_fin;		/* the peer's FIN is in bytes_received */
};

/*
 * What the application wrote (acked or queued) and read (received and
 * taken from the receive queue), each way, in bytes of payload.
 */
void ct_payload_seq(const struct ct_tcp_counts *c, uint64_t *tx, uint64_t *rx);

/* The counts of a socket from the iter/tcp walk; passive: it was accepted. */
void ct_tcp_rec_counts(const struct ct_tcp_rec *r, bool passive,
		       struct ct_tcp_counts *c);

/* The counts at a connection's CLOSE transition. */
void ct_close_counts(const struct ct_event *ev, struct ct_tcp_counts *c);

/* Each way, at a connection's close, from its last transition (acked only). */
void ct_payload_bytes(const struct ct_event *ev, uint64_t *tx, uint64_t *rx);

/* Each way, now, for a socket from a sock_diag dump. */
void ct_sockrec_payload(const struct ct_sockrec *r, uint64_t *tx, uint64_t *rx);

#endif
