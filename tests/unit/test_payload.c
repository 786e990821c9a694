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
	ev.bytes_acked = acked;
	ev.bytes_received = received;
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_active_close_counts_syn_and_fin),
		cmocka_unit_test(test_passive_close_skips_syn),
		cmocka_unit_test(test_reset_leaves_fin_unacked),
		cmocka_unit_test(test_open_socket_payload),
		cmocka_unit_test(test_closing_states_payload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
