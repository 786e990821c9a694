// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/acct.h"
#include "engine/sampler.h"
#include <netinet/tcp.h>

#define NS 1000000000ULL
#define T0 (100 * NS)		/* the first snapshot; any time far from 0 */
#define SEC(n) (T0 + (uint64_t)(n) * NS)

static struct ct_acct acct;

/* One kernel entry of a hand-made snapshot. */
struct spec {
	uint64_t sk;
	uint32_t pid;
	uint64_t first;
	uint64_t tx, rx;
	const char *raddr;	/* NULL: 10.0.0.1 */
	const char *comm;	/* NULL: "app" */
};

static void fill_conn(struct ct_conn *k, const struct spec *s)
{
	const char *ip = s->raddr ? s->raddr : "10.0.0.1";

	memset(k, 0, sizeof(*k));
	k->bytes[CT_TX] = s->tx;
	k->bytes[CT_RX] = s->rx;
	k->first_ns = s->first;
	k->last_ns = s->first;
	k->family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	k->proto = 6;
	k->sport = 40000;
	k->dport = 443;
	assert_int_equal(inet_pton(k->family, ip, k->daddr), 1);
	snprintf(k->comm, sizeof(k->comm), "%s", s->comm ? s->comm : "app");
}

/* As ct_acct_read_map() makes them: all but key and k zeroed. */
static int update(uint64_t now, const struct spec *sp, size_t n)
{
	struct ct_share *snap = calloc(n ? n : 1, sizeof(*snap));

	assert_non_null(snap);
	for (size_t i = 0; i < n; i++) {
		snap[i].key.skaddr = sp[i].sk;
		snap[i].key.pid = sp[i].pid;
		snap[i].pid = sp[i].pid;
		fill_conn(&snap[i].k, &sp[i]);
	}
	return ct_acct_update(&acct, snap, n, now);
}

#define SPECS(...) (const struct spec[]){ __VA_ARGS__ },		\
	sizeof((const struct spec[]){ __VA_ARGS__ }) / sizeof(struct spec)
#define UPDATE(now, ...) assert_int_equal(update(now, SPECS(__VA_ARGS__)), 0)
#define UPDATE_EMPTY(now) assert_int_equal(update(now, NULL, 0), 0)

static void conn_end(const struct spec *s)
{
	struct ct_conn_end m = {
		.type = CT_MSG_CONN_END,
		.key = { .skaddr = s->sk, .pid = s->pid },
	};

	fill_conn(&m.conn, s);
	assert_int_equal(ct_acct_conn_end(&acct, &m), 0);
}

#define END(...) conn_end(&(const struct spec){ __VA_ARGS__ })

static const struct ct_share *find(uint64_t sk, uint32_t pid, uint64_t first)
{
	for (size_t i = 0; i < acct.nshares; i++) {
		const struct ct_share *s = &acct.shares[i];

		if (s->key.skaddr == sk && s->key.pid == pid &&
		    s->k.first_ns == first)
			return s;
	}
	return NULL;
}

/* The processes view, n rows; the row of pid copied to *out if present. */
static bool get_proc(uint32_t pid, struct ct_proc *out, int *n)
{
	struct ct_proc *p = NULL;
	int cnt = ct_acct_procs(&acct, &p);
	bool found = false;

	assert_true(cnt >= 0);
	for (int i = 0; i < cnt; i++) {
		if (p[i].pid != pid)
			continue;
		assert_false(found);	/* one row per process */
		found = true;
		*out = p[i];
	}
	if (n)
		*n = cnt;
	free(p);
	return found;
}

static struct ct_proc proc(uint32_t pid)
{
	struct ct_proc p;

	assert_true(get_proc(pid, &p, NULL));
	return p;
}

static int nprocs(void)
{
	struct ct_proc p;
	int n;

	get_proc(0xffffffff, &p, &n);
	return n;
}

static const struct ct_host *find_host(const char *ip)
{
	uint8_t addr[CT_ADDR_LEN] = { 0 };
	int family = strchr(ip, ':') ? AF_INET6 : AF_INET;

	assert_int_equal(inet_pton(family, ip, addr), 1);
	for (size_t i = 0; i < acct.nhosts; i++)
		if (acct.hosts[i].family == family &&
		    !memcmp(acct.hosts[i].addr, addr, sizeof(addr)))
			return &acct.hosts[i];
	return NULL;
}

#define assert_pair(v, tx, rx)					\
	do {							\
		assert_int_equal((v)[CT_TX], (tx));		\
		assert_int_equal((v)[CT_RX], (rx));		\
	} while (0)

static int setup(void **state)
{
	(void)state;
	return ct_acct_init(&acct);
}

static int teardown(void **state)
{
	(void)state;
	ct_acct_free(&acct);
	return 0;
}

/* --- totals and deltas --- */

static void test_first_update_counts_kernel_bytes(void **state)
{
	const struct ct_share *s;

	(void)state;
	UPDATE(T0, { .sk = 1, .pid = 10, .first = 5, .tx = 100, .rx = 200 });
	assert_int_equal(acct.nshares, 1);
	s = find(1, 10, 5);
	assert_non_null(s);
	assert_pair(s->total, 100, 200);
	assert_pair(s->delta, 100, 200);
	assert_int_equal(s->closed_ns, 0);
	assert_true(acct.interval_s == 0);
	assert_int_equal(acct.last_ns, T0);
	assert_int_equal(acct.evicted, 0);
}

static void test_second_update_deltas_are_differences(void **state)
{
	const struct ct_share *s;

	(void)state;
	UPDATE(SEC(0), { .sk = 1, .pid = 10, .first = 5, .tx = 100, .rx = 200 });
	UPDATE(SEC(1), { .sk = 1, .pid = 10, .first = 5, .tx = 150, .rx = 260 });
	s = find(1, 10, 5);
	assert_non_null(s);
	assert_pair(s->delta, 50, 60);
	assert_pair(s->total, 150, 260);
	assert_true(acct.interval_s == 1.0);
	assert_int_equal(acct.nshares, 1);
}

static void test_totals_grow_over_many_updates(void **state)
{
	const struct ct_share *s;

	(void)state;
	for (unsigned i = 0; i <= 10; i++)
		UPDATE(SEC(i), { .sk = 1, .pid = 10, .first = 5,
				 .tx = 1000 * i, .rx = 7 * i });
	s = find(1, 10, 5);
	assert_non_null(s);
	assert_pair(s->total, 10000, 70);
	assert_pair(s->delta, 1000, 7);
}

static void test_interval_follows_snapshot_times(void **state)
{
	(void)state;
	UPDATE_EMPTY(SEC(0));
	UPDATE_EMPTY(SEC(0) + NS / 2);
	assert_true(acct.interval_s == 0.5);
	UPDATE_EMPTY(SEC(3));
	assert_true(acct.interval_s == 2.5);
	/* A clock that does not move gives no interval, not a negative one. */
	UPDATE_EMPTY(SEC(3));
	assert_true(acct.interval_s == 0);
}

static void test_idle_time_grows_while_quiet(void **state)
{
	const struct ct_share *s;

	(void)state;
	UPDATE(SEC(0), { .sk = 1, .pid = 10, .first = 5, .tx = 100 });
	UPDATE(SEC(1), { .sk = 1, .pid = 10, .first = 5, .tx = 100 });
	UPDATE(SEC(3), { .sk = 1, .pid = 10, .first = 5, .tx = 100 });
	s = find(1, 10, 5);
	assert_int_equal(s->idle_ns, 3 * NS);
	assert_pair(s->delta, 0, 0);
	UPDATE(SEC(4), { .sk = 1, .pid = 10, .first = 5, .tx = 101 });
	s = find(1, 10, 5);
	assert_int_equal(s->idle_ns, 0);
	assert_pair(s->delta, 1, 0);
}

static void test_unsorted_snapshot_is_sorted(void **state)
{
	const struct ct_share *s;

	(void)state;
	UPDATE(SEC(0),
	       { .sk = 9, .pid = 1, .first = 1, .tx = 9 },
	       { .sk = 2, .pid = 7, .first = 1, .tx = 27 },
	       { .sk = 2, .pid = 3, .first = 1, .tx = 23 },
	       { .sk = 5, .pid = 1, .first = 1, .tx = 5 });
	assert_int_equal(acct.nshares, 4);
	for (size_t i = 1; i < acct.nshares; i++)
		assert_true(ct_conn_key_cmp(&acct.shares[i - 1].key,
					    &acct.shares[i].key) < 0);
	/* Another order next time still matches each entry with its own. */
	UPDATE(SEC(1),
	       { .sk = 5, .pid = 1, .first = 1, .tx = 15 },
	       { .sk = 2, .pid = 3, .first = 1, .tx = 33 },
	       { .sk = 9, .pid = 1, .first = 1, .tx = 19 },
	       { .sk = 2, .pid = 7, .first = 1, .tx = 37 });
	assert_int_equal(acct.nshares, 4);
	for (size_t i = 0; i < acct.nshares; i++)
		assert_int_equal(acct.shares[i].delta[CT_TX], 10);
	s = find(2, 7, 1);
	assert_int_equal(s->total[CT_TX], 37);
	assert_int_equal(acct.evicted, 0);
}

static void test_key_cmp_orders_by_skaddr_then_pid(void **state)
{
	struct ct_conn_key a = { .skaddr = 1, .pid = 9 };
	struct ct_conn_key b = { .skaddr = 2, .pid = 1 };
	struct ct_conn_key c = { .skaddr = 2, .pid = 3 };
	struct ct_conn_key c2 = { .skaddr = 2, .pid = 3, .pad = 77 };

	(void)state;
	assert_true(ct_conn_key_cmp(&a, &b) < 0);
	assert_true(ct_conn_key_cmp(&b, &a) > 0);
	assert_true(ct_conn_key_cmp(&b, &c) < 0);
	assert_int_equal(ct_conn_key_cmp(&c, &c2), 0);
}

static void test_new_socket_at_reused_key_is_new_share(void **state)
{
	const struct ct_share *s;
	struct ct_proc p;

	(void)state;
	UPDATE(SEC(0), { .sk = 1, .pid = 10, .first = 5, .tx = 1000, .rx = 2000 });
	/* Fewer bytes than before, but it is another socket altogether. */
	UPDATE(SEC(1), { .sk = 1, .pid = 10, .first = 7, .tx = 30, .rx = 40 });
	assert_int_equal(acct.nshares, 1);
	assert_null(find(1, 10, 5));
	s = find(1, 10, 7);
	assert_non_null(s);
	assert_pair(s->total, 30, 40);
	assert_pair(s->delta, 30, 40);
	assert_int_equal(acct.evicted, 1);
	p = proc(10);
	assert_int_equal(p.nconns, 1);
	assert_pair(p.total, 1030, 2040);
	assert_pair(p.delta, 30, 40);
}

static void test_counter_going_down_does_not_underflow(void **state)
{
	const struct ct_share *s;

	(void)state;
	UPDATE(SEC(0), { .sk = 1, .pid = 10, .first = 5, .tx = 1000, .rx = 1000 });
	UPDATE(SEC(1), { .sk = 1, .pid = 10, .first = 5, .tx = 10, .rx = 2000 });
	s = find(1, 10, 5);
	assert_non_null(s);
	/* Counted as an entry made anew: what it holds now is new. */
	assert_pair(s->delta, 10, 1000);
	assert_pair(s->total, 1010, 2000);
	assert_int_equal(acct.evicted, 0);
}

/* --- closes --- */

static void test_conn_end_live_share_adds_final_bytes(void **state)
{
	const struct ct_share *s;
	struct ct_proc p;

	(void)state;
	UPDATE(SEC(0), { .sk = 1, .pid = 10, .first = 5, .tx = 100, .rx = 200 });
	END(.sk = 1, .pid = 10, .first = 5, .tx = 150, .rx = 260);
	/* Queued: counted with the next snapshot, in which it is gone. */
	assert_false(find(1, 10, 5)->closed_ns);
	UPDATE_EMPTY(SEC(1));
	assert_int_equal(acct.nshares, 1);
	s = find(1, 10, 5);
	assert_non_null(s);
	assert_true(s->closed_ns != 0);
	assert_pair(s->total, 150, 260);
	assert_pair(s->delta, 50, 60);
	assert_int_equal(acct.evicted, 0);
	assert_int_equal(acct.deleted, 1);
	p = proc(10);
	assert_int_equal(p.nconns, 1);
	assert_pair(p.total, 150, 260);
}

static void test_closed_share_lingers_then_counts_once(void **state)
{
	const struct ct_share *s;
	struct ct_proc p;
	int n;

	(void)state;
	UPDATE(SEC(0), { .sk = 1, .pid = 10, .first = 5, .tx = 100, .rx = 200 });
	UPDATE(SEC(1), { .sk = 1, .pid = 10, .first = 5, .tx = 120, .rx = 230 });
	END(.sk = 1, .pid = 10, .first = 5, .tx = 150, .rx = 260);

	/* The kernel dropped it: still shown, closed, for a while. */
	UPDATE_EMPTY(SEC(2));
	s = find(1, 10, 5);
	assert_non_null(s);
	assert_true(s->closed_ns != 0);
	assert_pair(s->delta, 30, 30);
	assert_pair(s->total, 150, 260);
	assert_int_equal(acct.evicted, 0);
	assert_pair(proc(10).total, 150, 260);

	UPDATE_EMPTY(SEC(2) + CT_CLOSED_LINGER_NS - 1);
	assert_non_null(find(1, 10, 5));
	assert_pair(find(1, 10, 5)->delta, 0, 0);

	UPDATE_EMPTY(SEC(2) + CT_CLOSED_LINGER_NS);
	assert_int_equal(acct.nshares, 0);
	assert_int_equal(acct.evicted, 0);
	assert_true(get_proc(10, &p, &n));
	assert_int_equal(n, 1);
	assert_int_equal(p.nconns, 0);
	assert_pair(p.total, 150, 260);
	assert_pair(p.delta, 0, 0);

	/* Folded once, not at every later update. */
	UPDATE_EMPTY(SEC(30));
	UPDATE_EMPTY(SEC(60));
	assert_pair(proc(10).total, 150, 260);
}

static void test_conn_end_with_snapshot_is_not_evicted(void **state)
{
	struct ct_proc p;

	(void)state;
	UPDATE(SEC(0), { .sk = 1, .pid = 10, .first = 5, .tx = 100, .rx = 200 });
	/* Gone from the map, its close read after the snapshot: one update. */
	END(.sk = 1, .pid = 10, .first = 5, .tx = 130, .rx = 250);
	UPDATE_EMPTY(SEC(1));
	assert_int_equal(acct.evicted, 0);
	assert_int_equal(acct.deleted, 1);
	assert_int_equal(acct.nshares, 1);
	p = proc(10);
	assert_int_equal(p.nconns, 1);
	assert_pair(p.total, 130, 250);

	UPDATE_EMPTY(SEC(2));
	UPDATE_EMPTY(SEC(20));
	assert_int_equal(acct.nshares, 0);
	assert_int_equal(acct.evicted, 0);
	assert_pair(proc(10).total, 130, 250);
}

static void test_share_gone_without_close_is_evicted(void **state)
{
	(void)state;
	UPDATE(SEC(0), { .sk = 1, .pid = 10, .first = 5, .tx = 100, .rx = 200 });
	UPDATE_EMPTY(SEC(1));
	assert_int_equal(acct.nshares, 0);
	assert_int_equal(acct.evicted, 1);
	assert_pair(proc(10).total, 100, 200);
}

static void test_conn_end_unseen_shows_closed_share(void **state)
{
	const struct ct_share *s;
	struct ct_proc p;

	(void)state;
	UPDATE(SEC(0), { .sk = 1, .pid = 10, .first = 5, .tx = 1, .rx = 1 });
	/* Born and closed between two snapshots. */
	END(.sk = 2, .pid = 20, .first = 6, .tx = 70, .rx = 80);
	UPDATE(SEC(1), { .sk = 1, .pid = 10, .first = 5, .tx = 1, .rx = 1 });
	assert_int_equal(acct.nshares, 2);
	assert_true(ct_conn_key_cmp(&acct.shares[0].key, &acct.shares[1].key) < 0);
	s = find(2, 20, 6);
	assert_non_null(s);
	assert_true(s->closed_ns != 0);
	assert_pair(s->total, 70, 80);
	assert_pair(s->delta, 70, 80);
	p = proc(20);
	assert_int_equal(p.nconns, 1);
	assert_pair(p.total, 70, 80);

	UPDATE(SEC(2), { .sk = 1, .pid = 10, .first = 5, .tx = 1, .rx = 1 });
	assert_non_null(find(2, 20, 6));
	assert_pair(proc(20).total, 70, 80);
	assert_int_equal(acct.evicted, 0);

	UPDATE(SEC(1) + CT_CLOSED_LINGER_NS,
	       { .sk = 1, .pid = 10, .first = 5, .tx = 1, .rx = 1 });
	assert_null(find(2, 20, 6));
	assert_int_equal(acct.nshares, 1);
	p = proc(20);
	assert_int_equal(p.nconns, 0);
	assert_pair(p.total, 70, 80);
	UPDATE(SEC(30), { .sk = 1, .pid = 10, .first = 5, .tx = 1, .rx = 1 });
	assert_pair(proc(20).total, 70, 80);
	assert_int_equal(acct.evicted, 0);
}

static void test_conn_end_keeps_shares_sorted(void **state)
{
	(void)state;
	UPDATE(SEC(0),
	       { .sk = 1, .pid = 10, .first = 5 },
	       { .sk = 9, .pid = 10, .first = 5 });
	END(.sk = 5, .pid = 10, .first = 6, .tx = 1);
	END(.sk = 1, .pid = 10, .first = 9, .tx = 1);	/* same key, newer */
	UPDATE(SEC(1) - 1,
	       { .sk = 1, .pid = 10, .first = 5 },
	       { .sk = 9, .pid = 10, .first = 5 });
	assert_int_equal(acct.nshares, 4);
	assert_int_equal(acct.shares[0].key.skaddr, 1);
	assert_int_equal(acct.shares[0].k.first_ns, 5);
	assert_int_equal(acct.shares[1].key.skaddr, 1);
	assert_int_equal(acct.shares[1].k.first_ns, 9);
	assert_int_equal(acct.shares[2].key.skaddr, 5);
	assert_int_equal(acct.shares[3].key.skaddr, 9);
	/* The merge of the next update relies on that order. */
	UPDATE(SEC(1),
	       { .sk = 1, .pid = 10, .first = 5, .tx = 3 },
	       { .sk = 9, .pid = 10, .first = 5, .tx = 4 });
	assert_int_equal(acct.nshares, 4);
	assert_int_equal(acct.evicted, 0);
	assert_int_equal(find(1, 10, 5)->delta[CT_TX], 3);
	assert_int_equal(find(9, 10, 5)->delta[CT_TX], 4);
}

/* --- the kernel's own counters (the sampler's records) --- */

/* A connect()ed socket's iter/tcp record that moved tx and rx bytes. */
static struct ct_tcp_rec tcp_rec(uint64_t sk, uint64_t born, uint32_t pid,
				 uint64_t tx, uint64_t rx)
{
	struct ct_tcp_rec r;

	memset(&r, 0, sizeof(r));
	r.skaddr = sk;
	r.born_ns = born;
	r.family = AF_INET;
	r.state = TCP_ESTABLISHED;
	r.origin = CT_ORIGIN_CONNECT;
	r.tcp.bytes_acked = tx + 1;		/* our SYN */
	r.tcp.snd_una = r.tcp.write_seq = 1000;
	r.tcp.bytes_received = rx;
	r.tcp.rcv_nxt = r.tcp.copied_seq = 5000;
	r.owner.pid = pid;
	r.owner.src = pid ? CT_OWNER_CONNECT : CT_OWNER_LISTENER;
	snprintf(r.owner.comm, sizeof(r.owner.comm), "c%u", pid);
	return r;
}

static void update_recs(uint64_t now, const struct ct_tcp_rec *r, size_t n)
{
	struct ct_share *snap = calloc(n + 1, sizeof(*snap));
	size_t k = 0;

	assert_non_null(snap);
	for (size_t i = 0; i < n; i++)
		if (ct_sampler_rec_share(&r[i], false, &snap[k]))
			k++;
	assert_int_equal(ct_acct_update(&acct, snap, k, now), 0);
}

/* The CLOSE transition of the same socket after FIN_WAIT2, all acked. */
static void close_rec(uint64_t sk, uint64_t born, uint32_t pid, uint64_t tx,
		      uint64_t rx)
{
	struct ct_share sh;
	struct ct_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = CT_MSG_STATE;
	ev.skaddr = sk;
	ev.born_ns = born;
	ev.family = AF_INET;
	ev.oldstate = TCP_FIN_WAIT2;
	ev.newstate = TCP_CLOSE;
	ev.pid = pid;
	ev.owner_src = CT_OWNER_CLOSE;
	snprintf(ev.comm, sizeof(ev.comm), "c%u", pid);
	ev.tcp.bytes_acked = tx + 2;	/* SYN and FIN */
	ev.tcp.snd_una = ev.tcp.write_seq = 77;
	ev.tcp.bytes_received = rx;
	ev.tcp.rcv_nxt = ev.tcp.copied_seq = 88;
	assert_true(ct_sampler_close_share(&ev, &sh));
	assert_int_equal(ct_acct_end(&acct, &sh), 0);
}

static const struct ct_share *find_sock(uint64_t sk, uint64_t born)
{
	return find(sk, 0, born);
}

static void test_socket_closed_between_refreshes_is_exact(void **state)
{
	const struct ct_share *s;

	(void)state;
	update_recs(SEC(0), NULL, 0);
	close_rec(7, 55, 42, 12345, 678);
	update_recs(SEC(1), NULL, 0);
	s = find_sock(7, 55);
	assert_non_null(s);
	assert_int_equal(s->pid, 42);
	assert_true(s->closed_ns != 0);
	assert_pair(s->total, 12345, 678);
	assert_pair(s->delta, 12345, 678);
	assert_pair(proc(42).total, 12345, 678);
}

static void test_socket_close_after_snapshot_lingers(void **state)
{
	struct ct_tcp_rec r = tcp_rec(7, 55, 42, 100, 10);
	const struct ct_share *s;

	(void)state;
	update_recs(SEC(0), &r, 1);
	assert_pair(find_sock(7, 55)->total, 100, 10);
	/* Seen open by the walk, then its close read in the same refresh. */
	r = tcp_rec(7, 55, 42, 150, 20);
	close_rec(7, 55, 42, 160, 20);
	update_recs(SEC(1), &r, 1);
	s = find_sock(7, 55);
	assert_true(s->closed_ns != 0);
	assert_pair(s->total, 160, 20);
	assert_pair(s->delta, 60, 10);
	/* Still listed, with its final counts, for CT_CLOSED_LINGER_NS. */
	update_recs(SEC(3), NULL, 0);
	s = find_sock(7, 55);
	assert_non_null(s);
	assert_pair(s->total, 160, 20);
	assert_pair(s->delta, 0, 0);
	update_recs(SEC(1) + CT_CLOSED_LINGER_NS, NULL, 0);
	assert_null(find_sock(7, 55));
	assert_pair(proc(42).total, 160, 20);
	assert_int_equal(acct.evicted, 0);
	assert_int_equal(acct.unclosed, 0);
}

static void test_socket_counts_never_go_down(void **state)
{
	struct ct_tcp_rec r = tcp_rec(7, 55, 42, 500, 10);

	(void)state;
	update_recs(SEC(0), &r, 1);
	/* A reset dropped what was queued: the close says less than before. */
	close_rec(7, 55, 42, 300, 10);
	update_recs(SEC(1), NULL, 0);
	assert_pair(find_sock(7, 55)->total, 500, 10);
	assert_pair(find_sock(7, 55)->delta, 0, 0);
}

static void test_socket_owner_found_later_keeps_totals(void **state)
{
	struct ct_tcp_rec r = tcp_rec(7, 55, 0, 100, 0);
	const struct ct_share *s;

	(void)state;
	/* Only the listener's owner known: nobody is named. */
	update_recs(SEC(0), &r, 1);
	assert_int_equal(find_sock(7, 55)->pid, 0);
	r = tcp_rec(7, 55, 42, 300, 0);
	update_recs(SEC(1), &r, 1);
	s = find_sock(7, 55);
	assert_int_equal(s->pid, 42);
	assert_pair(s->total, 300, 0);
	assert_pair(s->delta, 200, 0);
	/* ...and a later record without an owner keeps the one found. */
	r = tcp_rec(7, 55, 0, 350, 0);
	update_recs(SEC(2), &r, 1);
	assert_int_equal(find_sock(7, 55)->pid, 42);
	assert_pair(proc(42).total, 350, 0);
}

static void test_socket_gone_without_close_is_unclosed(void **state)
{
	struct ct_tcp_rec r = tcp_rec(7, 55, 42, 100, 0);

	(void)state;
	update_recs(SEC(0), &r, 1);
	update_recs(SEC(1), NULL, 0);
	assert_null(find_sock(7, 55));
	assert_int_equal(acct.unclosed, 1);
	assert_int_equal(acct.evicted, 0);
	assert_pair(proc(42).total, 100, 0);
}

static void test_rec_share_skips_listeners_and_idle(void **state)
{
	struct ct_tcp_rec r = tcp_rec(7, 55, 42, 0, 0);
	struct ct_share sh;

	(void)state;
	assert_false(ct_sampler_rec_share(&r, false, &sh));
	r.state = TCP_LISTEN;
	r.tcp.bytes_received = 9;
	assert_false(ct_sampler_rec_share(&r, false, &sh));
	/* Accepted: no SYN of its own in bytes_acked. */
	r = tcp_rec(7, 55, 42, 10, 0);
	assert_true(ct_sampler_rec_share(&r, true, &sh));
	assert_int_equal(sh.k.bytes[CT_TX], 11);
	assert_int_equal(sh.src, CT_SHARE_SOCKET);
	assert_int_equal(sh.key.pid, 0);
	assert_int_equal(sh.k.first_ns, 55);
}

static bool keep_none(const struct ct_share *s, const void *ctx)
{
	(void)s;
	(void)ctx;
	return false;
}

static uint64_t tally_sock_retrans(const struct ct_tally *t, uint64_t sk,
				   uint64_t born)
{
	struct ct_tally_counts c;

	ct_tally_sock(t, sk, born, NULL, &c);
	return c.n[CT_TALLY_RETRANS];
}

/*
 * The kernel's retransmit count goes from a walk's record or a CLOSE with
 * its share into the tally, for the shares the views keep.
 */
static void test_shares_carry_the_kernel_retransmits(void **state)
{
	struct ct_tcp_rec r = tcp_rec(7, 55, 42, 100, 0);
	struct ct_tally_counts c;
	struct ct_tally t;
	struct ct_share sh;
	struct ct_event ev;

	(void)state;
	assert_int_equal(ct_tally_init(&t), 0);
	/* A record of a recording older than the field: nothing read. */
	r.total_retrans = 3;
	assert_true(ct_sampler_rec_share(&r, false, &sh));
	assert_int_equal(sh.retrans_ns, 0);
	ct_sampler_tally_kernel(&t, &acct, &sh);
	assert_int_equal(t.socks.len, 0);
	r.flags |= CT_EV_TOTAL_RETRANS;
	r.read_ns = SEC(1);
	assert_true(ct_sampler_rec_share(&r, false, &sh));
	assert_int_equal(sh.retrans_ns, SEC(1));
	assert_int_equal(sh.total_retrans, 3);
	ct_sampler_tally_kernel(&t, &acct, &sh);
	assert_int_equal(tally_sock_retrans(&t, 7, 55), 3);
	ct_tally_proc(&t, 42, &c);
	assert_int_equal(c.n[CT_TALLY_RETRANS], 3);

	/* Its CLOSE, read at the transition. */
	memset(&ev, 0, sizeof(ev));
	ev.type = CT_MSG_STATE;
	ev.skaddr = 7;
	ev.born_ns = 55;
	ev.ts_ns = SEC(2);
	ev.family = AF_INET;
	ev.oldstate = TCP_ESTABLISHED;
	ev.newstate = TCP_CLOSE;
	ev.pid = 42;
	ev.owner_src = CT_OWNER_CLOSE;
	ev.tcp.bytes_acked = 101;
	ev.flags = CT_EV_TOTAL_RETRANS;
	ev.total_retrans = 8;
	assert_true(ct_sampler_close_share(&ev, &sh));
	assert_int_equal(sh.retrans_ns, SEC(2));
	ct_sampler_tally_kernel(&t, &acct, &sh);
	assert_int_equal(tally_sock_retrans(&t, 7, 55), 8);

	/* A share the views do not keep stays out. */
	acct.keep = keep_none;
	r = tcp_rec(9, 55, 42, 100, 0);
	r.flags |= CT_EV_TOTAL_RETRANS;
	r.read_ns = SEC(3);
	r.total_retrans = 5;
	assert_true(ct_sampler_rec_share(&r, false, &sh));
	ct_sampler_tally_kernel(&t, &acct, &sh);
	acct.keep = NULL;
	assert_null(u64map_get(&t.socks, 9));
	ct_tally_proc(&t, 42, &c);
	assert_int_equal(c.n[CT_TALLY_RETRANS], 8);
	ct_tally_free(&t);
}

/* --- processes --- */

static void test_procs_aggregate_one_pid(void **state)
{
	struct ct_proc p;
	int n;

	(void)state;
	UPDATE(SEC(0),
	       { .sk = 1, .pid = 10, .first = 1, .tx = 100, .rx = 10 },
	       { .sk = 2, .pid = 10, .first = 1, .tx = 200, .rx = 20 },
	       { .sk = 3, .pid = 10, .first = 1, .tx = 300, .rx = 30 });
	UPDATE(SEC(1),
	       { .sk = 1, .pid = 10, .first = 1, .tx = 101, .rx = 10 },
	       { .sk = 2, .pid = 10, .first = 1, .tx = 202, .rx = 20 },
	       { .sk = 3, .pid = 10, .first = 1, .tx = 303, .rx = 40 });
	assert_true(get_proc(10, &p, &n));
	assert_int_equal(n, 1);
	assert_int_equal(p.nconns, 3);
	assert_pair(p.total, 606, 70);
	assert_pair(p.delta, 6, 10);
	assert_string_equal(p.comm, "app");
}

static void test_procs_two_pids_stay_separate(void **state)
{
	struct ct_proc p;
	int n;

	(void)state;
	UPDATE(SEC(0),
	       { .sk = 1, .pid = 10, .first = 1, .tx = 100, .rx = 10, .comm = "curl" },
	       { .sk = 2, .pid = 20, .first = 1, .tx = 200, .rx = 20, .comm = "wget" },
	       { .sk = 3, .pid = 10, .first = 1, .tx = 300, .rx = 30, .comm = "curl" });
	assert_true(get_proc(10, &p, &n));
	assert_int_equal(n, 2);
	assert_int_equal(p.nconns, 2);
	assert_pair(p.total, 400, 40);
	assert_string_equal(p.comm, "curl");
	p = proc(20);
	assert_int_equal(p.nconns, 1);
	assert_pair(p.total, 200, 20);
	assert_string_equal(p.comm, "wget");
}

static void test_procs_shared_socket_counts_own_share(void **state)
{
	struct ct_proc p;

	(void)state;
	/* One socket, used by a parent and its child. */
	UPDATE(SEC(0),
	       { .sk = 7, .pid = 10, .first = 1, .tx = 100, .rx = 1000 },
	       { .sk = 7, .pid = 20, .first = 1, .tx = 5, .rx = 50 });
	UPDATE(SEC(1),
	       { .sk = 7, .pid = 10, .first = 1, .tx = 100, .rx = 1500 },
	       { .sk = 7, .pid = 20, .first = 1, .tx = 8, .rx = 50 });
	assert_int_equal(acct.nshares, 2);
	assert_int_equal(nprocs(), 2);
	p = proc(10);
	assert_int_equal(p.nconns, 1);
	assert_pair(p.total, 100, 1500);
	assert_pair(p.delta, 0, 500);
	p = proc(20);
	assert_int_equal(p.nconns, 1);
	assert_pair(p.total, 8, 50);
	assert_pair(p.delta, 3, 0);
}

static void test_procs_live_and_gone_add_up(void **state)
{
	struct ct_proc p;

	(void)state;
	UPDATE(SEC(0),
	       { .sk = 1, .pid = 10, .first = 1, .tx = 100 },
	       { .sk = 2, .pid = 10, .first = 1, .tx = 10 });
	UPDATE(SEC(1), { .sk = 2, .pid = 10, .first = 1, .tx = 15 });
	p = proc(10);
	assert_int_equal(p.nconns, 1);
	assert_pair(p.total, 115, 0);
	assert_pair(p.delta, 5, 0);
}

static void test_procs_empty(void **state)
{
	struct ct_proc *p = NULL;

	(void)state;
	assert_int_equal(ct_acct_procs(&acct, &p), 0);
	free(p);
	UPDATE_EMPTY(SEC(0));
	assert_int_equal(nprocs(), 0);
	assert_int_equal(acct.nhosts, 0);
}

/* --- hosts --- */

static void test_hosts_aggregate_by_remote_address(void **state)
{
	const struct ct_host *h;

	(void)state;
	UPDATE(SEC(0),
	       { .sk = 1, .pid = 10, .first = 1, .tx = 100, .rx = 1, .raddr = "10.0.0.1" },
	       { .sk = 2, .pid = 20, .first = 1, .tx = 200, .rx = 2, .raddr = "10.0.0.1" },
	       { .sk = 3, .pid = 10, .first = 1, .tx = 400, .rx = 4, .raddr = "10.0.0.2" },
	       { .sk = 4, .pid = 10, .first = 1, .tx = 800, .rx = 8, .raddr = "2001:db8::1" });
	assert_int_equal(acct.nhosts, 3);
	/* Sorted by family, then address. */
	assert_int_equal(acct.hosts[0].family, AF_INET);
	assert_int_equal(acct.hosts[1].family, AF_INET);
	assert_int_equal(acct.hosts[2].family, AF_INET6);
	assert_ptr_equal(find_host("10.0.0.1"), &acct.hosts[0]);
	h = find_host("10.0.0.1");
	assert_int_equal(h->nconns, 2);
	assert_pair(h->total, 300, 3);
	assert_pair(h->delta, 300, 3);
	h = find_host("10.0.0.2");
	assert_int_equal(h->nconns, 1);
	assert_pair(h->total, 400, 4);
	h = find_host("2001:db8::1");
	assert_int_equal(h->nconns, 1);
	assert_pair(h->total, 800, 8);

	UPDATE(SEC(1),
	       { .sk = 1, .pid = 10, .first = 1, .tx = 110, .rx = 1, .raddr = "10.0.0.1" },
	       { .sk = 2, .pid = 20, .first = 1, .tx = 220, .rx = 2, .raddr = "10.0.0.1" },
	       { .sk = 3, .pid = 10, .first = 1, .tx = 400, .rx = 4, .raddr = "10.0.0.2" },
	       { .sk = 4, .pid = 10, .first = 1, .tx = 800, .rx = 9, .raddr = "2001:db8::1" });
	assert_int_equal(acct.nhosts, 3);
	h = find_host("10.0.0.1");
	assert_pair(h->delta, 30, 0);
	assert_pair(h->total, 330, 3);
	assert_int_equal(h->len, 2);
	assert_pair(find_host("2001:db8::1")->delta, 0, 1);
}

/* A sample of the interval from the sample before (or 5 s long) to ts. */
static void push(struct ct_host *h, uint64_t ts, uint64_t tx, uint64_t rx)
{
	struct ct_host_sample *s = &h->hist[h->head];
	const struct ct_host_sample *before =
		&h->hist[(h->head + CT_HISTORY - 1) % CT_HISTORY];

	s->start_ns = h->len ? before->ts_ns : ts - 5 * NS;
	s->ts_ns = ts;
	s->bytes[CT_TX] = tx;
	s->bytes[CT_RX] = rx;
	h->head = (h->head + 1) % CT_HISTORY;
	if (h->len < CT_HISTORY)
		h->len++;
}

static void test_host_window_sums_samples_in_window(void **state)
{
	static struct ct_host h;
	const uint64_t now = SEC(100);
	double out[2];

	(void)state;
	memset(&h, 0, sizeof(h));
	h.head = CT_HISTORY - 3;	/* so that the ring wraps */
	push(&h, now - 45 * NS, 640, 6400);	/* out of every window */
	push(&h, now - 40 * NS, 5000, 50000);	/* on the edge: out */
	push(&h, now - 30 * NS, 320, 3200);
	push(&h, now - 10 * NS, 1000, 10000);	/* on the 10 s edge: out */
	push(&h, now - 99 * NS / 10, 160, 1600);
	push(&h, now - 5 * NS, 80, 800);
	push(&h, now - 2 * NS, 40, 400);	/* on the 2 s edge: out */
	push(&h, now - 3 * NS / 2, 20, 200);
	push(&h, now - NS / 2, 10, 100);
	assert_int_equal(h.len, 9);

	ct_host_window(&h, now, 2, out);
	assert_true(out[CT_TX] == 30.0 / 2);
	assert_true(out[CT_RX] == 300.0 / 2);
	ct_host_window(&h, now, 10, out);
	assert_true(out[CT_TX] == 310.0 / 10);
	assert_true(out[CT_RX] == 3100.0 / 10);
	ct_host_window(&h, now, 40, out);
	assert_true(out[CT_TX] == 1630.0 / 40);
	assert_true(out[CT_RX] == 16300.0 / 40);
}

static void test_host_window_empty_and_early(void **state)
{
	static struct ct_host h;
	double out[2] = { -1, -1 };

	(void)state;
	memset(&h, 0, sizeof(h));
	ct_host_window(&h, SEC(0), 2, out);
	assert_true(out[CT_TX] == 0 && out[CT_RX] == 0);
	/*
	 * Less than a window since the accounting began: the rate is over the
	 * time since then, not over the whole window (which showed a steady
	 * stream at a fraction of its rate for the first 40 s).
	 */
	h.from_ns = NS / 4;
	push(&h, NS / 2, 8, 4);
	ct_host_window(&h, NS, 40, out);
	assert_true(out[CT_TX] == 8.0 / 0.75);
	assert_true(out[CT_RX] == 4.0 / 0.75);
}

/* An interval longer than the window: its rate, not more. */
static void test_host_window_long_interval_counts_whole(void **state)
{
	static struct ct_host h;
	double out[2];

	(void)state;
	memset(&h, 0, sizeof(h));
	push(&h, SEC(10), 0, 0);
	push(&h, SEC(14), 4000, 400);
	ct_host_window(&h, SEC(14), 2, out);
	assert_true(out[CT_TX] == 1000.0 && out[CT_RX] == 100.0);
}

/*
 * A steady stream of short connections, each seen only by its close: the
 * windows show its rate from the first refresh on, and bytes moved before
 * the first snapshot (a connection already open) are in no window.
 */
static void test_host_windows_from_first_refresh(void **state)
{
	const struct ct_host *h;

	(void)state;
	UPDATE(SEC(0), { .sk = 9, .pid = 10, .first = 1, .tx = 1000000,
			 .raddr = "10.0.0.2" });
	conn_end(&(struct spec){ .sk = 1, .pid = 10, .first = 2, .tx = 5000,
				 .rx = 20000 });
	conn_end(&(struct spec){ .sk = 2, .pid = 10, .first = 3, .tx = 5000,
				 .rx = 20000 });
	UPDATE(SEC(1), { .sk = 9, .pid = 10, .first = 1, .tx = 1000000,
			 .raddr = "10.0.0.2" });
	h = find_host("10.0.0.1");
	assert_non_null(h);
	for (int w = 0; w < CT_WINDOWS; w++) {
		assert_true(h->avg[w][CT_TX] == 10000.0);
		assert_true(h->avg[w][CT_RX] == 40000.0);
	}
	assert_pair(h->total, 10000, 40000);
	h = find_host("10.0.0.2");
	assert_non_null(h);
	for (int w = 0; w < CT_WINDOWS; w++)
		assert_true(h->avg[w][CT_TX] == 0 && h->avg[w][CT_RX] == 0);
}

static void test_host_window_keeps_last_history_samples(void **state)
{
	static struct ct_host h;
	double out[2];

	(void)state;
	memset(&h, 0, sizeof(h));
	/* 1 s apart: the oldest fall out of the ring, then of the window. */
	for (unsigned i = 1; i <= CT_HISTORY + 10; i++)
		push(&h, SEC(i), i, 1);
	assert_int_equal(h.len, CT_HISTORY);
	ct_host_window(&h, SEC(CT_HISTORY + 10), 40, out);
	/* The last 40 samples: i = CT_HISTORY - 29 .. CT_HISTORY + 10 */
	assert_true(out[CT_TX] ==
		    (double)((2 * CT_HISTORY - 19) * 40 / 2) / 40);
	assert_true(out[CT_RX] == 1.0);
}

static void test_host_averages_after_updates(void **state)
{
	const struct ct_host *h;
	uint64_t tx = 0, rx = 0;

	(void)state;
	UPDATE(SEC(0), { .sk = 1, .pid = 10, .first = 1 });
	/* In second i, 10 * i bytes sent and i received. */
	for (unsigned i = 1; i <= 12; i++) {
		tx += 10 * i;
		rx += i;
		UPDATE(SEC(i), { .sk = 1, .pid = 10, .first = 1, .tx = tx, .rx = rx });
	}
	h = find_host("10.0.0.1");
	assert_non_null(h);
	assert_int_equal(h->len, 13);
	assert_pair(h->delta, 120, 12);
	/* 2 s: seconds 11 and 12; 10 s: 3 to 12; 40 s: all of them. */
	assert_true(h->avg[0][CT_TX] == (110.0 + 120) / 2);
	assert_true(h->avg[0][CT_RX] == (11.0 + 12) / 2);
	assert_true(h->avg[1][CT_TX] == 750.0 / 10);
	assert_true(h->avg[1][CT_RX] == 75.0 / 10);
	/* 40 s: all of them, over the 12 s since the first snapshot. */
	assert_true(h->avg[2][CT_TX] == 780.0 / 12);
	assert_true(h->avg[2][CT_RX] == 78.0 / 12);
	assert_int_equal(ct_window_s[0], 2);
	assert_int_equal(ct_window_s[1], 10);
	assert_int_equal(ct_window_s[2], 40);
}

static void test_quiet_host_lingers_for_40s(void **state)
{
	const struct ct_host *h;

	(void)state;
	UPDATE(SEC(0), { .sk = 1, .pid = 10, .first = 1 });
	UPDATE(SEC(1), { .sk = 1, .pid = 10, .first = 1, .tx = 100 });
	UPDATE_EMPTY(SEC(2));		/* its only connection is gone */
	h = find_host("10.0.0.1");
	assert_non_null(h);
	assert_int_equal(h->nconns, 0);
	assert_pair(h->delta, 0, 0);
	assert_true(h->avg[2][CT_TX] == 100.0 / 2);	/* 2 s seen so far */

	UPDATE_EMPTY(SEC(40));		/* the sample of second 1 is in */
	h = find_host("10.0.0.1");
	assert_non_null(h);
	assert_true(h->avg[2][CT_TX] == 100.0 / 40);
	assert_true(h->avg[0][CT_TX] == 0);

	UPDATE_EMPTY(SEC(41));		/* and now out */
	assert_null(find_host("10.0.0.1"));
	assert_int_equal(acct.nhosts, 0);
}

static void test_host_without_bytes_kept_while_connected(void **state)
{
	(void)state;
	UPDATE(SEC(0), { .sk = 1, .pid = 10, .first = 1 });
	UPDATE(SEC(100), { .sk = 1, .pid = 10, .first = 1 });
	assert_non_null(find_host("10.0.0.1"));
	assert_int_equal(find_host("10.0.0.1")->nconns, 1);
	UPDATE_EMPTY(SEC(101));
	assert_null(find_host("10.0.0.1"));
}

/* --- counts only (export) --- */

static void test_counts_only_closed_share_leaves_at_next_update(void **state)
{
	const struct ct_share *s;

	(void)state;
	acct.counts_only = true;
	UPDATE(SEC(0), { .sk = 1, .pid = 10, .first = 5, .tx = 100, .rx = 200 },
	       { .sk = 2, .pid = 11, .first = 6, .tx = 1, .rx = 1 });
	END(.sk = 1, .pid = 10, .first = 5, .tx = 150, .rx = 260);
	UPDATE(SEC(1), { .sk = 2, .pid = 11, .first = 6, .tx = 2, .rx = 3 });
	/* The close's last bytes are in the update that reads it... */
	s = find(1, 10, 5);
	assert_non_null(s);
	assert_pair(s->delta, 50, 60);
	assert_int_equal(acct.nhosts, 0);
	/* ...and nothing of it is kept after, though pid 10 is gone. */
	UPDATE(SEC(2), { .sk = 2, .pid = 11, .first = 6, .tx = 2, .rx = 3 });
	assert_null(find(1, 10, 5));
	assert_int_equal(acct.nshares, 1);
	assert_int_equal(acct.gone.len, 0);
	assert_int_equal(acct.gone_groups.len, 0);
	assert_int_equal(acct.nhosts, 0);
	assert_int_equal(acct.unclosed + acct.evicted, 0);
}

static void test_counts_only_keeps_no_totals_of_many_pids(void **state)
{
	(void)state;
	acct.counts_only = true;
	/* A pid a second, each closing one connection: nothing piles up. */
	for (uint32_t i = 0; i < 1000; i++) {
		END(.sk = 100 + i, .pid = 1000 + i, .first = 5, .tx = 10, .rx = 10);
		UPDATE_EMPTY(SEC(i));
		assert_true(acct.nshares <= 1);
	}
	assert_int_equal(acct.gone.len, 0);
	assert_int_equal(acct.gone_groups.len, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_first_update_counts_kernel_bytes),
		T(test_second_update_deltas_are_differences),
		T(test_totals_grow_over_many_updates),
		T(test_interval_follows_snapshot_times),
		T(test_idle_time_grows_while_quiet),
		T(test_unsorted_snapshot_is_sorted),
		T(test_key_cmp_orders_by_skaddr_then_pid),
		T(test_new_socket_at_reused_key_is_new_share),
		T(test_counter_going_down_does_not_underflow),
		T(test_conn_end_live_share_adds_final_bytes),
		T(test_closed_share_lingers_then_counts_once),
		T(test_conn_end_with_snapshot_is_not_evicted),
		T(test_share_gone_without_close_is_evicted),
		T(test_socket_closed_between_refreshes_is_exact),
		T(test_socket_close_after_snapshot_lingers),
		T(test_socket_counts_never_go_down),
		T(test_socket_owner_found_later_keeps_totals),
		T(test_socket_gone_without_close_is_unclosed),
		T(test_rec_share_skips_listeners_and_idle),
		T(test_shares_carry_the_kernel_retransmits),
		T(test_conn_end_unseen_shows_closed_share),
		T(test_conn_end_keeps_shares_sorted),
		T(test_procs_aggregate_one_pid),
		T(test_procs_two_pids_stay_separate),
		T(test_procs_shared_socket_counts_own_share),
		T(test_procs_live_and_gone_add_up),
		T(test_procs_empty),
		T(test_hosts_aggregate_by_remote_address),
		T(test_host_window_sums_samples_in_window),
		T(test_host_window_empty_and_early),
		T(test_host_window_keeps_last_history_samples),
		T(test_host_window_long_interval_counts_whole),
		T(test_host_windows_from_first_refresh),
		T(test_host_averages_after_updates),
		T(test_quiet_host_lingers_for_40s),
		T(test_host_without_bytes_kept_while_connected),
		T(test_counts_only_closed_share_leaves_at_next_update),
		T(test_counts_only_keeps_no_totals_of_many_pids),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
