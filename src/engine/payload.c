// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/payload.h"

#include <netinet/tcp.h>
#include <stdbool.h>

static uint64_t minus(uint64_t v, unsigned n)
{
	return v > n ? v - n : 0;
}

void ct_payload_bytes(const struct ct_event *ev, uint64_t *tx, uint64_t *rx)
{
	bool clean = !(ev->flags & CT_EV_SK_ERROR);
	/*
	 * Our SYN counts if we connected and got established; an accepting
	 * side's snd_una starts past its SYN-ACK.
	 */
	bool syn = !(ev->flags & CT_EV_PASSIVE) && ev->oldstate != TCP_SYN_SENT;
	/* ...and our FIN if it left one of these states without an error. */
	bool fin = clean && (ev->oldstate == TCP_FIN_WAIT2 ||
			     ev->oldstate == TCP_CLOSING ||
			     ev->oldstate == TCP_LAST_ACK ||
			     ev->oldstate == TCP_TIME_WAIT);

	*tx = minus(ev->bytes_acked, syn + fin);
	*rx = minus(ev->bytes_received, (ev->flags & CT_EV_PEER_FIN) ? 1 : 0);
}

void ct_sockrec_payload(const struct ct_sockrec *r, uint64_t *tx, uint64_t *rx)
{
	bool fin_acked = r->state == TCP_FIN_WAIT2;
	bool peer_fin = r->state == TCP_CLOSE_WAIT || r->state == TCP_LAST_ACK ||
			r->state == TCP_CLOSING;
	bool syn = !r->accepted && r->state != TCP_SYN_SENT &&
		   r->state != TCP_LISTEN;

	*tx = minus(r->info.bytes_acked, syn + fin_acked);
	*rx = minus(r->info.bytes_received, peer_fin);
}
