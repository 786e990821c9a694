// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine/events.h"
#include "output/format.h"
#include "engine/netns.h"
#include "engine/owners.h"

#define MS 1000000ULL
#define MAX_LINES 80

struct fixture {
	struct ct_events e;
	struct ct_line lines[MAX_LINES];
	int n;
	uint64_t spin_ns;	/* each line takes this long to print */
};

static void capture(const struct ct_line *l, void *ctx)
{
	struct fixture *fx = ctx;

	assert_true(fx->n < MAX_LINES);
	fx->lines[fx->n++] = *l;
	for (uint64_t t = ct_monotonic_ns(); ct_monotonic_ns() - t < fx->spin_ns;)
		;
}

static void start(struct fixture *fx, const struct ct_kfilter *f)
{
	static const struct ct_kfilter none;

	ct_events_free(&fx->e);
	fx->n = 0;
	assert_int_equal(ct_events_init(&fx->e, NULL, -1, f ? f : &none,
					capture, fx),
			 0);
}

static int setup(void **state)
{
	static struct fixture fx;

	memset(&fx, 0, sizeof(fx));
	if (ct_events_init(&fx.e, NULL, -1, &(struct ct_kfilter){ 0 }, capture,
			   &fx))
		return -1;
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	ct_events_free(&fx->e);
	return 0;
}

/* An event of curl (pid 4242) talking from 10.0.0.1:40000 to 10.0.0.2:80. */
static struct ct_event event(int old, int new)
{
	struct ct_event ev = {
		.ts_ns = 5000 * MS,
		.skaddr = 0xffff888012345600ULL,
		.delta_ns = 3 * MS,
		.ino = 777,
		.pid = 4242,
		.netns = 0,
		.family = AF_INET,
		.sport = 40000,
		.dport = 80,
		.oldstate = (uint8_t)old,
		.newstate = (uint8_t)new,
		.owner_src = CT_OWNER_CONNECT,
		.flags = CT_EV_DELTA_KNOWN | CT_EV_HAS_FILE,
		.saddr = { 10, 0, 0, 1 },
		.daddr = { 10, 0, 0, 2 },
		.comm = "curl",
	};

	return ev;
}

static void assert_line(const struct ct_line *l, int old, int new)
{
	assert_int_equal(l->ev.oldstate, old);
	assert_int_equal(l->ev.newstate, new);
}

/* ct_filter_match */

static void test_filter_zero_passes_all(void **state)
{
	struct ct_kfilter f = { 0 };
	struct ct_event ev = event(TCP_ESTABLISHED, TCP_CLOSE_WAIT);

	(void)state;
	assert_true(ct_filter_match(&f, &ev));
	ev.pid = 0;
	ev.comm[0] = 0;
	assert_true(ct_filter_match(&f, &ev));
}

static void test_filter_pid(void **state)
{
	struct ct_kfilter f = { .pid = 4242 };
	struct ct_event ev = event(TCP_ESTABLISHED, TCP_CLOSE_WAIT);

	(void)state;
	assert_true(ct_filter_match(&f, &ev));
	ev.pid = 4243;
	assert_false(ct_filter_match(&f, &ev));
	ev.pid = 0;
	assert_false(ct_filter_match(&f, &ev));
}

static void test_filter_comm(void **state)
{
	struct ct_kfilter f = { .comm = "curl" };
	struct ct_event ev = event(TCP_ESTABLISHED, TCP_CLOSE_WAIT);

	(void)state;
	assert_true(ct_filter_match(&f, &ev));
	strcpy(ev.comm, "curly");
	assert_false(ct_filter_match(&f, &ev));
	strcpy(ev.comm, "cur");
	assert_false(ct_filter_match(&f, &ev));
}

static void test_filter_comm_needs_known_owner(void **state)
{
	struct ct_kfilter f = { .comm = "curl" };
	struct ct_event ev = event(TCP_ESTABLISHED, TCP_CLOSE_WAIT);

	(void)state;
	ev.pid = 0;
	assert_false(ct_filter_match(&f, &ev));
}

static void test_filter_comm_full_length(void **state)
{
	struct ct_kfilter f = { .comm = "abcdefghijklmno" };
	struct ct_event ev = event(TCP_ESTABLISHED, TCP_CLOSE_WAIT);

	(void)state;
	memcpy(ev.comm, "abcdefghijklmno", 16);
	assert_true(ct_filter_match(&f, &ev));
}

static void test_filter_port_either_side(void **state)
{
	struct ct_kfilter f = { .port = 80 };
	struct ct_event ev = event(TCP_ESTABLISHED, TCP_CLOSE_WAIT);

	(void)state;
	assert_true(ct_filter_match(&f, &ev));	/* dport */
	f.port = 40000;
	assert_true(ct_filter_match(&f, &ev));	/* sport */
	f.port = 443;
	assert_false(ct_filter_match(&f, &ev));
}

static void test_filter_family(void **state)
{
	struct ct_kfilter f = { .family = AF_INET };
	struct ct_event ev = event(TCP_ESTABLISHED, TCP_CLOSE_WAIT);

	(void)state;
	assert_true(ct_filter_match(&f, &ev));
	f.family = AF_INET6;
	assert_false(ct_filter_match(&f, &ev));
}

static void test_filter_all_must_match(void **state)
{
	struct ct_kfilter f = {
		.pid = 4242, .port = 80, .family = AF_INET, .comm = "curl"
	};
	struct ct_event ev = event(TCP_ESTABLISHED, TCP_CLOSE_WAIT);

	(void)state;
	assert_true(ct_filter_match(&f, &ev));
	ev.dport = 81;
	assert_false(ct_filter_match(&f, &ev));
}

/* ct_events_handle and friends, with no owners and no socket map */

static void test_plain_event_emitted_once(void **state)
{
	struct fixture *fx = *state;
	struct ct_event ev = event(TCP_ESTABLISHED, TCP_CLOSE_WAIT);
	const struct ct_line *l = &fx->lines[0];

	ct_events_handle(&fx->e, &ev);
	assert_int_equal(fx->n, 1);
	assert_line(l, TCP_ESTABLISHED, TCP_CLOSE_WAIT);
	assert_int_equal(l->ev.pid, 4242);
	assert_string_equal(l->ev.comm, "curl");
	assert_int_equal(l->ev.owner_src, CT_OWNER_CONNECT);
	assert_int_equal(l->ev.sport, 40000);
	assert_true(l->ts_ns == ev.ts_ns);
	assert_true(l->delta_known);
	assert_true(l->delta_ns == 3 * MS);
	assert_false(l->derived);
}

static void test_delta_unknown_passed_on(void **state)
{
	struct fixture *fx = *state;
	struct ct_event ev = event(TCP_ESTABLISHED, TCP_CLOSE_WAIT);

	ev.flags &= (uint8_t)~CT_EV_DELTA_KNOWN;
	ct_events_handle(&fx->e, &ev);
	assert_int_equal(fx->n, 1);
	assert_false(fx->lines[0].delta_known);
}

static void test_unknown_owner_not_guessed(void **state)
{
	struct fixture *fx = *state;
	struct ct_event ev = event(TCP_ESTABLISHED, TCP_CLOSE_WAIT);
	static const char zero[CT_COMM_LEN];

	/* Whatever the kernel left in pid/comm is not a trusted owner. */
	ev.owner_src = CT_OWNER_NONE;
	ct_events_handle(&fx->e, &ev);
	assert_int_equal(fx->n, 1);
	assert_int_equal(fx->lines[0].ev.pid, 0);
	assert_int_equal(fx->lines[0].ev.owner_src, CT_OWNER_NONE);
	assert_memory_equal(fx->lines[0].ev.comm, zero, sizeof(zero));
}

static void test_accepted_listener_owner_reresolved(void **state)
{
	struct fixture *fx = *state;
	struct ct_event ev = event(TCP_ESTABLISHED, TCP_CLOSE_WAIT);

	/* Without owner resolution, an inherited owner of an accepted socket
	 * cannot be confirmed, so it becomes unknown. */
	ev.owner_src = CT_OWNER_LISTENER;
	ct_events_handle(&fx->e, &ev);
	assert_int_equal(fx->n, 1);
	assert_int_equal(fx->lines[0].ev.pid, 0);
}

static void test_listener_owner_kept_before_accept(void **state)
{
	struct fixture *fx = *state;
	struct ct_event ev = event(TCP_SYN_RECV, TCP_ESTABLISHED);

	ev.owner_src = CT_OWNER_LISTENER;
	ev.flags &= (uint8_t)~CT_EV_HAS_FILE;
	ev.ino = 0;
	ct_events_handle(&fx->e, &ev);
	assert_int_equal(fx->n, 1);
	assert_int_equal(fx->lines[0].ev.pid, 4242);
	assert_int_equal(fx->lines[0].ev.owner_src, CT_OWNER_LISTENER);
}

static void test_syn_sent_without_port_held(void **state)
{
	struct fixture *fx = *state;
	struct ct_event ev = event(TCP_CLOSE, TCP_SYN_SENT);

	ev.sport = 0;
	ct_events_handle(&fx->e, &ev);
	assert_int_equal(fx->n, 0);
}

static void test_syn_sent_with_port_not_held(void **state)
{
	struct fixture *fx = *state;
	struct ct_event ev = event(TCP_CLOSE, TCP_SYN_SENT);

	ct_events_handle(&fx->e, &ev);
	assert_int_equal(fx->n, 1);
	assert_line(&fx->lines[0], TCP_CLOSE, TCP_SYN_SENT);
}

static void test_held_port_filled_by_next_event(void **state)
{
	struct fixture *fx = *state;
	struct ct_event syn = event(TCP_CLOSE, TCP_SYN_SENT);
	struct ct_event est = event(TCP_SYN_SENT, TCP_ESTABLISHED);

	/* Before the port is bound the local address is not known either. */
	syn.sport = 0;
	memset(syn.saddr, 0, sizeof(syn.saddr));
	est.sport = 5555;
	est.ts_ns = syn.ts_ns + MS;
	ct_events_handle(&fx->e, &syn);
	ct_events_handle(&fx->e, &est);
	assert_int_equal(fx->n, 2);
	assert_line(&fx->lines[0], TCP_CLOSE, TCP_SYN_SENT);
	assert_int_equal(fx->lines[0].ev.sport, 5555);
	assert_memory_equal(fx->lines[0].ev.saddr, est.saddr, 4);
	assert_true(fx->lines[0].ts_ns == syn.ts_ns);
	assert_line(&fx->lines[1], TCP_SYN_SENT, TCP_ESTABLISHED);
	assert_int_equal(fx->lines[1].ev.sport, 5555);
}

static void test_held_port_needs_same_socket(void **state)
{
	struct fixture *fx = *state;
	struct ct_event syn = event(TCP_CLOSE, TCP_SYN_SENT);
	struct ct_event other = event(TCP_ESTABLISHED, TCP_FIN_WAIT1);

	syn.sport = 0;
	other.skaddr = syn.skaddr + 0x100;
	ct_events_handle(&fx->e, &syn);
	ct_events_handle(&fx->e, &other);
	assert_int_equal(fx->n, 1);
	assert_line(&fx->lines[0], TCP_ESTABLISHED, TCP_FIN_WAIT1);
	ct_events_flush(&fx->e);
	assert_int_equal(fx->n, 2);
	assert_line(&fx->lines[1], TCP_CLOSE, TCP_SYN_SENT);
}

/*
 * A connect() line due without its port, whose later records were lost:
 * the port comes from the kernel's entry of the same socket (same cookie),
 * and a socket gone from it, or another socket at its address, gives none.
 */
static void test_late_port_from_kernel_entry(void **state)
{
	struct fixture *fx = *state;
	struct ct_event syn = event(TCP_CLOSE, TCP_SYN_SENT);
	struct ct_sock s = { .cookie = 99, .sport = 4321 };
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, NULL, sizeof(uint64_t),
				sizeof(struct ct_sock), 4, NULL);

	if (fd < 0) {
		print_message("no BPF map (%s): skipping\n", strerror(errno));
		skip();
	}
	ct_events_free(&fx->e);
	fx->n = 0;
	assert_int_equal(ct_events_init(&fx->e, NULL, fd,
					&(struct ct_kfilter){ 0 }, capture, fx), 0);
	syn.sport = 0;
	syn.cookie = 99;
	assert_int_equal(bpf_map_update_elem(fd, &syn.skaddr, &s, BPF_ANY), 0);
	ct_events_handle(&fx->e, &syn);
	ct_events_tick(&fx->e, syn.ts_ns + 200 * MS, 1000);
	assert_int_equal(fx->n, 1);
	assert_int_equal(fx->lines[0].ev.sport, 4321);

	/* Another socket now at the address: not its port. */
	s.cookie = 100;
	assert_int_equal(bpf_map_update_elem(fd, &syn.skaddr, &s, BPF_ANY), 0);
	ct_events_handle(&fx->e, &syn);
	ct_events_tick(&fx->e, syn.ts_ns + 200 * MS, 1000);
	assert_int_equal(fx->n, 2);
	assert_int_equal(fx->lines[1].ev.sport, 0);

	/* Closed: no entry, and no port. */
	assert_int_equal(bpf_map_delete_elem(fd, &syn.skaddr), 0);
	ct_events_handle(&fx->e, &syn);
	ct_events_tick(&fx->e, syn.ts_ns + 200 * MS, 1000);
	assert_int_equal(fx->n, 3);
	assert_int_equal(fx->lines[2].ev.sport, 0);
	ct_events_free(&fx->e);
	close(fd);
	assert_int_equal(ct_events_init(&fx->e, NULL, -1,
					&(struct ct_kfilter){ 0 }, capture, fx), 0);
}

/* Held lines come out in the order they went in, whatever left between. */
static void test_held_ports_keep_order(void **state)
{
	struct fixture *fx = *state;
	struct ct_event syn[3], est = event(TCP_SYN_SENT, TCP_ESTABLISHED);

	for (int i = 0; i < 3; i++) {
		syn[i] = event(TCP_CLOSE, TCP_SYN_SENT);
		syn[i].sport = 0;
		syn[i].skaddr += 0x100 * (uint64_t)i;
		syn[i].ts_ns += MS * (uint64_t)i;
		ct_events_handle(&fx->e, &syn[i]);
	}
	est.skaddr = syn[1].skaddr;
	est.sport = 6000;
	ct_events_handle(&fx->e, &est);
	assert_int_equal(fx->n, 2);
	assert_true(fx->lines[0].ev.skaddr == syn[1].skaddr);
	ct_events_flush(&fx->e);
	assert_int_equal(fx->n, 4);
	assert_true(fx->lines[2].ev.skaddr == syn[0].skaddr);
	assert_true(fx->lines[3].ev.skaddr == syn[2].skaddr);
	assert_int_equal(fx->e.ports.n, 0);
}

/*
 * The count of held lines per socket follows holds that a tick ends: the
 * socket's next hold is found again, and no other socket is held.
 */
static void test_socket_held_again_after_tick(void **state)
{
	struct fixture *fx = *state;
	struct ct_event syn = event(TCP_CLOSE, TCP_SYN_SENT);
	struct ct_event est = event(TCP_SYN_SENT, TCP_ESTABLISHED);

	syn.sport = 0;
	ct_events_handle(&fx->e, &syn);
	assert_true(ct_events_holds(&fx->e, syn.skaddr, syn.cookie));
	assert_false(ct_events_holds(&fx->e, syn.skaddr + 0x100, syn.cookie));
	ct_events_tick(&fx->e, syn.ts_ns + 100 * MS, 1000);
	assert_int_equal(fx->n, 1);
	assert_false(ct_events_holds(&fx->e, syn.skaddr, syn.cookie));
	syn.ts_ns += 200 * MS;
	ct_events_handle(&fx->e, &syn);
	assert_true(ct_events_holds(&fx->e, syn.skaddr, syn.cookie));
	est.ts_ns = syn.ts_ns + MS;
	est.sport = 7000;
	ct_events_handle(&fx->e, &est);
	assert_int_equal(fx->n, 3);
	assert_int_equal(fx->lines[1].ev.sport, 7000);
	assert_false(ct_events_holds(&fx->e, syn.skaddr, syn.cookie));
}

static void test_held_port_released_before_filtered_event(void **state)
{
	struct fixture *fx = *state;
	struct ct_kfilter f = { .pid = 4242 };
	struct ct_event syn = event(TCP_CLOSE, TCP_SYN_SENT);
	struct ct_event next = event(TCP_SYN_SENT, TCP_ESTABLISHED);

	/* The held line passed the filter; a later unknown owner must not
	 * swallow it. */
	start(fx, &f);
	syn.sport = 0;
	next.sport = 5555;
	next.owner_src = CT_OWNER_NONE;
	ct_events_handle(&fx->e, &syn);
	ct_events_handle(&fx->e, &next);
	assert_int_equal(fx->n, 1);
	assert_line(&fx->lines[0], TCP_CLOSE, TCP_SYN_SENT);
	assert_int_equal(fx->lines[0].ev.sport, 5555);
}

static void test_tick_before_due_keeps_hold(void **state)
{
	struct fixture *fx = *state;
	struct ct_event syn = event(TCP_CLOSE, TCP_SYN_SENT);

	syn.sport = 0;
	ct_events_handle(&fx->e, &syn);
	/* 40 ms in, the hold is due in 60 ms. */
	assert_int_equal(ct_events_tick(&fx->e, syn.ts_ns + 40 * MS, 1000), 60);
	assert_int_equal(fx->n, 0);
	assert_int_equal(ct_events_tick(&fx->e, syn.ts_ns + 40 * MS, 10), 10);
	assert_int_equal(ct_events_tick(&fx->e, syn.ts_ns + 100 * MS - 1, 100), 1);
	assert_int_equal(fx->n, 0);
}

static void test_tick_at_exactly_100ms_emits_hold(void **state)
{
	struct fixture *fx = *state;
	struct ct_event syn = event(TCP_CLOSE, TCP_SYN_SENT);

	syn.sport = 0;
	ct_events_handle(&fx->e, &syn);
	ct_events_tick(&fx->e, syn.ts_ns + 100 * MS, 100);
	assert_int_equal(fx->n, 1);
}

static void test_tick_after_100ms_emits_hold(void **state)
{
	struct fixture *fx = *state;
	struct ct_event syn = event(TCP_CLOSE, TCP_SYN_SENT);

	syn.sport = 0;
	ct_events_handle(&fx->e, &syn);
	ct_events_tick(&fx->e, syn.ts_ns + 100 * MS + 1, 100);
	assert_int_equal(fx->n, 1);
	assert_line(&fx->lines[0], TCP_CLOSE, TCP_SYN_SENT);
	assert_int_equal(fx->lines[0].ev.sport, 0);
	assert_int_equal(fx->lines[0].ev.pid, 4242);
	/* Emitted once: neither a later tick nor a flush repeats it. */
	assert_int_equal(ct_events_tick(&fx->e, syn.ts_ns + 200 * MS, 100), 100);
	ct_events_flush(&fx->e);
	assert_int_equal(fx->n, 1);
}

static void test_tick_without_holds_waits_max(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(ct_events_tick(&fx->e, 123 * MS, 250), 250);
	assert_int_equal(fx->n, 0);
}

static void test_flush_emits_hold(void **state)
{
	struct fixture *fx = *state;
	struct ct_event syn = event(TCP_CLOSE, TCP_SYN_SENT);

	syn.sport = 0;
	ct_events_handle(&fx->e, &syn);
	ct_events_flush(&fx->e);
	assert_int_equal(fx->n, 1);
	assert_line(&fx->lines[0], TCP_CLOSE, TCP_SYN_SENT);
	ct_events_flush(&fx->e);
	assert_int_equal(fx->n, 1);
}

static void test_flush_emits_every_hold_once(void **state)
{
	struct fixture *fx = *state;
	int seen = 0;

	for (int i = 0; i < 10; i++) {
		struct ct_event syn = event(TCP_CLOSE, TCP_SYN_SENT);

		syn.sport = 0;
		syn.skaddr += (uint64_t)i * 0x100;
		syn.dport = (uint16_t)(1000 + i);
		ct_events_handle(&fx->e, &syn);
	}
	ct_events_flush(&fx->e);
	assert_int_equal(fx->n, 10);
	for (int i = 0; i < 10; i++)
		seen |= 1 << (fx->lines[i].ev.dport - 1000);
	assert_int_equal(seen, 0x3ff);
}

static void test_filtered_pid_emits_nothing(void **state)
{
	struct fixture *fx = *state;
	struct ct_kfilter f = { .pid = 1 };
	struct ct_event ev = event(TCP_ESTABLISHED, TCP_CLOSE_WAIT);
	struct ct_event syn = event(TCP_CLOSE, TCP_SYN_SENT);

	start(fx, &f);
	ct_events_handle(&fx->e, &ev);
	syn.sport = 0;
	ct_events_handle(&fx->e, &syn);
	ct_events_tick(&fx->e, syn.ts_ns + 1000 * MS, 100);
	ct_events_flush(&fx->e);
	assert_int_equal(fx->n, 0);
}

static void test_filter_applies_to_resolved_owner(void **state)
{
	struct fixture *fx = *state;
	struct ct_kfilter f = { .pid = 4242 };
	struct ct_event ev = event(TCP_ESTABLISHED, TCP_CLOSE_WAIT);

	/* The kernel's pid is dropped before filtering, not matched. */
	start(fx, &f);
	ev.owner_src = CT_OWNER_NONE;
	ct_events_handle(&fx->e, &ev);
	assert_int_equal(fx->n, 0);
}

static void test_close_with_error_emitted_directly(void **state)
{
	struct fixture *fx = *state;
	struct ct_event ev = event(TCP_FIN_WAIT1, TCP_CLOSE);

	ev.flags |= CT_EV_SK_ERROR;
	ev.sk_err = 104;
	ct_events_handle(&fx->e, &ev);
	assert_int_equal(fx->n, 1);
	assert_line(&fx->lines[0], TCP_FIN_WAIT1, TCP_CLOSE);
	assert_false(fx->lines[0].derived);
}

/* A close handed to time-wait; its lookup waits for the batch, asked here. */
static void hand_off(struct fixture *fx, const struct ct_event *ev)
{
	size_t before = fx->n;

	ct_events_handle(&fx->e, ev);
	assert_int_equal(fx->n, before);
	assert_true(ct_events_holds(&fx->e, ev->skaddr, ev->cookie));
	ct_events_tick(&fx->e, ev->ts_ns, 0);
	assert_false(ct_events_holds(&fx->e, ev->skaddr, ev->cookie));
}

static void test_handoff_unknown_netns(void **state)
{
	struct fixture *fx = *state;
	struct ct_event ev = event(TCP_FIN_WAIT2, TCP_CLOSE);

	/* No namespace has inode 0: sock_diag cannot be asked, nothing found. */
	ev.netns = 0;
	hand_off(fx, &ev);
	assert_int_equal(fx->n, 1);
	assert_line(&fx->lines[0], TCP_FIN_WAIT2, TCP_CLOSE);
	assert_false(fx->lines[0].derived);
	assert_int_equal(fx->e.watches.n, 0);
}

static void test_handoff_gone_connection(void **state)
{
	struct fixture *fx = *state;
	struct ct_event ev = event(TCP_FIN_WAIT1, TCP_CLOSE);

	/* Our own namespace; nothing listens or connects on port 1 to port 1. */
	ev.netns = ct_netns_self();
	ev.sport = 1;
	ev.dport = 1;
	memcpy(ev.saddr, (uint8_t[]){ 127, 0, 0, 1 }, 4);
	memcpy(ev.daddr, (uint8_t[]){ 127, 0, 0, 1 }, 4);
	hand_off(fx, &ev);
	assert_int_equal(fx->n, 1);
	assert_line(&fx->lines[0], TCP_FIN_WAIT1, TCP_CLOSE);
	assert_false(fx->lines[0].derived);
	assert_int_equal(fx->e.watches.n, 0);
}

/* Real loopback connections, for handoffs sock_diag can see. */

struct tcp_pair {
	int cli, srv;
	struct sockaddr_in ca, sa;
};

static void tcp_pair_open(struct tcp_pair *p)
{
	socklen_t len = sizeof(p->sa);
	int lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(lst >= 0);
	memset(&p->sa, 0, sizeof(p->sa));
	p->sa.sin_family = AF_INET;
	p->sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lst, (struct sockaddr *)&p->sa, len), 0);
	assert_int_equal(listen(lst, 1), 0);
	assert_int_equal(getsockname(lst, (struct sockaddr *)&p->sa, &len), 0);
	p->cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(p->cli >= 0);
	assert_int_equal(connect(p->cli, (struct sockaddr *)&p->sa, len), 0);
	p->srv = accept(lst, NULL, NULL);
	assert_true(p->srv >= 0);
	close(lst);
	len = sizeof(p->ca);
	assert_int_equal(getsockname(p->cli, (struct sockaddr *)&p->ca, &len), 0);
}

/* The client's side of the pair, as the state tracepoint reports it. */
static struct ct_event pair_event(const struct tcp_pair *p, int old, int new)
{
	struct ct_event ev = event(old, new);

	ev.netns = ct_netns_self();
	ev.ts_ns = ct_monotonic_ns();
	ev.sport = ntohs(p->ca.sin_port);
	ev.dport = ntohs(p->sa.sin_port);
	memcpy(ev.saddr, &p->ca.sin_addr, 4);
	memcpy(ev.daddr, &p->sa.sin_addr, 4);
	return ev;
}

/*
 * A connect() whose SYN goes unanswered: the listener's queue is full
 * (backlog 0, one connection in it), so the kernel drops the SYN and the
 * socket stays in SYN_SENT for a second. Its event: CLOSE -> SYN_SENT
 * without a port, as the tracepoint says it.
 */
static int stuck_connect(const struct sockaddr_in *to, struct ct_event *ev,
			 uint16_t *port)
{
	struct sockaddr_in me;
	socklen_t len = sizeof(uint64_t);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (const struct sockaddr *)to, sizeof(*to)), -1);
	assert_int_equal(errno, EINPROGRESS);
	*ev = event(TCP_CLOSE, TCP_SYN_SENT);
	ev->netns = ct_netns_self();
	ev->ts_ns = ct_monotonic_ns();
	ev->sport = 0;
	ev->ino = 0;
	ev->dport = ntohs(to->sin_port);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_COOKIE, &ev->cookie, &len), 0);
	len = sizeof(me);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&me, &len), 0);
	*port = ntohs(me.sin_port);
	return fd;
}

/*
 * Connect lines due without a port share one dump of the connecting
 * sockets: one due within SYN_DUMP_GAP of it and in it takes its port
 * from it; one not in it (it connected since) waits for the next.
 */
static void test_syn_sent_ports_share_a_dump(void **state)
{
	struct fixture *fx = *state;
	struct sockaddr_in to = { .sin_family = AF_INET };
	socklen_t len = sizeof(to);
	struct ct_event ev[3];
	uint16_t port[3];
	int fd[3], lst, first;
	uint64_t dumped;

	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lst >= 0);
	assert_int_equal(bind(lst, (struct sockaddr *)&to, len), 0);
	assert_int_equal(listen(lst, 0), 0);
	assert_int_equal(getsockname(lst, (struct sockaddr *)&to, &len), 0);
	first = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(first >= 0);
	assert_int_equal(connect(first, (struct sockaddr *)&to, len), 0);
	fd[0] = stuck_connect(&to, &ev[0], &port[0]);
	fd[1] = stuck_connect(&to, &ev[1], &port[1]);
	for (int i = 0; i < 2; i++) {
		ev[i].skaddr += 0x100 * (uint64_t)i;
		ct_events_handle(&fx->e, &ev[i]);
	}
	assert_int_equal(fx->n, 0);
	/* Only the first is due: the dump finds both. */
	ev[1].ts_ns += 50 * MS;
	ct_events_tick(&fx->e, ev[0].ts_ns + 100 * MS, 1000);
	assert_int_equal(fx->n, 1);
	assert_int_equal(fx->lines[0].ev.sport, port[0]);
	dumped = fx->e.syn_dump_ns;
	assert_true(dumped > 0);

	fd[2] = stuck_connect(&to, &ev[2], &port[2]);
	ev[2].skaddr += 0x1000;
	ev[2].ts_ns = ev[0].ts_ns;
	ct_events_handle(&fx->e, &ev[2]);
	/* The second, from that dump; the third, not in it, waits. */
	ct_events_tick(&fx->e, ev[0].ts_ns + 160 * MS, 1000);
	assert_int_equal(fx->n, 2);
	assert_int_equal(fx->lines[1].ev.sport, port[1]);
	assert_true(fx->e.syn_dump_ns == dumped);
	/* Once the gap is over, a new dump has it. */
	ct_events_tick(&fx->e, dumped + 100 * MS, 1000);
	assert_int_equal(fx->n, 3);
	assert_int_equal(fx->lines[2].ev.sport, port[2]);
	assert_true(fx->e.syn_dump_ns > dumped);
	for (int i = 0; i < 3; i++)
		close(fd[i]);
	close(first);
	close(lst);
}

/*
 * Waits up to 2 s for sock_diag to report the connection in state want.
 * That is the kernel's doing, not the code under test: if it never comes
 * (no sock_diag, no time-wait buckets), the test is skipped, not failed.
 */
static void require_state(struct fixture *fx, const struct ct_event *ev,
			  int want)
{
	struct ct_tuple t = {
		.netns = ev->netns, .family = ev->family,
		.sport = ev->sport, .dport = ev->dport,
	};
	int st = -1;

	memcpy(t.saddr, ev->saddr, sizeof(t.saddr));
	memcpy(t.daddr, ev->daddr, sizeof(t.daddr));
	for (int i = 0; i < 400 && st != want; i++) {
		if (i)
			nanosleep(&(struct timespec){ .tv_nsec = 5 * MS }, NULL);
		st = ct_diag_state(&fx->e.diag, &t);
	}
	if (st != want) {
		print_message("sock_diag reports state %d, not %d: skipping\n",
			      st, want);
		skip();
	}
}

static void test_handoff_to_time_wait(void **state)
{
	struct fixture *fx = *state;
	struct tcp_pair p;
	struct ct_event ev;

	tcp_pair_open(&p);
	close(p.cli);
	close(p.srv);
	ev = pair_event(&p, TCP_FIN_WAIT2, TCP_CLOSE);
	ev.flags |= CT_EV_PEER_FIN;
	require_state(fx, &ev, TCP_TIME_WAIT);

	hand_off(fx, &ev);
	assert_int_equal(fx->n, 1);
	assert_line(&fx->lines[0], TCP_FIN_WAIT2, TCP_TIME_WAIT);
	assert_true(fx->lines[0].derived);
	/* The peer's FIN was in: TIME_WAIT began at the handoff itself. */
	assert_true(fx->lines[0].ts_ns == ev.ts_ns);
	assert_true(fx->lines[0].delta_ns == ev.delta_ns);
	assert_int_equal(fx->e.watches.n, 1);

	/* Still in TIME_WAIT: neither a tick nor a flush may end it. */
	ct_events_tick(&fx->e, ev.ts_ns + 61000 * MS, 100);
	ct_events_flush(&fx->e);
	assert_int_equal(fx->n, 1);
	assert_int_equal(fx->e.watches.n, 1);
}

/* The close of connection i, which no socket has any more. */
static struct ct_event gone_close(int i)
{
	struct ct_event ev = event(TCP_FIN_WAIT2, TCP_CLOSE);

	ev.netns = ct_netns_self();
	ev.skaddr += 0x100 * (uint64_t)(i + 1);
	ev.cookie = 1000 + (uint64_t)i;
	ev.sport = 1;
	ev.dport = (uint16_t)(1 + i);
	memcpy(ev.saddr, (uint8_t[]){ 127, 0, 0, 1 }, 4);
	memcpy(ev.daddr, (uint8_t[]){ 127, 0, 0, 1 }, 4);
	return ev;
}

/*
 * Closes are asked about in batches, a full one at once and the rest at
 * the next tick; each answer goes to its own close (one connection, among
 * gone ones, is in TIME_WAIT), and the lines keep the records' order.
 */
static void test_handoffs_asked_in_batches(void **state)
{
	struct fixture *fx = *state;
	struct ct_event ev[CT_DIAG_BATCH + 5];
	int n = (int)(sizeof(ev) / sizeof(ev[0]));
	struct tcp_pair p;

	for (int i = 0; i < n; i++)
		ev[i] = gone_close(i);
	tcp_pair_open(&p);
	close(p.cli);
	close(p.srv);
	ev[1] = pair_event(&p, TCP_FIN_WAIT2, TCP_CLOSE);
	ev[1].flags |= CT_EV_PEER_FIN;
	require_state(fx, &ev[1], TCP_TIME_WAIT);

	for (int i = 0; i < n; i++)
		ct_events_handle(&fx->e, &ev[i]);
	assert_int_equal(fx->n, CT_DIAG_BATCH);
	ct_events_tick(&fx->e, ev[n - 1].ts_ns, 0);
	assert_int_equal(fx->n, n);
	for (int i = 0; i < n; i++) {
		assert_true(fx->lines[i].ev.skaddr == ev[i].skaddr);
		assert_line(&fx->lines[i], TCP_FIN_WAIT2,
			    i == 1 ? TCP_TIME_WAIT : TCP_CLOSE);
		assert_int_equal(fx->lines[i].derived, i == 1);
	}
	assert_int_equal(fx->e.watches.n, 1);
}

/* A socket's next record waits for its close's answer, not the batch's. */
static void test_handoff_said_before_socket_next_line(void **state)
{
	struct fixture *fx = *state;
	struct ct_event closed = gone_close(0), again = closed;

	again.oldstate = TCP_CLOSE;
	again.newstate = TCP_SYN_SENT;
	again.ts_ns = closed.ts_ns + MS;
	ct_events_handle(&fx->e, &closed);
	assert_int_equal(fx->n, 0);
	ct_events_handle(&fx->e, &again);
	assert_int_equal(fx->n, 2);
	assert_line(&fx->lines[0], TCP_FIN_WAIT2, TCP_CLOSE);
	assert_line(&fx->lines[1], TCP_CLOSE, TCP_SYN_SENT);
}

/*
 * Watches are kept soonest due first: a tick says when the earliest is
 * due, whatever order they came in, and one probed and still in
 * TIME_WAIT is due again a probe later.
 */
static void test_watches_soonest_first(void **state)
{
	struct fixture *fx = *state;
	static const int ago_s[] = { 10, 30, 20 };
	struct tcp_pair p[3];
	uint64_t now = ct_monotonic_ns();

	for (int i = 0; i < 3; i++) {
		struct ct_event ev;

		tcp_pair_open(&p[i]);
		close(p[i].cli);
		close(p[i].srv);
		ev = pair_event(&p[i], TCP_FIN_WAIT2, TCP_CLOSE);
		ev.skaddr += 0x100 * (uint64_t)i;
		ev.flags |= CT_EV_PEER_FIN;
		ev.ts_ns = now - (uint64_t)ago_s[i] * 1000 * MS;
		require_state(fx, &ev, TCP_TIME_WAIT);
		hand_off(fx, &ev);
	}
	assert_int_equal(fx->n, 3);
	assert_int_equal(fx->e.watches.n, 3);
	assert_int_equal(fx->e.fin_wait2.n, 0);
	/* The one closed 30 s ago is due in 30 s. */
	assert_int_equal(ct_events_tick(&fx->e, now, 100000), 30000);
	assert_int_equal(ct_events_tick(&fx->e, now + 31000 * MS, 100000), 1000);
	assert_int_equal(fx->n, 3);
	assert_int_equal(fx->e.watches.n, 3);
}

/*
 * A pair whose client closed and waits for the server's FIN, handed to
 * the engine: it says nothing yet and watches the time-wait socket.
 */
static struct ct_event watched_fin_wait2(struct fixture *fx, struct tcp_pair *p)
{
	struct ct_event ev;

	tcp_pair_open(p);
	close(p->cli);
	ev = pair_event(p, TCP_FIN_WAIT2, TCP_CLOSE);
	require_state(fx, &ev, TCP_FIN_WAIT2);
	hand_off(fx, &ev);
	assert_int_equal(fx->n, 0);
	assert_int_equal(fx->e.watches.n, 0);
	assert_int_equal(fx->e.fin_wait2.n, 1);
	return ev;
}

/* At the end, a socket still waiting for the peer's FIN says its CLOSE. */
static void test_flush_says_fin_wait2_close(void **state)
{
	struct fixture *fx = *state;
	struct tcp_pair p;

	watched_fin_wait2(fx, &p);
	ct_events_flush(&fx->e);
	close(p.srv);
	assert_int_equal(fx->n, 1);
	assert_line(&fx->lines[0], TCP_FIN_WAIT2, TCP_CLOSE);
	assert_false(fx->lines[0].derived);
	assert_int_equal(fx->e.watches.n, 0);
	assert_int_equal(fx->e.fin_wait2.n, 0);
}

static void test_handoff_fin_wait2_then_time_wait(void **state)
{
	struct fixture *fx = *state;
	struct tcp_pair p;
	struct ct_event ev;

	/* Waiting for the peer's FIN: nothing to say yet. */
	ev = watched_fin_wait2(fx, &p);
	ct_events_tick(&fx->e, ct_monotonic_ns() + 1000 * MS, 100);
	assert_int_equal(fx->n, 0);

	close(p.srv);
	require_state(fx, &ev, TCP_TIME_WAIT);
	ct_events_tick(&fx->e, ct_monotonic_ns() + 2000 * MS, 100);
	assert_int_equal(fx->n, 1);
	assert_line(&fx->lines[0], TCP_FIN_WAIT2, TCP_TIME_WAIT);
	assert_true(fx->lines[0].derived);
	assert_int_equal(fx->e.watches.n, 1);
	/* A FIN_WAIT2 no more: the hint no longer scans for it. */
	assert_int_equal(fx->e.fin_wait2.n, 0);
}

static void test_local_peer_fin_dates_time_wait(void **state)
{
	struct fixture *fx = *state;
	struct tcp_pair p;
	struct ct_event ev, peer;

	ev = watched_fin_wait2(fx, &p);
	close(p.srv);
	require_state(fx, &ev, TCP_TIME_WAIT);
	/* The server side of the same connection, sending its FIN. */
	peer = ev;
	peer.oldstate = TCP_CLOSE_WAIT;
	peer.newstate = TCP_LAST_ACK;
	peer.skaddr = ev.skaddr + 0x1000;
	peer.ts_ns = ev.ts_ns + 7 * MS;
	peer.sport = ev.dport;
	peer.dport = ev.sport;
	memcpy(peer.saddr, ev.daddr, sizeof(peer.saddr));
	memcpy(peer.daddr, ev.saddr, sizeof(peer.daddr));
	ct_events_handle(&fx->e, &peer);
	assert_int_equal(fx->n, 1);
	assert_line(&fx->lines[0], TCP_CLOSE_WAIT, TCP_LAST_ACK);

	/* The hold is due at once, whatever its back-off said. */
	ct_events_tick(&fx->e, ev.ts_ns, 100);
	assert_int_equal(fx->n, 2);
	assert_line(&fx->lines[1], TCP_FIN_WAIT2, TCP_TIME_WAIT);
	assert_true(fx->lines[1].derived);
	assert_true(fx->lines[1].ts_ns == peer.ts_ns);
}

/* The same address, another socket (its cookie differs): no port from it. */
static void test_held_port_needs_same_cookie(void **state)
{
	struct fixture *fx = *state;
	struct ct_event syn = event(TCP_CLOSE, TCP_SYN_SENT);
	struct ct_event other = event(TCP_LISTEN, TCP_SYN_RECV);

	syn.sport = 0;
	syn.cookie = 11;
	other.cookie = 12;
	other.sport = 80;
	ct_events_handle(&fx->e, &syn);
	ct_events_handle(&fx->e, &other);
	assert_int_equal(fx->n, 1);
	ct_events_flush(&fx->e);
	assert_int_equal(fx->n, 2);
	assert_line(&fx->lines[1], TCP_CLOSE, TCP_SYN_SENT);
	assert_int_equal(fx->lines[1].ev.sport, 0);
}

/* A passive socket's line before accept(), owned by its listener's holder. */
static struct ct_event pre_accept(struct fixture *fx, int old, int new)
{
	struct ct_event ev = event(old, new);

	fx->e.accept_hook = true;
	ev.owner_src = CT_OWNER_LISTENER;
	ev.pid = 100;
	strcpy(ev.comm, "master");
	ev.flags = CT_EV_PASSIVE;
	ev.ino = 0;
	ev.cookie = 9;
	return ev;
}

static void test_pre_accept_lines_owned_by_acceptor(void **state)
{
	struct fixture *fx = *state;
	struct ct_event recv = pre_accept(fx, TCP_LISTEN, TCP_SYN_RECV);
	struct ct_event est = pre_accept(fx, TCP_SYN_RECV, TCP_ESTABLISHED);
	struct ct_accept a = { .type = CT_MSG_ACCEPT, .pid = 200,
			       .skaddr = recv.skaddr, .cookie = 9,
			       .comm = "worker" };

	ct_events_handle(&fx->e, &recv);
	ct_events_handle(&fx->e, &est);
	assert_int_equal(fx->n, 0);
	/* Another socket at the same address takes nothing. */
	a.cookie = 8;
	ct_events_accept(&fx->e, &a);
	assert_int_equal(fx->n, 0);
	a.cookie = 9;
	ct_events_accept(&fx->e, &a);
	assert_int_equal(fx->n, 2);
	assert_line(&fx->lines[0], TCP_LISTEN, TCP_SYN_RECV);
	assert_line(&fx->lines[1], TCP_SYN_RECV, TCP_ESTABLISHED);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fx->lines[i].ev.pid, 200);
		assert_string_equal(fx->lines[i].ev.comm, "worker");
		assert_int_equal(fx->lines[i].ev.owner_src, CT_OWNER_ACCEPT);
	}
}

/* Never accepted: nobody owns it, the listener's holder is named as such. */
static void test_pre_accept_timeout_names_listener(void **state)
{
	struct fixture *fx = *state;
	struct ct_event recv = pre_accept(fx, TCP_LISTEN, TCP_SYN_RECV);

	ct_events_handle(&fx->e, &recv);
	ct_events_tick(&fx->e, recv.ts_ns + 100 * MS, 100);
	assert_int_equal(fx->n, 0);
	ct_events_tick(&fx->e, recv.ts_ns + 500 * MS, 100);
	assert_int_equal(fx->n, 1);
	assert_int_equal(fx->lines[0].ev.pid, 0);
	assert_int_equal(fx->lines[0].ev.owner_src, CT_OWNER_NONE);
	assert_int_equal(fx->lines[0].listener_pid, 100);
	assert_string_equal(fx->lines[0].listener_comm, "master");
}

/* Later lines of a socket still waiting for accept() wait behind its first. */
static void test_lines_after_held_ones_keep_order(void **state)
{
	struct fixture *fx = *state;
	struct ct_event recv = pre_accept(fx, TCP_LISTEN, TCP_SYN_RECV);
	struct ct_event est = pre_accept(fx, TCP_SYN_RECV, TCP_ESTABLISHED);
	struct ct_event cw = event(TCP_ESTABLISHED, TCP_CLOSE_WAIT);

	cw.skaddr = recv.skaddr;
	cw.cookie = 9;
	cw.owner_src = CT_OWNER_ACCEPT;
	cw.pid = 300;
	strcpy(cw.comm, "acceptor");
	ct_events_handle(&fx->e, &recv);
	ct_events_handle(&fx->e, &est);
	/* Its accept message was lost: the first owned line tells it. */
	ct_events_handle(&fx->e, &cw);
	assert_int_equal(fx->n, 3);
	assert_line(&fx->lines[2], TCP_ESTABLISHED, TCP_CLOSE_WAIT);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fx->lines[i].ev.pid, 300);
}

/*
 * Many sockets waiting for accept(), accepted in another order, with a
 * tick between: each gets its own lines, in order, and nothing is left.
 */
static void test_accepts_out_of_order(void **state)
{
	struct fixture *fx = *state;
	static const int order[] = { 3, 0, 5, 1, 4, 2 };
	struct ct_event recv = pre_accept(fx, TCP_LISTEN, TCP_SYN_RECV);
	struct ct_event est = pre_accept(fx, TCP_SYN_RECV, TCP_ESTABLISHED);

	for (int k = 0; k < 6; k++) {
		recv.skaddr = est.skaddr = 0x1000 + 0x100 * (uint64_t)k;
		recv.cookie = est.cookie = 50 + (uint64_t)k;
		ct_events_handle(&fx->e, &recv);
		ct_events_handle(&fx->e, &est);
	}
	assert_int_equal(fx->n, 0);
	for (int j = 0; j < 6; j++) {
		int k = order[j];
		struct ct_accept a = { .type = CT_MSG_ACCEPT,
				       .pid = 200 + (uint32_t)k,
				       .skaddr = 0x1000 + 0x100 * (uint64_t)k,
				       .cookie = 50 + (uint64_t)k,
				       .comm = "worker" };

		ct_events_accept(&fx->e, &a);
		assert_int_equal(fx->n, 2 * (j + 1));
		assert_line(&fx->lines[2 * j], TCP_LISTEN, TCP_SYN_RECV);
		assert_line(&fx->lines[2 * j + 1], TCP_SYN_RECV, TCP_ESTABLISHED);
		for (int i = 2 * j; i < 2 * j + 2; i++) {
			assert_true(fx->lines[i].ev.skaddr == a.skaddr);
			assert_int_equal(fx->lines[i].ev.pid, a.pid);
		}
		if (j == 2)	/* not due yet: it only closes the gaps */
			ct_events_tick(&fx->e, recv.ts_ns + MS, 100);
		assert_false(ct_events_holds(&fx->e, a.skaddr, a.cookie));
	}
	ct_events_tick(&fx->e, recv.ts_ns + 2 * MS, 100);
	assert_int_equal(fx->e.ports.n, 0);
	assert_int_equal(fx->n, 12);
}

/* Releases the lines held for one accept(); returns how many went out. */
static int accept_sock(struct fixture *fx, uint64_t skaddr, uint64_t cookie,
		       uint32_t pid)
{
	struct ct_accept a = { .type = CT_MSG_ACCEPT, .pid = pid,
			       .skaddr = skaddr, .cookie = cookie,
			       .comm = "worker" };
	int before = fx->n;

	ct_events_accept(&fx->e, &a);
	for (int i = before; i < fx->n; i++) {
		assert_true(fx->lines[i].ev.skaddr == skaddr);
		assert_true(fx->lines[i].ev.cookie == cookie);
		assert_int_equal(fx->lines[i].ev.pid, pid);
	}
	assert_false(ct_events_holds(&fx->e, skaddr, cookie));
	return fx->n - before;
}

/*
 * A socket's held lines are found along its own chain: with other
 * sockets' lines between them, with a later socket at the same address
 * (another cookie) on the same chain, and after the gaps are closed.
 */
static void test_held_chains_across_sockets(void **state)
{
	struct fixture *fx = *state;
	struct ct_event a = pre_accept(fx, TCP_LISTEN, TCP_SYN_RECV);
	struct ct_event b = a, c = a, a_est;

	a.skaddr = c.skaddr = 0x7000;
	b.skaddr = 0x8000;
	a.cookie = 1, b.cookie = 2, c.cookie = 3;
	a_est = pre_accept(fx, TCP_SYN_RECV, TCP_ESTABLISHED);
	a_est.skaddr = a.skaddr;
	a_est.cookie = a.cookie;
	ct_events_handle(&fx->e, &a);
	ct_events_handle(&fx->e, &b);
	ct_events_handle(&fx->e, &a_est);
	ct_events_handle(&fx->e, &c);
	assert_int_equal(fx->n, 0);

	assert_int_equal(accept_sock(fx, c.skaddr, c.cookie, 303), 1);
	assert_int_equal(accept_sock(fx, a.skaddr, a.cookie, 301), 2);
	assert_line(&fx->lines[1], TCP_LISTEN, TCP_SYN_RECV);
	assert_line(&fx->lines[2], TCP_SYN_RECV, TCP_ESTABLISHED);
	assert_true(ct_events_holds(&fx->e, b.skaddr, b.cookie));
	/* Three of four released: the gaps close, and b's line moves up. */
	ct_events_tick(&fx->e, a.ts_ns + MS, 100);
	assert_int_equal(fx->e.ports.n, 1);
	assert_int_equal(accept_sock(fx, b.skaddr, b.cookie, 302), 1);
	assert_int_equal(fx->n, 4);
}

/*
 * Held: one connect() line, then three lines of sockets not accepted yet,
 * with the listener held by curl's pid. The first line printed takes all
 * of the flush's time.
 */
static void flush_out_of_time(struct fixture *fx)
{
	struct ct_event syn = event(TCP_CLOSE, TCP_SYN_SENT);

	syn.sport = 0;
	ct_events_handle(&fx->e, &syn);
	for (int i = 1; i <= 3; i++) {
		struct ct_event recv = pre_accept(fx, TCP_LISTEN, TCP_SYN_RECV);

		recv.pid = 4242;
		recv.skaddr += (uint64_t)i * 0x100;
		recv.cookie += (uint64_t)i;
		ct_events_handle(&fx->e, &recv);
	}
	assert_int_equal(fx->n, 0);
	fx->e.flush_budget_ns = 10 * MS;
	fx->spin_ns = 20 * MS;
	ct_events_flush(&fx->e);
	fx->spin_ns = 0;
}

/* What a stop had no time to print is counted: printed + counted = held. */
static void test_flush_counts_what_it_had_no_time_for(void **state)
{
	struct fixture *fx = *state;

	char *said = NULL, want[128];
	size_t len = 0;
	FILE *f;

	flush_out_of_time(fx);
	assert_true(fx->n <= 1);
	assert_true(fx->e.unprinted >= 3);
	assert_int_equal(fx->n + (int)fx->e.unprinted, 4);
	f = open_memstream(&said, &len);
	assert_non_null(f);
	ct_events_report(&fx->e, f);
	fclose(f);
	snprintf(want, sizeof(want),
		 "conntrace: %d events lost (held at the stop, no time left to print them)\n",
		 4 - fx->n);
	assert_string_equal(said, want);
	free(said);
}

/*
 * Under a filter on owners, a line not accepted in time would have lost
 * its owner and been filtered out: not counted as lost either.
 */
static void test_flush_counts_only_what_would_pass(void **state)
{
	struct fixture *fx = *state;

	start(fx, &(struct ct_kfilter){ .pid = 4242 });
	flush_out_of_time(fx);
	assert_int_equal(fx->n + (int)fx->e.unprinted, 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_zero_passes_all),
		cmocka_unit_test(test_filter_pid),
		cmocka_unit_test(test_filter_comm),
		cmocka_unit_test(test_filter_comm_needs_known_owner),
		cmocka_unit_test(test_filter_comm_full_length),
		cmocka_unit_test(test_filter_port_either_side),
		cmocka_unit_test(test_filter_family),
		cmocka_unit_test(test_filter_all_must_match),
		T(test_plain_event_emitted_once),
		T(test_delta_unknown_passed_on),
		T(test_unknown_owner_not_guessed),
		T(test_accepted_listener_owner_reresolved),
		T(test_listener_owner_kept_before_accept),
		T(test_syn_sent_without_port_held),
		T(test_syn_sent_with_port_not_held),
		T(test_held_port_filled_by_next_event),
		T(test_held_port_needs_same_socket),
		T(test_late_port_from_kernel_entry),
		T(test_held_ports_keep_order),
		T(test_socket_held_again_after_tick),
		T(test_held_port_released_before_filtered_event),
		T(test_tick_before_due_keeps_hold),
		T(test_tick_at_exactly_100ms_emits_hold),
		T(test_tick_after_100ms_emits_hold),
		T(test_tick_without_holds_waits_max),
		T(test_flush_emits_hold),
		T(test_flush_emits_every_hold_once),
		T(test_filtered_pid_emits_nothing),
		T(test_filter_applies_to_resolved_owner),
		T(test_close_with_error_emitted_directly),
		T(test_handoff_unknown_netns),
		T(test_handoff_gone_connection),
		T(test_handoff_to_time_wait),
		T(test_handoffs_asked_in_batches),
		T(test_handoff_said_before_socket_next_line),
		T(test_syn_sent_ports_share_a_dump),
		T(test_watches_soonest_first),
		T(test_handoff_fin_wait2_then_time_wait),
		T(test_flush_says_fin_wait2_close),
		T(test_local_peer_fin_dates_time_wait),
		T(test_held_port_needs_same_cookie),
		T(test_pre_accept_lines_owned_by_acceptor),
		T(test_pre_accept_timeout_names_listener),
		T(test_accepts_out_of_order),
		T(test_held_chains_across_sockets),
		T(test_flush_counts_what_it_had_no_time_for),
		T(test_flush_counts_only_what_would_pass),
		T(test_lines_after_held_ones_keep_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
