// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/tcp.h>
#include <string.h>

#include "engine/payload.h"

static void at_close(int old, uint8_t flags, uint64_t acked, uint64_t received,
		     uint64_t *tx, uint64_t *rx)
{
	struct ct_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.oldstate = (uint8_t)old;
	ev.newstate = TCP_CLOSE;
	ev.flags = flags;
	ev.tcp.bytes_acked = acked;
	ev.tcp.bytes_received = received;
	ct_payload_bytes(&ev, tx, rx);
}

static void test_active_close_counts_syn_and_fin(void **state)
{
	uint64_t tx, rx;

	(void)state;
	/* connect()ed, closed first: SYN and FIN acked, no FIN from peer yet. */
	at_close(TCP_FIN_WAIT2, 0, 12347, 77, &tx, &rx);
	assert_int_equal(tx, 12345);
	assert_int_equal(rx, 77);
}

static void test_passive_close_skips_syn(void **state)
{
	uint64_t tx, rx;

	(void)state;
	/* Accepted: snd_una started past the SYN-ACK; peer's FIN counted. */
	at_close(TCP_LAST_ACK, CT_EV_PASSIVE | CT_EV_PEER_FIN, 78, 12346,
		 &tx, &rx);
	assert_int_equal(tx, 77);
	assert_int_equal(rx, 12345);
}

static void test_reset_leaves_fin_unacked(void **state)
{
	uint64_t tx, rx;

	(void)state;
	at_close(TCP_ESTABLISHED, CT_EV_SK_ERROR, 101, 50, &tx, &rx);
	assert_int_equal(tx, 100);
	assert_int_equal(rx, 50);
	/* A refused connect moved nothing, and nothing goes below zero. */
	at_close(TCP_SYN_SENT, CT_EV_SK_ERROR, 0, 0, &tx, &rx);
	assert_int_equal(tx, 0);
	assert_int_equal(rx, 0);
}

static struct ct_sockrec rec(int state, bool accepted, uint64_t acked,
			     uint64_t received)
{
	struct ct_sockrec r;

	memset(&r, 0, sizeof(r));
	r.state = (uint8_t)state;
	r.accepted = accepted;
	r.info.bytes_acked = acked;
	r.info.bytes_received = received;
	return r;
}

static void test_open_socket_payload(void **state)
{
	struct ct_sockrec r;
	uint64_t tx, rx;

	(void)state;
	r = rec(TCP_ESTABLISHED, false, 164, 4);
	ct_sockrec_payload(&r, &tx, &rx);
	assert_int_equal(tx, 163);
	assert_int_equal(rx, 4);
	r = rec(TCP_ESTABLISHED, true, 4, 163);
	ct_sockrec_payload(&r, &tx, &rx);
	assert_int_equal(tx, 4);
	assert_int_equal(rx, 163);
}

static void test_closing_states_payload(void **state)
{
	struct ct_sockrec r;
	uint64_t tx, rx;

	(void)state;
	/* FIN_WAIT2: our FIN acked. CLOSE_WAIT: the peer's FIN received. */
	r = rec(TCP_FIN_WAIT2, false, 102, 20);
	ct_sockrec_payload(&r, &tx, &rx);
	assert_int_equal(tx, 100);
	assert_int_equal(rx, 20);
	r = rec(TCP_CLOSE_WAIT, true, 30, 101);
	ct_sockrec_payload(&r, &tx, &rx);
	assert_int_equal(tx, 30);
	assert_int_equal(rx, 100);
}

/* A socket's counts: iss and irs are where its sequence numbers began. */
static struct ct_tcp_rec seq_rec(int state, uint32_t iss, uint32_t irs,
				 uint64_t acked, uint32_t unacked,
				 uint64_t received, uint32_t unread)
{
	struct ct_tcp_rec r;

	memset(&r, 0, sizeof(r));
	r.state = (uint8_t)state;
	r.tcp.bytes_acked = acked;
	r.tcp.snd_una = iss + (uint32_t)acked;
	r.tcp.write_seq = r.tcp.snd_una + unacked;
	r.tcp.bytes_received = received;
	r.tcp.rcv_nxt = irs + (uint32_t)received;
	r.tcp.copied_seq = r.tcp.rcv_nxt - unread;
	return r;
}

static void rec_payload(const struct ct_tcp_rec *r, bool passive,
			uint64_t *tx, uint64_t *rx)
{
	struct ct_tcp_counts c;

	ct_tcp_rec_counts(r, passive, &c);
	ct_payload_seq(&c, tx, rx);
}

static void test_seq_counts_queued_bytes(void **state)
{
	struct ct_tcp_rec r;
	uint64_t tx, rx;

	(void)state;
	/* connect()ed: 1 + 1000 acked (SYN), 500 written but not acked yet;
	 * 700 received of which 200 not read: the app read 500. */
	r = seq_rec(TCP_ESTABLISHED, 100, 9000, 1001, 500, 700, 200);
	rec_payload(&r, false, &tx, &rx);
	assert_int_equal(tx, 1500);
	assert_int_equal(rx, 500);
	/* Accepted: no SYN of ours in the counts. */
	r = seq_rec(TCP_ESTABLISHED, 100, 9000, 1000, 500, 700, 0);
	rec_payload(&r, true, &tx, &rx);
	assert_int_equal(tx, 1500);
	assert_int_equal(rx, 700);
}

static void test_seq_wraps_around(void **state)
{
	struct ct_tcp_rec r;
	uint64_t tx, rx;

	(void)state;
	/* Sequence numbers wrap at 2^32: the queues still come out right. */
	r = seq_rec(TCP_ESTABLISHED, 0xfffffff0u, 0xffffff00u, 6000000001ULL,
		    0x40, 5000000000ULL, 0x300);
	rec_payload(&r, false, &tx, &rx);
	assert_int_equal(tx, 6000000000ULL + 0x40);
	assert_int_equal(rx, 5000000000ULL - 0x300);
}

static void test_seq_fins(void **state)
{
	struct ct_tcp_rec r;
	uint64_t tx, rx;

	(void)state;
	/* FIN_WAIT1: our FIN queued, unacked; the peer's FIN not yet here. */
	r = seq_rec(TCP_FIN_WAIT1, 7, 70, 101, 1, 30, 0);
	rec_payload(&r, false, &tx, &rx);
	assert_int_equal(tx, 100);
	assert_int_equal(rx, 30);
	/* CLOSE_WAIT, the FIN (and 10 bytes before it) not yet read: the
	 * unread span holds the FIN, as bytes_received does. */
	r = seq_rec(TCP_CLOSE_WAIT, 7, 70, 50, 0, 41, 11);
	r.flags = CT_EV_PEER_FIN;
	rec_payload(&r, true, &tx, &rx);
	assert_int_equal(tx, 50);
	assert_int_equal(rx, 30);
	/* ...and once recv() returned 0, the FIN was taken. */
	r = seq_rec(TCP_CLOSE_WAIT, 7, 70, 50, 0, 41, 0);
	r.flags = CT_EV_PEER_FIN;
	rec_payload(&r, true, &tx, &rx);
	assert_int_equal(rx, 40);
}

static void test_close_event_seq(void **state)
{
	struct ct_tcp_counts c;
	struct ct_event ev;
	uint64_t tx, rx;

	(void)state;
	/* LAST_ACK -> CLOSE of an accepted socket: FIN queued and acked. */
	memset(&ev, 0, sizeof(ev));
	ev.oldstate = TCP_LAST_ACK;
	ev.newstate = TCP_CLOSE;
	ev.flags = CT_EV_PASSIVE | CT_EV_PEER_FIN;
	ev.tcp.bytes_acked = 78;
	ev.tcp.snd_una = ev.tcp.write_seq = 1000;
	ev.tcp.bytes_received = 12346;
	ev.tcp.rcv_nxt = ev.tcp.copied_seq = 555;
	ct_close_counts(&ev, &c);
	ct_payload_seq(&c, &tx, &rx);
	assert_int_equal(tx, 77);
	assert_int_equal(rx, 12345);
	/* A refused connect: only the SYN, never acked, and nothing below 0. */
	memset(&ev, 0, sizeof(ev));
	ev.oldstate = TCP_SYN_SENT;
	ev.flags = CT_EV_SK_ERROR;
	ev.tcp.snd_una = 5;
	ev.tcp.write_seq = 6;
	ct_close_counts(&ev, &c);
	ct_payload_seq(&c, &tx, &rx);
	assert_int_equal(tx, 0);
	assert_int_equal(rx, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_active_close_counts_syn_and_fin),
		cmocka_unit_test(test_passive_close_skips_syn),
		cmocka_unit_test(test_reset_leaves_fin_unacked),
		cmocka_unit_test(test_open_socket_payload),
		cmocka_unit_test(test_closing_states_payload),
		cmocka_unit_test(test_seq_counts_queued_bytes),
		cmocka_unit_test(test_seq_wraps_around),
		cmocka_unit_test(test_seq_fins),
		cmocka_unit_test(test_close_event_seq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
