// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* states --by: counts per key, most first, as sort | uniq -c | sort -rn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modes/ls_by.h"

static struct ct_sockrec rec(const char *raddr, uint16_t lport, uint16_t rport,
			     int state)
{
	struct ct_sockrec r = { 0 };

	r.family = AF_INET;
	r.proto = IPPROTO_TCP;
	r.state = (uint8_t)state;
	inet_pton(AF_INET, "192.0.2.1", r.saddr);
	inet_pton(AF_INET, raddr, r.daddr);
	r.sport = lport;
	r.dport = rport;
	return r;
}

/* 3 sockets to .20 port 443, 2 to .30 port 80, 1 to .10 port 443. */
static const struct { const char *raddr; uint16_t lport, rport; int st; } socks[] = {
	{ "198.51.100.20", 40001, 443, 1 }, { "198.51.100.30", 40002, 80, 1 },
	{ "198.51.100.20", 40003, 443, 6 }, { "198.51.100.10", 40004, 443, 1 },
	{ "198.51.100.30", 40005, 80, 1 }, { "198.51.100.20", 40006, 443, 1 },
};
#define NSOCKS (sizeof(socks) / sizeof(socks[0]))

static char *counted(enum ct_ls_by by, bool json,
		     const struct ct_holder *owner)
{
	static char *out;
	struct ct_by_count c = { 0 };
	size_t len;
	FILE *f;

	free(out);
	for (size_t i = 0; i < NSOCKS; i++) {
		struct ct_sockrec r = rec(socks[i].raddr, socks[i].lport,
					  socks[i].rport, socks[i].st);

		assert_int_equal(ct_by_add(&c, by, &r, i % 2 ? owner : NULL), 0);
	}
	f = open_memstream(&out, &len);
	assert_non_null(f);
	ct_by_print(f, &c, by, json);
	fclose(f);
	ct_by_free(&c);
	return out;
}

static void test_by_raddr(void **state)
{
	(void)state;
	assert_string_equal(counted(CT_BY_RADDR, false, NULL),
			    "   COUNT RADDR\n"
			    "       3 198.51.100.20\n"
			    "       2 198.51.100.30\n"
			    "       1 198.51.100.10\n");
	assert_string_equal(counted(CT_BY_RADDR, true, NULL),
			    "{\"by\":\"raddr\",\"counts\":["
			    "{\"raddr\":\"198.51.100.20\",\"count\":3},"
			    "{\"raddr\":\"198.51.100.30\",\"count\":2},"
			    "{\"raddr\":\"198.51.100.10\",\"count\":1}]}\n");
}

static void test_by_ports_and_state(void **state)
{
	(void)state;
	assert_string_equal(counted(CT_BY_RPORT, true, NULL),
			    "{\"by\":\"rport\",\"counts\":["
			    "{\"rport\":443,\"count\":4},{\"rport\":80,\"count\":2}]}\n");
	/* Ties: in key order. */
	assert_non_null(strstr(counted(CT_BY_LPORT, false, NULL),
			       "       1 40001\n       1 40002\n"));
	assert_string_equal(counted(CT_BY_STATE, false, NULL),
			    "   COUNT STATE\n"
			    "       5 ESTABLISHED\n"
			    "       1 TIME_WAIT\n");
}

/* An unknown owner is "-", never a guess. */
static void test_by_comm(void **state)
{
	struct ct_holder h = { .pid = 42 };

	(void)state;
	strcpy(h.comm, "nginx");
	assert_string_equal(counted(CT_BY_COMM, false, &h),
			    "   COUNT COMM\n"
			    "       3 -\n"
			    "       3 nginx\n");
}

/* A socket whose cgroup is not known counts under "?", never a guess. */
static void test_by_container_unknown(void **state)
{
	(void)state;
	assert_string_equal(counted(CT_BY_CONTAINER, false, NULL),
			    "   COUNT CONTAINER\n"
			    "       6 ?\n");
	assert_int_equal(ct_ls_by_parse("container"), CT_BY_CONTAINER);
	assert_string_equal(ct_ls_by_name(CT_BY_CONTAINER), "container");
}

/* Per process, with each one's retransmits and drops summed (-T). */
static void test_by_process_trouble(void **state)
{
	struct ct_holder h = { .pid = 42 };
	struct ct_by_count c = { 0 };
	char *out = NULL;
	size_t len;
	FILE *f;

	(void)state;
	strcpy(h.comm, "nginx");
	c.trouble = true;
	for (size_t i = 0; i < NSOCKS; i++) {
		struct ct_sockrec r = rec(socks[i].raddr, socks[i].lport,
					  socks[i].rport, socks[i].st);

		r.has_info = r.has_mem = true;
		r.info.total_retrans = (uint32_t)i + 1;	/* 1..6 */
		r.mem.drops = 10;
		assert_int_equal(ct_by_add(&c, CT_BY_PROCESS, &r, i % 2 ? &h : NULL), 0);
	}
	/* A socket without tcp_info or meminfo adds nothing to them. */
	{
		struct ct_sockrec r = rec("198.51.100.9", 1, 2, 1);

		assert_int_equal(ct_by_add(&c, CT_BY_PROCESS, &r, &h), 0);
	}
	f = open_memstream(&out, &len);
	assert_non_null(f);
	ct_by_print(f, &c, CT_BY_PROCESS, false);
	ct_by_print(f, &c, CT_BY_PROCESS, true);
	fclose(f);
	/* nginx holds sockets 2, 4, 6 (retrans 2+4+6) and the bare one. */
	assert_string_equal(out,
			    "   COUNT PROCESS  RETRANS DROPS\n"
			    "       4 42/nginx      12    30\n"
			    "       3 -              9    30\n"
			    "{\"by\":\"process\",\"counts\":["
			    "{\"process\":\"42/nginx\",\"count\":4,\"retrans\":12,\"drops\":30},"
			    "{\"process\":\"-\",\"count\":3,\"retrans\":9,\"drops\":30}]}\n");
	assert_int_equal(ct_ls_by_parse("process"), CT_BY_PROCESS);
	free(out);
	ct_by_free(&c);
}

static void test_by_nothing(void **state)
{
	(void)state;
	{
		struct ct_by_count c = { 0 };
		char *out;
		size_t len;
		FILE *f = open_memstream(&out, &len);

		ct_by_print(f, &c, CT_BY_RPORT, true);
		fclose(f);
		assert_string_equal(out, "{\"by\":\"rport\",\"counts\":[]}\n");
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_raddr),
		cmocka_unit_test(test_by_ports_and_state),
		cmocka_unit_test(test_by_comm),
		cmocka_unit_test(test_by_container_unknown),
		cmocka_unit_test(test_by_nothing),
		cmocka_unit_test(test_by_process_trouble),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
