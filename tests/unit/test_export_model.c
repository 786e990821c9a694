// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* export: events and refreshes into metrics, and its command line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>
#include <unistd.h>

#include "engine/cgroup.h"
#include "modes/cgroup_out.h"
#include "modes/export_model.h"
#include "modes/export_opts.h"
#include "output/expo.h"

static struct ct_event event(int old, int new, uint16_t sport, uint16_t dport)
{
	struct ct_event e = {
		.type = CT_MSG_STATE, .family = AF_INET, .oldstate = (uint8_t)old,
		.newstate = (uint8_t)new, .sport = sport, .dport = dport, .pid = 7,
		.comm = "cli",
	};

	inet_pton(AF_INET, "127.0.0.1", e.saddr);
	inet_pton(AF_INET, "10.1.2.3", e.daddr);
	return e;
}

static char *text(struct ct_export_model *x)
{
	struct ct_text t = { 0 };

	ct_expo_write(&x->m, false, &t);
	assert_false(t.oom);
	return t.p;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p += n)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static void test_events(void **state)
{
	struct ct_export_by by = { .prefix4 = 24, .prefix6 = 64 };
	struct ct_export_model x;
	struct ct_event e;
	char *t;

	(void)state;
	assert_int_equal(ct_export_model_init(&x, &by, 1000, NULL), 0);
	e = event(TCP_CLOSE, TCP_SYN_SENT, 40000, 80);
	ct_export_event(&x, &e);
	e = event(TCP_SYN_SENT, TCP_ESTABLISHED, 40000, 80);
	e.flags = CT_EV_DELTA_KNOWN;
	e.delta_ns = 2000000;	/* 2 ms */
	ct_export_event(&x, &e);
	e = event(TCP_SYN_RECV, TCP_ESTABLISHED, 80, 40000);
	ct_export_event(&x, &e);
	e = event(TCP_LAST_ACK, TCP_CLOSE, 80, 40000);
	e.flags = CT_EV_PASSIVE;
	ct_export_event(&x, &e);
	e = event(TCP_SYN_SENT, TCP_CLOSE, 40001, 81);
	e.sk_err = ECONNREFUSED;
	ct_export_event(&x, &e);
	/* A listener's end closes no connection. */
	e = event(TCP_LISTEN, TCP_CLOSE, 80, 0);
	ct_export_event(&x, &e);
	/* Out of range: not counted, not a crash. */
	e = event(0, 200, 1, 1);
	ct_export_event(&x, &e);
	t = text(&x);
	assert_true(has_line(t, "conntrace_tcp_transitions_total{from=\"CLOSE\",to=\"SYN_SENT\"} 1"));
	assert_true(has_line(t, "conntrace_tcp_transitions_total{from=\"SYN_SENT\",to=\"CLOSE\"} 1"));
	assert_true(has_line(t, "conntrace_tcp_connections_opened_total{side=\"active\"} 1"));
	assert_true(has_line(t, "conntrace_tcp_connections_opened_total{side=\"passive\"} 1"));
	assert_true(has_line(t, "conntrace_tcp_connections_closed_total{side=\"passive\"} 1"));
	assert_false(strstr(t, "connections_closed_total{side=\"active\"}"));
	assert_true(has_line(t, "conntrace_tcp_connect_failures_total{errno=\"ECONNREFUSED\",comm=\"cli\",container=\"?\"} 1"));
	assert_true(has_line(t, "conntrace_tcp_connect_duration_seconds_bucket{le=\"0.001\"} 0"));
	assert_true(has_line(t, "conntrace_tcp_connect_duration_seconds_bucket{le=\"0.0025\"} 1"));
	assert_true(has_line(t, "conntrace_tcp_connect_duration_seconds_sum 0.002"));
	/* No address or port label by default. */
	assert_null(strstr(t, "10.1.2"));
	assert_null(strstr(t, "40000"));
	free(t);
	ct_export_model_free(&x);
}

static void test_filter(void **state)
{
	struct ct_export_by by = { 0 };
	struct ct_kfilter f = { .port = 80 };
	struct ct_export_model x;
	struct ct_event e;
	char *t;

	(void)state;
	assert_int_equal(ct_export_model_init(&x, &by, 1000, &f), 0);
	e = event(TCP_CLOSE, TCP_SYN_SENT, 40000, 80);
	ct_export_event(&x, &e);
	e = event(TCP_CLOSE, TCP_SYN_SENT, 40000, 443);
	ct_export_event(&x, &e);
	t = text(&x);
	assert_true(has_line(t, "conntrace_tcp_transitions_total{from=\"CLOSE\",to=\"SYN_SENT\"} 1"));
	free(t);
	ct_export_model_free(&x);
}

static struct ct_share share(const char *comm, uint32_t pid, uint16_t sport,
			     uint64_t tx, uint64_t rx)
{
	struct ct_share s = { .pid = pid };

	s.k.family = AF_INET;
	s.k.proto = IPPROTO_TCP;
	s.k.sport = sport;
	s.k.netns = 1;
	inet_pton(AF_INET, "192.168.7.9", s.k.daddr);
	strncpy(s.k.comm, comm, sizeof(s.k.comm) - 1);
	s.delta[CT_TX] = tx;
	s.delta[CT_RX] = rx;
	return s;
}

static void test_refresh_bytes_states_by(void **state)
{
	struct ct_export_by by = { .remote_net = true, .prefix4 = 16,
				   .local_port = true };
	struct ct_share sh[3] = {
		share("srv", 10, 8080, 100, 5), share("srv", 11, 8080, 1, 0),
		share("", 0, 50000, 0, 9),
	};
	struct ct_acct a = { .shares = sh, .nshares = 3 };
	struct ct_tcp_rec listener = { .state = TCP_LISTEN, .sport = 8080,
				       .netns = 1 };
	struct ct_tcp_rec est = { .state = TCP_ESTABLISHED, .netns = 1 };
	struct ct_counters c = { 0 };
	struct ct_export_self self = { .ring_drops = 3, .scrapes = 2 };
	struct ct_export_model x;
	char *t;

	(void)state;
	assert_int_equal(ct_export_model_init(&x, &by, 1000, NULL), 0);
	assert_int_equal(ct_counters_add(&c, "TcpActiveOpens", 12), 0);
	assert_int_equal(ct_counters_add(&c, "TcpCurrEstab", 4), 0);
	assert_int_equal(ct_counters_add(&c, "IpInReceives", 99), 0);
	/* The listeners of a walk label the next refresh's bytes. */
	ct_export_sock(&x, &listener);
	ct_export_sock(&x, &est);
	ct_export_sock(&x, &est);
	ct_export_refresh(&x, &a, &c, &self);
	t = text(&x);
	assert_true(has_line(t, "conntrace_tcp_connections{state=\"ESTABLISHED\"} 2"));
	assert_true(has_line(t, "conntrace_tcp_connections{state=\"LISTEN\"} 1"));
	assert_null(strstr(t, "state=\"TIME_WAIT\""));
	/* Two pids of one name are one series; an unknown owner is "?". */
	assert_true(has_line(t, "conntrace_payload_bytes_total{comm=\"srv\",container=\"?\",direction=\"sent\",protocol=\"tcp\",remote_net=\"192.168.0.0/16\",local_port=\"8080\"} 101"));
	assert_true(has_line(t, "conntrace_payload_bytes_total{comm=\"srv\",container=\"?\",direction=\"received\",protocol=\"tcp\",remote_net=\"192.168.0.0/16\",local_port=\"8080\"} 5"));
	assert_true(has_line(t, "conntrace_payload_bytes_total{comm=\"?\",container=\"?\",direction=\"received\",protocol=\"tcp\",remote_net=\"192.168.0.0/16\",local_port=\"\"} 9"));
	assert_null(strstr(t, "comm=\"?\",container=\"?\",direction=\"sent\""));
	assert_true(has_line(t, "conntrace_nstat_total{name=\"TcpActiveOpens\"} 12"));
	assert_true(has_line(t, "conntrace_nstat_level{name=\"TcpCurrEstab\"} 4"));
	assert_null(strstr(t, "IpInReceives"));
	assert_true(has_line(t, "conntrace_events_lost_total 3"));
	assert_true(has_line(t, "conntrace_scrapes_total 2"));
	free(t);
	/* The next refresh adds its own interval, and recounts the states. */
	ct_export_refresh(&x, &a, &c, &self);
	t = text(&x);
	assert_true(has_line(t, "conntrace_tcp_connections{state=\"ESTABLISHED\"} 0"));
	assert_true(has_line(t, "conntrace_payload_bytes_total{comm=\"srv\",container=\"?\",direction=\"sent\",protocol=\"tcp\",remote_net=\"192.168.0.0/16\",local_port=\"\"} 101"));
	free(t);
	ct_counters_free(&c);
	ct_export_model_free(&x);
}

static struct ct_tev_line tev(int kind, uint32_t pid, const char *comm,
			      uint64_t value)
{
	struct ct_tev_line l = { .ev = { .type = CT_MSG_TCP_EV,
					 .kind = (uint8_t)kind, .pid = pid,
					 .value = value } };

	strncpy(l.ev.comm, comm, sizeof(l.ev.comm) - 1);
	return l;
}

static void test_trouble(void **state)
{
	struct ct_export_by by = { 0 };
	struct ct_export_model x;
	struct ct_tev_line l;
	char *t;

	(void)state;
	assert_int_equal(ct_export_model_init(&x, &by, 1000, NULL), 0);
	/* Retransmits add their segments, by packet kind. */
	l = tev(CT_TEV_RETRANS, 7, "cli", 3);
	ct_export_tev(&x, &l, NULL);
	l = tev(CT_TEV_RETRANS, 8, "cli", 2);
	ct_export_tev(&x, &l, NULL);
	l = tev(CT_TEV_RETRANS, 7, "cli", 1);
	l.ev.flags = CT_TEV_SYN;
	ct_export_tev(&x, &l, NULL);
	/* No owner, no listener known: "?", never a guess. */
	l = tev(CT_TEV_SYNACK_RETRANS, 0, "", 1);
	ct_export_tev(&x, &l, NULL);
	l = tev(CT_TEV_RESET_SENT, 7, "cli", 0);
	ct_export_tev(&x, &l, NULL);
	l = tev(CT_TEV_RESET_RECV, 9, "srv", 0);
	ct_export_tev(&x, &l, NULL);
	ct_export_tev(&x, &l, NULL);
	/* Not accepted yet: its listener's holder's, as top counts it. */
	l = tev(CT_TEV_RESET_RECV, 0, "", 0);
	l.listener_pid = 9;
	strcpy(l.listener_comm, "srv");
	ct_export_tev(&x, &l, NULL);
	l = tev(CT_TEV_DROP, 9, "srv", 4);
	ct_export_tev(&x, &l, "LISTEN_DROP");
	l = tev(CT_TEV_DROP, 9, "srv", 1);
	ct_export_tev(&x, &l, NULL);
	t = text(&x);
	assert_true(has_line(t, "conntrace_tcp_retransmits_total{comm=\"cli\",container=\"?\",packet=\"data\"} 5"));
	assert_true(has_line(t, "conntrace_tcp_retransmits_total{comm=\"cli\",container=\"?\",packet=\"syn\"} 1"));
	assert_true(has_line(t, "conntrace_tcp_retransmits_total{comm=\"?\",container=\"?\",packet=\"synack\"} 1"));
	assert_true(has_line(t, "conntrace_tcp_resets_total{comm=\"cli\",container=\"?\",direction=\"sent\"} 1"));
	assert_true(has_line(t, "conntrace_tcp_resets_total{comm=\"srv\",container=\"?\",direction=\"received\"} 3"));
	assert_true(has_line(t, "conntrace_tcp_drops_total{comm=\"srv\",container=\"?\",reason=\"LISTEN_DROP\"} 4"));
	assert_true(has_line(t, "conntrace_tcp_drops_total{comm=\"srv\",container=\"?\",reason=\"unknown\"} 1"));
	free(t);
	ct_export_model_free(&x);
}

/* The owner's container labels each per-owner metric; "?" for no owner. */
static void test_container_label(void **state)
{
	uint64_t id = ct_cgroup_of_pid((uint32_t)getpid());
	struct ct_share sh[2] = { share("cli", 7, 1, 10, 0), share("", 0, 2, 0, 3) };
	struct ct_acct a = { .shares = sh, .nshares = 2 };
	struct ct_export_self self = { 0 };
	struct ct_export_by by = { 0 };
	struct ct_export_model x;
	struct ct_tev_line l;
	struct ct_event e;
	char want[256], line[512];
	char *t;

	(void)state;
	if (!id)
		skip();		/* no cgroup v2 here */
	snprintf(want, sizeof(want), "%s", ct_container_cell(id));
	assert_string_not_equal(want, "?");
	assert_int_equal(ct_export_model_init(&x, &by, 1000, NULL), 0);
	sh[0].k.cgroup = sh[1].k.cgroup = id;
	ct_export_refresh(&x, &a, NULL, &self);
	e = event(TCP_SYN_SENT, TCP_CLOSE, 40001, 81);
	e.sk_err = ECONNREFUSED;
	e.cgroup = id;
	ct_export_event(&x, &e);
	l = tev(CT_TEV_RETRANS, 7, "cli", 2);
	l.ev.cgroup = id;
	ct_export_tev(&x, &l, NULL);
	t = text(&x);
	snprintf(line, sizeof(line), "conntrace_payload_bytes_total{comm=\"cli\","
		 "container=\"%s\",direction=\"sent\",protocol=\"tcp\"} 10", want);
	assert_true(has_line(t, line));
	/* Not sure of the owner: not sure of its container either. */
	assert_true(has_line(t, "conntrace_payload_bytes_total{comm=\"?\","
			     "container=\"?\",direction=\"received\",protocol=\"tcp\"} 3"));
	snprintf(line, sizeof(line), "conntrace_tcp_connect_failures_total{"
		 "errno=\"ECONNREFUSED\",comm=\"cli\",container=\"%s\"} 1", want);
	assert_true(has_line(t, line));
	snprintf(line, sizeof(line), "conntrace_tcp_retransmits_total{comm=\"cli\","
		 "container=\"%s\",packet=\"data\"} 2", want);
	assert_true(has_line(t, line));
	free(t);
	ct_export_model_free(&x);
}

static void test_kernel_states(void **state)
{
	struct ct_export_by by = { .local_port = true };
	uint32_t counts[CT_WALK_STATES] = { [TCP_ESTABLISHED] = 40000,
					    [TCP_LISTEN] = 3 };
	struct ct_tcp_rec listener = { .state = TCP_LISTEN, .sport = 8080,
				       .netns = 1 };
	struct ct_tcp_rec est = { .state = TCP_ESTABLISHED, .netns = 1 };
	struct ct_share sh = share("srv", 10, 8080, 6, 0);
	struct ct_acct a = { .shares = &sh, .nshares = 1 };
	struct ct_export_self self = { 0 };
	struct ct_export_model x;
	char *t;

	(void)state;
	assert_int_equal(ct_export_model_init(&x, &by, 1000, NULL), 0);
	/* The kernel's counts stand; the records still name the listeners. */
	ct_export_walk_states(&x, counts, CT_WALK_STATES);
	ct_export_sock(&x, &listener);
	ct_export_sock(&x, &est);
	ct_export_refresh(&x, &a, NULL, &self);
	ct_export_walk_states(&x, counts, CT_WALK_STATES);
	ct_export_sock(&x, &listener);
	ct_export_refresh(&x, &a, NULL, &self);
	t = text(&x);
	assert_true(has_line(t, "conntrace_tcp_connections{state=\"ESTABLISHED\"} 40000"));
	assert_true(has_line(t, "conntrace_tcp_connections{state=\"LISTEN\"} 3"));
	assert_true(has_line(t, "conntrace_payload_bytes_total{comm=\"srv\",container=\"?\",direction=\"sent\",protocol=\"tcp\",local_port=\"8080\"} 12"));
	free(t);
	ct_export_model_free(&x);
}

static void test_net_str(void **state)
{
	uint8_t a[16] = { 0 };
	char buf[64];

	(void)state;
	inet_pton(AF_INET, "10.1.255.7", a);
	assert_string_equal(ct_export_net_str(AF_INET, a, 24, buf, sizeof(buf)), "10.1.255.0/24");
	assert_string_equal(ct_export_net_str(AF_INET, a, 20, buf, sizeof(buf)), "10.1.240.0/20");
	assert_string_equal(ct_export_net_str(AF_INET, a, 32, buf, sizeof(buf)), "10.1.255.7/32");
	assert_string_equal(ct_export_net_str(AF_INET, a, 0, buf, sizeof(buf)), "0.0.0.0/0");
	inet_pton(AF_INET6, "2001:db8:1:2:3::1", a);
	assert_string_equal(ct_export_net_str(AF_INET6, a, 64, buf, sizeof(buf)), "2001:db8:1:2::/64");
}

static void test_listen(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;

	(void)state;
	assert_int_equal(ct_export_parse_listen("0.0.0.0:9", &ss, &len), 0);
	assert_int_equal(s4->sin_family, AF_INET);
	assert_int_equal(ntohs(s4->sin_port), 9);
	assert_int_equal(ct_export_parse_listen(":8745", &ss, &len), 0);
	assert_int_equal(s4->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	assert_int_equal(ct_export_parse_listen("[::1]:0", &ss, &len), 0);
	assert_int_equal(s6->sin6_family, AF_INET6);
	assert_int_equal(len, sizeof(*s6));
	assert_int_equal(ct_export_parse_listen("::1:80", &ss, &len), -EINVAL);
	assert_int_equal(ct_export_parse_listen("1.2.3.4", &ss, &len), -EINVAL);
	assert_int_equal(ct_export_parse_listen("1.2.3.4:65536", &ss, &len), -EINVAL);
	assert_int_equal(ct_export_parse_listen("1.2.3.4:-1", &ss, &len), -EINVAL);
	assert_int_equal(ct_export_parse_listen("1.2.3.4:", &ss, &len), -EINVAL);
	assert_int_equal(ct_export_parse_listen("host:80", &ss, &len), -EINVAL);
}

static void test_by(void **state)
{
	struct ct_export_by by = { .prefix4 = 24, .prefix6 = 64 };

	(void)state;
	assert_int_equal(ct_export_parse_by("local-port", &by), 0);
	assert_true(by.local_port);
	assert_false(by.remote_net);
	assert_int_equal(ct_export_parse_by("remote-net/16,remote-net6/48", &by), 0);
	assert_true(by.remote_net);
	assert_int_equal(by.prefix4, 16);
	assert_int_equal(by.prefix6, 48);
	assert_int_equal(ct_export_parse_by("remote-net/33", &by), -EINVAL);
	assert_int_equal(ct_export_parse_by("remote-net/", &by), -EINVAL);
	assert_int_equal(ct_export_parse_by("pid", &by), -EINVAL);
	assert_int_equal(ct_export_parse_by("local-port,", &by), 0);
	assert_int_equal(ct_export_parse_by(",", &by), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_refresh_bytes_states_by),
		cmocka_unit_test(test_trouble),
		cmocka_unit_test(test_container_label),
		cmocka_unit_test(test_kernel_states),
		cmocka_unit_test(test_net_str),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_by),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
