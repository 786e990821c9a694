// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* Counts per socket, per process and latency per host, from made-up events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/tevtally.h"

static struct ct_tally t;

static int setup(void **state)
{
	(void)state;
	return ct_tally_init(&t);
}

static int teardown(void **state)
{
	(void)state;
	ct_tally_free(&t);
	return 0;
}

static struct ct_tev_line line(int kind, uint64_t sk, uint64_t cookie,
			       uint32_t pid, uint64_t value, uint64_t ts)
{
	struct ct_tev_line l;

	memset(&l, 0, sizeof(l));
	l.ev.type = CT_MSG_TCP_EV;
	l.ev.kind = (uint8_t)kind;
	l.ev.skaddr = sk;
	l.ev.cookie = cookie;
	l.ev.pid = pid;
	l.ev.value = value;
	l.ev.ts_ns = ts;
	l.ev.family = AF_INET;
	inet_pton(AF_INET, "10.0.0.2", l.ev.daddr);
	return l;
}

static void add(int kind, uint64_t sk, uint64_t cookie, uint32_t pid,
		uint64_t value, uint64_t ts)
{
	struct ct_tev_line l = line(kind, sk, cookie, pid, value, ts);

	ct_tally_add(&t, &l);
}

static void test_counts_per_socket_and_process(void **state)
{
	struct ct_tally_counts c;

	(void)state;
	add(CT_TEV_RETRANS, 0x10, 7, 100, 3, 50);	/* a TSO skb: 3 segments */
	add(CT_TEV_RETRANS, 0x10, 7, 100, 1, 60);
	add(CT_TEV_RESET_SENT, 0x10, 7, 100, 0, 70);
	add(CT_TEV_RESET_RECV, 0x20, 8, 200, 0, 70);
	add(CT_TEV_DROP, 0x20, 8, 200, 1, 80);
	add(CT_TEV_CONNECT_FAIL, 0x20, 8, 200, 5, 90);	/* no column */
	ct_tally_sock(&t, 0x10, 10, NULL, &c);
	assert_int_equal(c.n[CT_TALLY_RETRANS], 4);
	assert_int_equal(c.n[CT_TALLY_RESETS], 1);
	assert_int_equal(c.n[CT_TALLY_DROPS], 0);
	ct_tally_sock(&t, 0x20, 0, NULL, &c);
	assert_int_equal(c.n[CT_TALLY_RETRANS], 0);
	assert_int_equal(c.n[CT_TALLY_RESETS], 1);
	assert_int_equal(c.n[CT_TALLY_DROPS], 1);
	ct_tally_proc(&t, 100, &c);
	assert_int_equal(c.n[CT_TALLY_RETRANS], 4);
	assert_int_equal(c.n[CT_TALLY_RESETS], 1);
	ct_tally_proc(&t, 300, &c);
	assert_int_equal(c.n[CT_TALLY_RETRANS] + c.n[CT_TALLY_RESETS] +
			 c.n[CT_TALLY_DROPS], 0);
}

static void test_unknown_owner_counts_for_no_process(void **state)
{
	struct ct_tally_counts c;

	(void)state;
	add(CT_TEV_RETRANS, 0x10, 7, 0, 1, 50);
	ct_tally_sock(&t, 0x10, 0, NULL, &c);
	assert_int_equal(c.n[CT_TALLY_RETRANS], 1);
	assert_int_equal(t.procs.len, 0);
}

static void test_listener_queue_counts_for_listener(void **state)
{
	struct ct_tev_line l = line(CT_TEV_SYNACK_RETRANS, 0x30, 9, 0, 1, 50);
	struct ct_tally_counts c;

	(void)state;
	l.listener_pid = 400;
	ct_tally_add(&t, &l);
	/* The listener's own counter: its process, but no connection. */
	l = line(CT_TEV_DROP, 0x40, 10, 400, 5, 60);
	l.ev.flags = CT_TEV_FROM_COUNTER;
	ct_tally_add(&t, &l);
	ct_tally_proc(&t, 400, &c);
	assert_int_equal(c.n[CT_TALLY_RETRANS], 1);
	assert_int_equal(c.n[CT_TALLY_DROPS], 5);
	ct_tally_sock(&t, 0x40, 0, NULL, &c);
	assert_int_equal(c.n[CT_TALLY_DROPS], 0);
}

/*
 * A SYN-ACK sent again by a listener on port 80 to 10.0.0.2:40000, and the
 * addresses of the connection its handshake makes.
 */
static void synack_and_conn(struct ct_tev_line *l, struct ct_conn *k)
{
	*l = line(CT_TEV_SYNACK_RETRANS, 0x30, 9, 0, 1, 50);
	l->ev.netns = 77;
	l->ev.sport = 80;
	l->ev.dport = 40000;
	memset(k, 0, sizeof(*k));
	k->netns = 77;
	k->family = AF_INET;
	k->sport = 80;
	k->dport = 40000;
	inet_pton(AF_INET, "10.0.0.2", k->daddr);
}

/* A SYN-ACK sent again counts for the connection the handshake made. */
static void test_synack_counts_for_the_connection(void **state)
{
	struct ct_tally_counts c;
	struct ct_tev_line l;
	struct ct_conn k;

	(void)state;
	synack_and_conn(&l, &k);
	ct_tally_add(&t, &l);
	add(CT_TEV_RETRANS, 0x50, 11, 400, 2, 80);
	/* Born after its request's SYN-ACK: counted all the same. */
	ct_tally_sock(&t, 0x50, 60, &k, &c);
	assert_int_equal(c.n[CT_TALLY_RETRANS], 3);
	/* Another connection's addresses: not. */
	k.dport = 40001;
	ct_tally_sock(&t, 0x50, 60, &k, &c);
	assert_int_equal(c.n[CT_TALLY_RETRANS], 2);
	/* Nor a connection born long after. */
	k.dport = 40000;
	ct_tally_sock(&t, 0x50, 50 + CT_TALLY_REQ_BEFORE_NS + 1, &k, &c);
	assert_int_equal(c.n[CT_TALLY_RETRANS], 0);
	/* Touched with the connection, the request's count stays. */
	ct_tally_touch(&t, 0x50, &k, 1000);
	assert_int_equal(ct_tally_prune(&t, 900), 0);
	ct_tally_sock(&t, 0x50, 60, &k, &c);
	assert_int_equal(c.n[CT_TALLY_RETRANS], 3);
}

static void test_address_reuse_is_another_socket(void **state)
{
	struct ct_tally_counts c;

	(void)state;
	add(CT_TEV_RETRANS, 0x10, 7, 100, 2, 50);
	/* A socket born after that event at the same address: not its counts. */
	ct_tally_sock(&t, 0x10, 55, NULL, &c);
	assert_int_equal(c.n[CT_TALLY_RETRANS], 0);
	ct_tally_sock(&t, 0x10, 40, NULL, &c);
	assert_int_equal(c.n[CT_TALLY_RETRANS], 2);
	/* Its own events, with its own cookie, start over. */
	add(CT_TEV_RETRANS, 0x10, 8, 100, 1, 60);
	ct_tally_sock(&t, 0x10, 55, NULL, &c);
	assert_int_equal(c.n[CT_TALLY_RETRANS], 1);
}

static void test_prune_keeps_touched(void **state)
{
	struct ct_tally_counts c;

	(void)state;
	add(CT_TEV_RETRANS, 0x10, 7, 100, 1, 50);
	add(CT_TEV_RETRANS, 0x20, 8, 100, 1, 50);
	add(CT_TEV_RETRANS, 0x30, 9, 100, 1, 500);
	ct_tally_touch(&t, 0x20, NULL, 400);
	ct_tally_touch(&t, 0x99, NULL, 400);		/* never had an event */
	assert_int_equal(ct_tally_prune(&t, 300), 0);
	assert_int_equal(t.socks.len, 2);
	ct_tally_sock(&t, 0x10, 0, NULL, &c);
	assert_int_equal(c.n[CT_TALLY_RETRANS], 0);
	ct_tally_sock(&t, 0x20, 0, NULL, &c);
	assert_int_equal(c.n[CT_TALLY_RETRANS], 1);
	ct_tally_sock(&t, 0x30, 0, NULL, &c);
	assert_int_equal(c.n[CT_TALLY_RETRANS], 1);
	/* Per process stays: it is the process's count so far. */
	ct_tally_proc(&t, 100, &c);
	assert_int_equal(c.n[CT_TALLY_RETRANS], 3);
}

/* The kernel's total_retrans of socket sk, read at read_ns. */
static void kernel(uint64_t sk, uint64_t born, uint32_t pid, uint64_t total,
		   uint64_t read_ns)
{
	struct ct_tally_read rd = {
		.skaddr = sk, .born_ns = born, .pid = pid, .read_ns = read_ns,
		.total_retrans = total,
	};

	ct_tally_kernel(&t, &rd);
}

static uint64_t sock_retrans(uint64_t sk, uint64_t born)
{
	struct ct_tally_counts c;

	ct_tally_sock(&t, sk, born, NULL, &c);
	return c.n[CT_TALLY_RETRANS];
}

static uint64_t proc_retrans(uint32_t pid)
{
	struct ct_tally_counts c;

	ct_tally_proc(&t, pid, &c);
	return c.n[CT_TALLY_RETRANS];
}

/*
 * A connection older than us: the kernel's count at the first read is its
 * count, and only events stamped after that read add to it.
 */
static void test_kernel_count_of_an_older_socket(void **state)
{
	(void)state;
	add(CT_TEV_RETRANS, 0x10, 0, 100, 1, 500);	/* read before we read it */
	kernel(0x10, 0, 100, 9, 1000);	/* 8 before we started, and that one */
	assert_int_equal(sock_retrans(0x10, 0), 9);
	assert_int_equal(proc_retrans(100), 9);
	/* Still in the ring at the read: the count has them already. */
	add(CT_TEV_RETRANS, 0x10, 0, 100, 3, 900);
	assert_int_equal(sock_retrans(0x10, 0), 9);
	assert_int_equal(proc_retrans(100), 9);
	/* After the read: new. */
	add(CT_TEV_RETRANS, 0x10, 0, 100, 2, 1100);
	assert_int_equal(sock_retrans(0x10, 0), 11);
	assert_int_equal(proc_retrans(100), 11);
	/* The next read agrees; a read older than one taken is passed over. */
	kernel(0x10, 0, 100, 11, 1200);
	kernel(0x10, 0, 100, 4, 1150);
	assert_int_equal(sock_retrans(0x10, 0), 11);
	assert_int_equal(proc_retrans(100), 11);
	/* As is one older than an event counted (a replay's unchanged record). */
	add(CT_TEV_RETRANS, 0x10, 0, 100, 1, 1300);
	kernel(0x10, 0, 100, 11, 1250);
	assert_int_equal(sock_retrans(0x10, 0), 12);
	/* Its close: the last count, whatever the events said. */
	kernel(0x10, 0, 100, 12, 1400);
	assert_int_equal(sock_retrans(0x10, 0), 12);
	assert_int_equal(proc_retrans(100), 12);
}

/* Retransmits whose events the full ring lost are in the kernel's count. */
static void test_kernel_count_fills_lost_events(void **state)
{
	(void)state;
	add(CT_TEV_RETRANS, 0x20, 7, 200, 1, 50);
	add(CT_TEV_RETRANS, 0x20, 7, 200, 1, 60);
	kernel(0x20, 40, 200, 5, 100);
	assert_int_equal(sock_retrans(0x20, 40), 5);
	assert_int_equal(proc_retrans(200), 5);
	/* Another process's events are not touched. */
	add(CT_TEV_RETRANS, 0x21, 8, 201, 1, 60);
	assert_int_equal(proc_retrans(200), 5);
	assert_int_equal(proc_retrans(201), 1);
}

/* An owner found after the first read takes the base; unknown keeps it. */
static void test_kernel_count_follows_its_owner(void **state)
{
	(void)state;
	kernel(0x30, 0, 0, 4, 100);
	assert_int_equal(sock_retrans(0x30, 0), 4);
	assert_int_equal(t.procs.len, 0);
	kernel(0x30, 0, 300, 4, 200);
	assert_int_equal(proc_retrans(300), 4);
	kernel(0x30, 0, 0, 6, 300);
	assert_int_equal(proc_retrans(300), 6);
	kernel(0x30, 0, 301, 6, 400);
	assert_int_equal(proc_retrans(300), 0);
	assert_int_equal(proc_retrans(301), 6);
}

/* A socket at the address of a closed one starts over; the closed stays counted. */
static void test_kernel_count_of_a_reused_address(void **state)
{
	(void)state;
	kernel(0x40, 0, 400, 7, 100);
	kernel(0x40, 500, 401, 2, 600);
	assert_int_equal(sock_retrans(0x40, 500), 2);
	assert_int_equal(proc_retrans(400), 7);
	assert_int_equal(proc_retrans(401), 2);
}

/* A request's SYN-ACKs are in its connection's count once: the kernel's. */
static void test_kernel_count_has_the_synacks(void **state)
{
	struct ct_tally_read rd = {
		.skaddr = 0x51, .born_ns = 60, .pid = 500, .read_ns = 100,
		.total_retrans = 3,
	};
	struct ct_tally_counts c;
	struct ct_tev_line l;
	struct ct_conn k;

	(void)state;
	synack_and_conn(&l, &k);
	l.listener_pid = 500;
	ct_tally_add(&t, &l);
	add(CT_TEV_RETRANS, 0x51, 11, 500, 1, 80);
	rd.k = &k;
	ct_tally_kernel(&t, &rd);
	ct_tally_sock(&t, 0x51, 60, &k, &c);
	assert_int_equal(c.n[CT_TALLY_RETRANS], 3);
	assert_int_equal(proc_retrans(500), 3);
}

/* A socket that never sent again costs no entry; its events count as ever. */
static void test_kernel_count_of_zero_keeps_no_entry(void **state)
{
	(void)state;
	kernel(0x70, 0, 700, 0, 100);
	assert_int_equal(t.socks.len, 0);
	add(CT_TEV_RETRANS, 0x70, 0, 700, 2, 200);
	kernel(0x70, 0, 700, 2, 300);
	assert_int_equal(sock_retrans(0x70, 0), 2);
	assert_int_equal(proc_retrans(700), 2);
}

/* Events come before the read that gives the base: never below zero. */
static void test_kernel_count_never_negative(void **state)
{
	(void)state;
	kernel(0x60, 0, 600, 1, 100);
	/* Events the count says never were (none can be): zero, not less. */
	add(CT_TEV_RETRANS, 0x60, 0, 0, 3, 90);
	assert_int_equal(sock_retrans(0x60, 0), 1);
	assert_int_equal(proc_retrans(600), 0);
}

static void test_latency_percentiles_per_host(void **state)
{
	struct ct_tev_line l;

	(void)state;
	/* 1..100 ms, shuffled by a stride prime to 100. */
	for (int i = 0; i < 100; i++)
		add(CT_TEV_CONNECT_LAT, 0, 0, 100,
		    (uint64_t)((i * 37) % 100 + 1) * 1000000, 10);
	l = line(CT_TEV_CONNECT_LAT, 0, 0, 100, 7000, 10);
	inet_pton(AF_INET, "10.0.0.3", l.ev.daddr);
	ct_tally_add(&t, &l);
	assert_int_equal(t.nhosts, 2);
	assert_int_equal(t.hosts[0].count, 100);
	assert_int_equal(ct_lat_percentile(&t.hosts[0], 50), 50000000);
	assert_int_equal(ct_lat_percentile(&t.hosts[0], 99), 99000000);
	assert_int_equal(ct_lat_percentile(&t.hosts[0], 100), 100000000);
	assert_int_equal(t.hosts[0].max_ns, 100000000);
	assert_int_equal(ct_lat_percentile(&t.hosts[1], 50), 7000);
	assert_int_equal(ct_lat_percentile(&t.hosts[1], 99), 7000);
	/* No event counted per socket or process. */
	assert_int_equal(t.socks.len + t.procs.len, 0);
}

static void test_latency_keeps_the_last(void **state)
{
	(void)state;
	for (int i = 0; i < CT_LAT_KEEP; i++)
		add(CT_TEV_CONNECT_LAT, 0, 0, 1, 1000000000, 10);
	for (int i = 0; i < CT_LAT_KEEP; i++)
		add(CT_TEV_CONNECT_LAT, 0, 0, 1, 1000, 10);
	assert_int_equal(t.hosts[0].count, 2 * CT_LAT_KEEP);
	assert_int_equal(ct_lat_percentile(&t.hosts[0], 99), 1000);
	assert_int_equal(t.hosts[0].max_ns, 1000000000);
}

static void test_latency_hosts_bounded(void **state)
{
	(void)state;
	for (uint32_t i = 0; i < CT_LAT_MAX_HOSTS + 3; i++) {
		struct ct_tev_line l = line(CT_TEV_CONNECT_LAT, 0, 0, 1, 5, 10);
		uint32_t a = htonl(0x0a000000 + i);

		memcpy(l.ev.daddr, &a, sizeof(a));
		ct_tally_add(&t, &l);
	}
	assert_int_equal(t.nhosts, CT_LAT_MAX_HOSTS);
	assert_int_equal(t.untracked, 3);
}

static void test_empty_percentile(void **state)
{
	struct ct_lat_stats h;

	(void)state;
	memset(&h, 0, sizeof(h));
	assert_int_equal(ct_lat_percentile(&h, 50), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counts_per_socket_and_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_owner_counts_for_no_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listener_queue_counts_for_listener, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_reuse_is_another_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_synack_counts_for_the_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_keeps_touched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_latency_percentiles_per_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_count_of_an_older_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_count_fills_lost_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_count_follows_its_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_count_of_a_reused_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_count_has_the_synacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_count_never_negative, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_count_of_zero_keeps_no_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_latency_keeps_the_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_latency_hosts_bounded, setup, teardown),
		cmocka_unit_test(test_empty_percentile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
