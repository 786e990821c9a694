// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/payload.h"

#include <netinet/tcp.h>
#include <stdbool.h>

static uint64_t minus(uint64_t v, uint64_t n)
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

	*tx = minus(ev->tcp.bytes_acked, syn + fin);
	*rx = minus(ev->tcp.bytes_received, (ev->flags & CT_EV_PEER_FIN) ? 1 : 0);
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

/* The states a socket is in once its FIN went into the send queue. */
static bool fin_state(unsigned state)
{
	return state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 ||
	       state == TCP_CLOSING || state == TCP_LAST_ACK ||
	       state == TCP_TIME_WAIT;
}

void ct_payload_seq(const struct ct_tcp_counts *c, uint64_t *tx, uint64_t *rx)
{
	/* Sequence space: the subtractions wrap as the kernel's do. */
	const struct ct_tcp_seqs *t = &c->tcp;
	uint32_t unacked = t->write_seq - t->snd_una;
	uint32_t unread = t->rcv_nxt - t->copied_seq;
	/*
	 * recv() steps copied_seq over the peer's FIN when it returns 0: until
	 * then the FIN is in both bytes_received and the unread span.
	 */
	bool fin_taken = c->peer_fin && unread == 0;

	*tx = minus(t->bytes_acked + unacked, c->active + c->fin_queued);
	*rx = minus(t->bytes_received, unread + fin_taken);
}

void ct_tcp_rec_counts(const struct ct_tcp_rec *r, bool passive,
		       struct ct_tcp_counts *c)
{
	c->tcp = r->tcp;
	c->active = !passive;
	c->fin_queued = fin_state(r->state);
	c->peer_fin = r->flags & CT_EV_PEER_FIN;
}

void ct_close_counts(const struct ct_event *ev, struct ct_tcp_counts *c)
{
	c->tcp = ev->tcp;
	c->active = !(ev->flags & CT_EV_PASSIVE);
	c->fin_queued = fin_state(ev->oldstate);
	c->peer_fin = ev->flags & CT_EV_PEER_FIN;
}
