// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/stats_data.h"
#include "output/format.h"
#include "modes/stats_opts.h"
#include "modes/stats_out.h"
#include "engine/ringsize.h"
#include "engine/stats_proc.h"

/* --- helpers --------------------------------------------------------------- */

static char fixtures[PATH_MAX];

/*
 * Fixtures sit next to this file. Found from the source path when run from
 * the top of the tree, else from the binary's place in .output/tests.
 */
static void find_fixtures(void)
{
	char src[] = __FILE__, exe[PATH_MAX];
	ssize_t n;

	snprintf(fixtures, sizeof(fixtures), "%s/fixtures", dirname(src));
	if (!access(fixtures, R_OK))
		return;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	snprintf(fixtures, sizeof(fixtures), "%s/../../tests/unit/fixtures",
		 dirname(exe));
	assert_int_equal(access(fixtures, R_OK), 0);
}

static FILE *open_fixture(const char *name)
{
	char path[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fixtures, name);
	f = fopen(path, "r");
	assert_non_null(f);
	return f;
}

static uint64_t val_of(const struct ct_counters *s, const char *name)
{
	const struct ct_counter *c = ct_counters_find(s, name, 0);

	if (!c)
		fail_msg("no counter %s", name);
	return c->val;
}

static bool has(const struct ct_counters *s, const char *name)
{
	return ct_counters_find(s, name, 0) != NULL;
}

static int parse_snmp_text(const char *text, struct ct_counters *out, int *line)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int rc;

	assert_non_null(f);
	rc = ct_parse_snmp(f, out, line);
	fclose(f);
	return rc;
}

static int parse_snmp6_text(const char *text, struct ct_counters *out)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int line, rc;

	assert_non_null(f);
	rc = ct_parse_snmp6(f, out, &line);
	fclose(f);
	return rc;
}

static int parse_dev_text(const char *text, struct ct_ifaces *out)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int line, rc;

	assert_non_null(f);
	rc = ct_parse_netdev(f, out, &line);
	fclose(f);
	return rc;
}

/* A scratch directory holding one file, for ct_read_counters(). */
static void make_dir_with(char *dir, size_t len, const char *file,
			  const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(dir, len, "/tmp/ct-test-stats-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void remove_dir_with(const char *dir, const char *file)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	unlink(path);
	rmdir(dir);
}

struct capture {
	FILE *f;
	char *buf;
	size_t len;
};

static void cap_open(struct capture *c)
{
	c->buf = NULL;
	c->f = open_memstream(&c->buf, &c->len);
	assert_non_null(c->f);
}

static char *cap_close(struct capture *c)
{
	assert_int_equal(fclose(c->f), 0);
	return c->buf;
}

/* --- /proc/net/snmp and netstat -------------------------------------------- */

static void test_snmp_fixture_nstat_names(void **state)
{
	struct ct_counters s = { 0 };
	FILE *f = open_fixture("snmp");
	int line;

	(void)state;
	assert_int_equal(ct_parse_snmp(f, &s, &line), 0);
	fclose(f);
	assert_string_equal(s.v[0].name, "IpInReceives");
	assert_int_equal(val_of(&s, "IpInReceives"), 1055);
	assert_int_equal(val_of(&s, "IpInDelivers"), 1054);
	assert_int_equal(val_of(&s, "IcmpInDestUnreachs"), 3);
	assert_int_equal(val_of(&s, "IcmpMsgInType3"), 3);
	assert_int_equal(val_of(&s, "IcmpMsgOutType3"), 2);
	assert_int_equal(val_of(&s, "TcpActiveOpens"), 58);
	assert_int_equal(val_of(&s, "TcpPassiveOpens"), 45);
	assert_int_equal(val_of(&s, "TcpOutRsts"), 9);
	assert_int_equal(val_of(&s, "UdpOutDatagrams"), 27);
	assert_int_equal(val_of(&s, "UdpLiteMemErrors"), 0);
	/* 20 Ip + 6 Icmp + 2 IcmpMsg + 15 Tcp + 9 Udp + 9 UdpLite - 7. */
	assert_int_equal(s.n, 54);
	ct_counters_free(&s);
}

static void test_snmp_settings_left_out(void **state)
{
	static const char *const gone[] = {
		"IpForwarding", "IpDefaultTTL", "TcpRtoAlgorithm", "TcpRtoMin",
		"TcpRtoMax",	"TcpMaxConn",	"TcpCurrEstab",
	};
	struct ct_counters s = { 0 };
	FILE *f = open_fixture("snmp");
	int line;

	(void)state;
	assert_int_equal(ct_parse_snmp(f, &s, &line), 0);
	fclose(f);
	for (size_t i = 0; i < sizeof(gone) / sizeof(*gone); i++)
		assert_false(has(&s, gone[i]));
	ct_counters_free(&s);
}

static void test_netstat_fixture(void **state)
{
	struct ct_counters s = { 0 };
	FILE *f = open_fixture("netstat");
	int line;

	(void)state;
	assert_int_equal(ct_parse_snmp(f, &s, &line), 0);
	fclose(f);
	assert_int_equal(s.n, 13);
	assert_int_equal(val_of(&s, "TcpExtTW"), 50);
	assert_int_equal(val_of(&s, "TcpExtTCPSynRetrans"), 6);
	assert_true(val_of(&s, "IpExtInOctets") == UINT64_MAX);
	assert_int_equal(val_of(&s, "IpExtOutOctets"), 71026);
	assert_int_equal(val_of(&s, "MPTcpExtMPCapableSYNTX"), 2);
	ct_counters_free(&s);
}

static void test_snmp_blank_lines_and_crlf(void **state)
{
	struct ct_counters s = { 0 };
	int line;

	(void)state;
	assert_int_equal(parse_snmp_text("\nTcp: A B\r\nTcp: 1 2\r\n\n\nUdp: C\nUdp: 3",
					 &s, &line), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(val_of(&s, "TcpB"), 2);
	assert_int_equal(val_of(&s, "UdpC"), 3);
	ct_counters_free(&s);
}

static void test_snmp_malformed(void **state)
{
	static const struct {
		const char *text;
		int line;
	} bad[] = {
		{ "Tcp: A B\nUdp: 1 2\n", 2 },		/* prefixes differ */
		{ "Tcp: A B\nTcp: 1\n", 2 },		/* fewer values */
		{ "Tcp: A\nTcp: 1 2\n", 2 },		/* more values */
		{ "Tcp: A B\n", 1 },			/* no value line */
		{ "Tcp: A\nTcp: x\n", 2 },		/* not a number */
		{ "Tcp: A\nTcp: 1x\n", 2 },
		{ "Tcp: A\nTcp: 18446744073709551616\n", 2 }, /* 2^64 */
		{ "Tcp A\nTcp 1\n", 2 },		/* no colon */
		{ ": A\n: 1\n", 2 },			/* empty prefix */
		{ "Ip: A\nIp: 1\nTcp: A\nTcp: 1 2\n", 4 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct ct_counters s = { 0 };
		int line = 0;

		assert_int_equal(parse_snmp_text(bad[i].text, &s, &line),
				 -EBADMSG);
		assert_int_equal(line, bad[i].line);
		ct_counters_free(&s);
	}
}

static void test_snmp_negative_and_long_names_skipped(void **state)
{
	char text[512], field[80];
	struct ct_counters s = { 0 };
	int line;

	(void)state;
	memset(field, 'N', sizeof(field) - 1);
	field[sizeof(field) - 1] = '\0';
	snprintf(text, sizeof(text), "Foo: A Gauge %s B\nFoo: 1 -5 7 2\n", field);
	assert_int_equal(parse_snmp_text(text, &s, &line), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(val_of(&s, "FooA"), 1);
	assert_int_equal(val_of(&s, "FooB"), 2);
	ct_counters_free(&s);
}

/* --- /proc/net/snmp6 ------------------------------------------------------- */

static void test_snmp6_fixture(void **state)
{
	struct ct_counters s = { 0 };
	FILE *f = open_fixture("snmp6");
	int line;

	(void)state;
	assert_int_equal(ct_parse_snmp6(f, &s, &line), 0);
	fclose(f);
	assert_int_equal(s.n, 8);
	assert_string_equal(s.v[0].name, "Ip6InReceives");
	assert_int_equal(val_of(&s, "Ip6InReceives"), 28);
	assert_int_equal(val_of(&s, "Ip6InOctets"), 5128);
	assert_int_equal(val_of(&s, "Udp6InDatagrams"), 12);
	assert_int_equal(val_of(&s, "UdpLite6InDatagrams"), 0);
	ct_counters_free(&s);
}

static void test_snmp6_malformed(void **state)
{
	static const char *const bad[] = {
		"Ip6InReceives\n", "Ip6InReceives 1 2\n", "Ip6InReceives x\n",
		"Ip6InReceives 99999999999999999999\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct ct_counters s = { 0 };

		assert_int_equal(parse_snmp6_text(bad[i], &s), -EBADMSG);
		ct_counters_free(&s);
	}
}

/* --- reading a whole directory --------------------------------------------- */

static void test_read_counters_nstat_order(void **state)
{
	struct ct_counters s = { 0 };
	char err[256] = "";
	size_t ip6, tcpext;

	(void)state;
	assert_int_equal(ct_read_counters(fixtures, &s, err, sizeof(err)), 0);
	assert_int_equal(s.n, 54 + 8 + 13);
	/* snmp, then snmp6, then netstat, as nstat prints them. */
	ip6 = (size_t)(ct_counters_find(&s, "Ip6InReceives", 0) - s.v);
	tcpext = (size_t)(ct_counters_find(&s, "TcpExtSyncookiesSent", 0) - s.v);
	assert_int_equal(ip6, 54);
	assert_int_equal(tcpext, 62);
	assert_string_equal(s.v[0].name, "IpInReceives");
	assert_string_equal(s.v[s.n - 1].name, "MPTcpExtMPCapableSYNTX");
	ct_counters_free(&s);
}

static void test_read_counters_missing_files_skipped(void **state)
{
	struct ct_counters s = { 0 };
	char err[256] = "", dir[64];

	(void)state;
	assert_int_equal(ct_read_counters("/nonexistent/ct", &s, err,
					  sizeof(err)), 0);
	assert_int_equal(s.n, 0);
	/* No IPv6 and no netstat: snmp alone. */
	make_dir_with(dir, sizeof(dir), "snmp", "Tcp: ActiveOpens\nTcp: 4\n");
	assert_int_equal(ct_read_counters(dir, &s, err, sizeof(err)), 0);
	remove_dir_with(dir, "snmp");
	assert_int_equal(s.n, 1);
	assert_int_equal(val_of(&s, "TcpActiveOpens"), 4);
	ct_counters_free(&s);
}

static void test_read_counters_reuses_set(void **state)
{
	struct ct_counters s = { 0 };
	char err[256] = "";

	(void)state;
	assert_int_equal(ct_read_counters(fixtures, &s, err, sizeof(err)), 0);
	assert_int_equal(ct_read_counters(fixtures, &s, err, sizeof(err)), 0);
	assert_int_equal(s.n, 75);
	ct_counters_free(&s);
}

static void test_read_counters_bad_file_message(void **state)
{
	struct ct_counters s = { 0 };
	char err[256] = "", dir[64];
	int rc;

	(void)state;
	make_dir_with(dir, sizeof(dir), "netstat", "TcpExt: A B\nTcpExt: 1\n");
	rc = ct_read_counters(dir, &s, err, sizeof(err));
	remove_dir_with(dir, "netstat");
	assert_int_equal(rc, -EBADMSG);
	assert_non_null(strstr(err, "/netstat: line 2:"));
	assert_null(strchr(err, '\n'));
	ct_counters_free(&s);
}

/* --- /proc/net/dev --------------------------------------------------------- */

static void test_netdev_fixture(void **state)
{
	struct ct_ifaces s = { 0 };
	const struct ct_iface *e;
	FILE *f = open_fixture("dev");
	int line;

	(void)state;
	assert_int_equal(ct_parse_netdev(f, &s, &line), 0);
	fclose(f);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.v[0].name, "lo");
	assert_string_equal(s.v[2].name, "veth0");
	assert_int_equal(s.v[0].mtu, -1);
	assert_int_equal(s.v[0].f[CT_IF_RX_PACKETS], 358);
	assert_int_equal(s.v[0].f[CT_IF_TX_BYTES], 49523);
	/* eth0 has every column different, and no space after its ':'. */
	e = &s.v[1];
	assert_string_equal(e->name, "eth0");
	assert_true(e->f[CT_IF_RX_BYTES] == UINT64_MAX);
	assert_int_equal(e->f[CT_IF_RX_PACKETS], 727);
	for (int k = CT_IF_RX_ERRS; k <= CT_IF_RX_MULTICAST; k++)
		assert_int_equal(e->f[k], k - CT_IF_RX_ERRS + 1);
	assert_int_equal(e->f[CT_IF_TX_BYTES], 32819);
	assert_int_equal(e->f[CT_IF_TX_PACKETS], 406);
	for (int k = CT_IF_TX_ERRS; k <= CT_IF_TX_COMPRESSED; k++)
		assert_int_equal(e->f[k], k - CT_IF_TX_ERRS + 7);
	ct_ifaces_free(&s);
}

static void test_netdev_malformed(void **state)
{
	static const char *const bad[] = {
		"  lo: 1 2 3\n",				/* too few */
		"  lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n", /* too many */
		"  lo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", /* no ':' */
		"  lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x\n",
		"  lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 -1\n",
		"    : 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", /* no name */
		"abcdefghijklmnop: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
		"a b: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct ct_ifaces s = { 0 };

		assert_int_equal(parse_dev_text(bad[i], &s), -EBADMSG);
		ct_ifaces_free(&s);
	}
}

static void test_read_ifaces_mtu(void **state)
{
	char err[256] = "", sysnet[PATH_MAX + 16];
	struct ct_ifaces s = { 0 };

	(void)state;
	snprintf(sysnet, sizeof(sysnet), "%s/sysnet", fixtures);
	assert_int_equal(ct_read_ifaces(fixtures, sysnet, &s, err, sizeof(err)), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.v[0].mtu, 65536);
	assert_int_equal(s.v[1].mtu, 1500);
	assert_int_equal(s.v[2].mtu, -1);	/* no mtu file */
	ct_ifaces_free(&s);
	/* No /proc/net/dev: no interfaces, no error. */
	assert_int_equal(ct_read_ifaces("/nonexistent/ct", sysnet, &s, err,
					sizeof(err)), 0);
	assert_int_equal(s.n, 0);
	ct_ifaces_free(&s);
}

static void test_read_mtu_refuses_paths(void **state)
{
	char sysnet[PATH_MAX + 16];

	(void)state;
	snprintf(sysnet, sizeof(sysnet), "%s/sysnet", fixtures);
	assert_int_equal(ct_read_mtu(sysnet, "lo"), 65536);
	assert_int_equal(ct_read_mtu(sysnet, ".."), -1);
	assert_int_equal(ct_read_mtu(sysnet, "."), -1);
	assert_int_equal(ct_read_mtu(sysnet, "../sysnet/lo"), -1);
}

/* --- deltas ---------------------------------------------------------------- */

static void test_counter_delta(void **state)
{
	(void)state;
	assert_true(ct_counter_delta(5, 8) == 3);
	assert_true(ct_counter_delta(10, 10) == 0);
	assert_true(ct_counter_delta(0, UINT64_MAX) == UINT64_MAX);
	assert_true(ct_counter_delta(UINT64_MAX - 1, UINT64_MAX) == 1);
	/* Past 2^64 - 1 or reset: the count since, never a huge or negative one. */
	assert_true(ct_counter_delta(UINT64_MAX, 3) == 3);
	assert_true(ct_counter_delta(1000, 0) == 0);
	assert_true(ct_counter_delta(1000, 999) == 999);
}

static void test_counters_delta_by_name(void **state)
{
	struct ct_counters prev = { 0 }, cur = { 0 }, d = { 0 };

	(void)state;
	assert_int_equal(ct_counters_add(&prev, "A", 10), 0);
	assert_int_equal(ct_counters_add(&prev, "B", UINT64_MAX - 2), 0);
	assert_int_equal(ct_counters_add(&prev, "Gone", 7), 0);
	assert_int_equal(ct_counters_add(&prev, "C", 50), 0);
	/* Another order, one name new, one gone, one reset. */
	assert_int_equal(ct_counters_add(&cur, "B", UINT64_MAX), 0);
	assert_int_equal(ct_counters_add(&cur, "A", 15), 0);
	assert_int_equal(ct_counters_add(&cur, "New", 4), 0);
	assert_int_equal(ct_counters_add(&cur, "C", 20), 0);
	assert_int_equal(ct_counters_delta(&prev, &cur, &d), 0);
	assert_int_equal(d.n, 4);
	assert_string_equal(d.v[0].name, "B");
	assert_true(d.v[0].val == 2);
	assert_string_equal(d.v[1].name, "A");
	assert_int_equal(d.v[1].val, 5);
	assert_string_equal(d.v[2].name, "New");
	assert_int_equal(d.v[2].val, 4);
	assert_string_equal(d.v[3].name, "C");
	assert_int_equal(d.v[3].val, 20);
	/* The output set is reused, not appended to. */
	assert_int_equal(ct_counters_delta(&prev, &cur, &d), 0);
	assert_int_equal(d.n, 4);
	ct_counters_free(&prev);
	ct_counters_free(&cur);
	ct_counters_free(&d);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Names in another order must not cost a scan each: 200,000 reversed
 * names took 190 s when they did. Sorted once, they take well under 1 s,
 * even under the sanitizers; the bound leaves room for a slow machine.
 */
#define MANY_NAMES 200000
#define MANY_NAMES_MAX_S 10.0

static void test_counters_delta_reversed_many(void **state)
{
	struct ct_counters prev = { 0 }, cur = { 0 }, d = { 0 };
	char name[32];
	double t0;

	(void)state;
	for (int i = 0; i < MANY_NAMES; i++) {
		snprintf(name, sizeof(name), "Tcp%d", i);
		assert_int_equal(ct_counters_add(&prev, name, (uint64_t)i), 0);
	}
	for (int i = MANY_NAMES - 1; i >= 0; i--) {
		snprintf(name, sizeof(name), "Tcp%d", i);
		assert_int_equal(ct_counters_add(&cur, name, 3 * (uint64_t)i), 0);
	}
	t0 = now_s();
	assert_int_equal(ct_counters_delta(&prev, &cur, &d), 0);
	assert_true(now_s() - t0 < MANY_NAMES_MAX_S);
	assert_int_equal(d.n, MANY_NAMES);
	for (int i = 0; i < MANY_NAMES; i++) {
		int was = MANY_NAMES - 1 - i;

		snprintf(name, sizeof(name), "Tcp%d", was);
		assert_string_equal(d.v[i].name, name);
		assert_true(d.v[i].val == 2 * (uint64_t)was);
	}
	ct_counters_free(&prev);
	ct_counters_free(&cur);
	ct_counters_free(&d);
}

/* One interface gone shifts every later one off its hint. */
static void test_ifaces_delta_one_gone_many(void **state)
{
	struct ct_ifaces prev = { 0 }, cur = { 0 }, d = { 0 };
	struct ct_iface *i;
	char name[CT_IFNAME_MAX];
	double t0;

	(void)state;
	for (int k = 0; k < MANY_NAMES; k++) {
		snprintf(name, sizeof(name), "veth%d", k);
		i = ct_ifaces_add(&prev, name);
		assert_non_null(i);
		i->f[CT_IF_RX_BYTES] = (uint64_t)k;
		if (k == 0)
			continue;
		i = ct_ifaces_add(&cur, name);
		assert_non_null(i);
		i->f[CT_IF_RX_BYTES] = 5 + 2 * (uint64_t)k;
	}
	t0 = now_s();
	assert_int_equal(ct_ifaces_delta(&prev, &cur, &d), 0);
	assert_true(now_s() - t0 < MANY_NAMES_MAX_S);
	assert_int_equal(d.n, MANY_NAMES - 1);
	for (size_t k = 0; k < d.n; k++) {
		assert_string_equal(d.v[k].name, cur.v[k].name);
		assert_true(d.v[k].f[CT_IF_RX_BYTES] == 5 + k + 1);
	}
	ct_ifaces_free(&prev);
	ct_ifaces_free(&cur);
	ct_ifaces_free(&d);
}

/* Equal names (never from the kernel) pair up the first with the first. */
static void test_counters_delta_duplicate_names(void **state)
{
	struct ct_counters prev = { 0 }, cur = { 0 }, d = { 0 };

	(void)state;
	assert_int_equal(ct_counters_add(&prev, "B", 1), 0);
	assert_int_equal(ct_counters_add(&prev, "A", 10), 0);
	assert_int_equal(ct_counters_add(&prev, "A", 20), 0);
	assert_int_equal(ct_counters_add(&cur, "A", 15), 0);
	assert_int_equal(ct_counters_add(&cur, "X", 1), 0);
	assert_int_equal(ct_counters_delta(&prev, &cur, &d), 0);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.v[0].val, 5);
	assert_int_equal(d.v[1].val, 1);
	ct_counters_free(&prev);
	ct_counters_free(&cur);
	ct_counters_free(&d);
}

static void test_counters_add_limits(void **state)
{
	char name[CT_STAT_NAME_MAX + 1];
	struct ct_counters s = { 0 };

	(void)state;
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(ct_counters_add(&s, name, 1), -ENAMETOOLONG);
	name[CT_STAT_NAME_MAX - 1] = '\0';
	assert_int_equal(ct_counters_add(&s, name, 1), 0);
	/* Enough to make the array grow more than once. */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(ct_counters_add(&s, "n", (uint64_t)i), 0);
	assert_int_equal(s.n, 1001);
	assert_int_equal(s.v[1000].val, 999);
	ct_counters_free(&s);
	assert_int_equal(s.n, 0);
	assert_null(s.v);
}

static void test_ifaces_delta(void **state)
{
	struct ct_ifaces prev = { 0 }, cur = { 0 }, d = { 0 };
	struct ct_iface *i;

	(void)state;
	i = ct_ifaces_add(&prev, "lo");
	i->f[CT_IF_RX_PACKETS] = 100;
	i->f[CT_IF_TX_BYTES] = UINT64_MAX;
	i = ct_ifaces_add(&cur, "veth9");	/* appeared */
	i->f[CT_IF_RX_PACKETS] = 3;
	i = ct_ifaces_add(&cur, "lo");
	i->mtu = 65536;
	i->f[CT_IF_RX_PACKETS] = 130;
	i->f[CT_IF_TX_BYTES] = 5;		/* went past 2^64 */
	assert_int_equal(ct_ifaces_delta(&prev, &cur, &d), 0);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.v[0].name, "veth9");
	assert_int_equal(d.v[0].f[CT_IF_RX_PACKETS], 3);
	assert_int_equal(d.v[0].mtu, -1);
	assert_string_equal(d.v[1].name, "lo");
	assert_int_equal(d.v[1].mtu, 65536);
	assert_int_equal(d.v[1].f[CT_IF_RX_PACKETS], 30);
	assert_int_equal(d.v[1].f[CT_IF_TX_BYTES], 5);
	assert_int_equal(d.v[1].f[CT_IF_RX_BYTES], 0);
	assert_null(ct_ifaces_add(&d, "abcdefghijklmnop"));
	ct_ifaces_free(&prev);
	ct_ifaces_free(&cur);
	ct_ifaces_free(&d);
}

/* --- globs ----------------------------------------------------------------- */

static void test_glob_match(void **state)
{
	char *tcp[] = { "Tcp*" };
	char *two[] = { "Udp6*", "IpExt*Octets" };
	char *set[] = { "[TU]dp[!6]*" };

	(void)state;
	assert_true(ct_glob_match(NULL, 0, "Anything"));
	assert_true(ct_glob_match(tcp, 1, "TcpActiveOpens"));
	/* As with nstat, the prefix takes in TcpExt too. */
	assert_true(ct_glob_match(tcp, 1, "TcpExtTCPSynRetrans"));
	assert_false(ct_glob_match(tcp, 1, "MPTcpExtMPCapableSYNRX"));
	assert_false(ct_glob_match(tcp, 1, "tcpActiveOpens"));
	assert_true(ct_glob_match(two, 2, "IpExtInOctets"));
	assert_true(ct_glob_match(two, 2, "IpExtOutMcastOctets"));
	assert_false(ct_glob_match(two, 2, "IpExtInNoECTPkts"));
	assert_true(ct_glob_match(two, 2, "Udp6InDatagrams"));
	assert_true(ct_glob_match(set, 1, "UdpInDatagrams"));
	assert_false(ct_glob_match(set, 1, "Udp6InDatagrams"));
}

static void test_glob_check(void **state)
{
	static const char *const good[] = {
		"Tcp*", "TcpActiveOpens", "[abc]x", "[]]", "[!]a]", "a\\*",
		"[[:alpha:]]*", "?", "*",
	};
	static const char *const bad[] = {
		"", "[abc", "abc\\", "[", "[!", "[]", "Tcp[*", "[a\\",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		assert_int_equal(ct_glob_check(good[i]), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(ct_glob_check(bad[i]), -EINVAL);
}

/* --- output ---------------------------------------------------------------- */

static void small_snap(struct ct_stats_snap *s, double interval_s)
{
	memset(s, 0, sizeof(*s));
	s->wall_ns = 1500000000ULL * 1000000000ULL + 250000000ULL;
	s->interval_s = interval_s;
	assert_int_equal(ct_counters_add(&s->counters, "TcpActiveOpens", 5), 0);
	assert_int_equal(ct_counters_add(&s->counters, "TcpAttemptFails", 0), 0);
	assert_int_equal(ct_counters_add(&s->counters, "IpExtInOctets",
					 UINT64_MAX), 0);
}

typedef void (*print_fn)(FILE *f, const struct ct_stats_snap *s,
			 const struct ct_stats_view *v);

/* What one of stats' printers writes, in a string to free. */
static char *printed(print_fn fn, const struct ct_stats_snap *s,
		     const struct ct_stats_view *v)
{
	struct capture c;

	cap_open(&c);
	fn(c.f, s, v);
	return cap_close(&c);
}

static char *print_counters(const struct ct_stats_snap *s,
			    const struct ct_stats_view *v)
{
	return printed(ct_stats_print_counters, s, v);
}

static void test_json_counters(void **state)
{
	struct ct_stats_view v = { .json = true };
	struct ct_stats_snap s;
	char *out;

	(void)state;
	small_snap(&s, 1.0004);
	out = print_counters(&s, &v);
	assert_string_equal(out,
			    "{\"time\":\"2017-07-14T02:40:00.250000Z\","
			    "\"interval_s\":1.000,\"counters\":{"
			    "\"TcpActiveOpens\":5,"
			    "\"IpExtInOctets\":18446744073709551615}}\n");
	free(out);
	v.zeros = true;
	s.interval_s = -1;
	out = print_counters(&s, &v);
	assert_string_equal(out,
			    "{\"time\":\"2017-07-14T02:40:00.250000Z\","
			    "\"interval_s\":null,\"counters\":{"
			    "\"TcpActiveOpens\":5,\"TcpAttemptFails\":0,"
			    "\"IpExtInOctets\":18446744073709551615}}\n");
	free(out);
	ct_counters_free(&s.counters);
}

static void test_json_counters_filtered_to_nothing(void **state)
{
	char *globs[] = { "Udp*" };
	struct ct_stats_view v = { .json = true, .globs = globs, .nglobs = 1 };
	struct ct_stats_snap s;
	char *out;

	(void)state;
	small_snap(&s, 2.5);
	out = print_counters(&s, &v);
	assert_string_equal(out,
			    "{\"time\":\"2017-07-14T02:40:00.250000Z\","
			    "\"interval_s\":2.500,\"counters\":{}}\n");
	free(out);
	ct_counters_free(&s.counters);
}

static void test_text_counters(void **state)
{
	char *globs[] = { "Tcp*" };
	struct ct_stats_view v = { .globs = globs, .nglobs = 1 };
	struct ct_stats_snap s;
	char *out;

	(void)state;
	small_snap(&s, -1);
	out = print_counters(&s, &v);
	assert_string_equal(out, "TcpActiveOpens                  5\n");
	free(out);
	/* Deltas start with "# time (interval)"; the time is local. */
	setenv("TZ", "UTC", 1);
	tzset();
	s.interval_s = 1;
	v.zeros = true;
	out = print_counters(&s, &v);
	assert_string_equal(out, "# 02:40:00.250 (1.000 s)\n"
				 "TcpActiveOpens                  5\n"
				 "TcpAttemptFails                 0\n");
	free(out);
	ct_counters_free(&s.counters);
}

static void iface_snap(struct ct_stats_snap *s)
{
	struct ct_iface *i;

	memset(s, 0, sizeof(*s));
	s->wall_ns = 1500000000ULL * 1000000000ULL;
	s->interval_s = -1;
	i = ct_ifaces_add(&s->ifaces, "lo");
	assert_non_null(i);
	i->mtu = 65536;
	for (int k = 0; k < CT_IF_NFIELDS; k++)
		i->f[k] = (uint64_t)k + 1;
	i = ct_ifaces_add(&s->ifaces, "eth0");
	assert_non_null(i);
}

static char *print_ifaces(const struct ct_stats_snap *s,
			  const struct ct_stats_view *v)
{
	return printed(ct_stats_print_ifaces, s, v);
}

static void test_json_ifaces(void **state)
{
	struct ct_stats_view v = { .json = true };
	struct ct_stats_snap s;
	char *out;

	(void)state;
	iface_snap(&s);
	out = print_ifaces(&s, &v);
	assert_string_equal(out,
		"{\"time\":\"2017-07-14T02:40:00.000000Z\",\"interval_s\":null,"
		"\"interfaces\":[{\"name\":\"lo\",\"mtu\":65536,"
		"\"rx_bytes\":1,\"rx_packets\":2,\"rx_errors\":3,"
		"\"rx_dropped\":4,\"rx_fifo\":5,\"rx_frame\":6,"
		"\"rx_compressed\":7,\"rx_multicast\":8,\"tx_bytes\":9,"
		"\"tx_packets\":10,\"tx_errors\":11,\"tx_dropped\":12,"
		"\"tx_fifo\":13,\"tx_collisions\":14,\"tx_carrier\":15,"
		"\"tx_compressed\":16},"
		"{\"name\":\"eth0\",\"mtu\":null,"
		"\"rx_bytes\":0,\"rx_packets\":0,\"rx_errors\":0,"
		"\"rx_dropped\":0,\"rx_fifo\":0,\"rx_frame\":0,"
		"\"rx_compressed\":0,\"rx_multicast\":0,\"tx_bytes\":0,"
		"\"tx_packets\":0,\"tx_errors\":0,\"tx_dropped\":0,"
		"\"tx_fifo\":0,\"tx_collisions\":0,\"tx_carrier\":0,"
		"\"tx_compressed\":0}]}\n");
	free(out);
	ct_ifaces_free(&s.ifaces);
}

static void test_json_ifaces_glob(void **state)
{
	char *globs[] = { "eth*" }, *none[] = { "wlan*" };
	struct ct_stats_view v = { .json = true, .globs = globs, .nglobs = 1 };
	struct ct_stats_snap s;
	char *out;

	(void)state;
	iface_snap(&s);
	out = print_ifaces(&s, &v);
	assert_non_null(strstr(out, "\"interfaces\":[{\"name\":\"eth0\""));
	assert_null(strstr(out, "\"lo\""));
	free(out);
	v.globs = none;
	out = print_ifaces(&s, &v);
	assert_non_null(strstr(out, "\"interfaces\":[]}\n"));
	free(out);
	ct_ifaces_free(&s.ifaces);
}

static void test_text_ifaces(void **state)
{
	struct ct_stats_view v = { 0 };
	struct ct_stats_snap s;
	char *out;

	(void)state;
	iface_snap(&s);
	out = print_ifaces(&s, &v);
	assert_string_equal(out,
		"Iface              MTU      RX-OK RX-ERR RX-DRP RX-OVR      TX-OK TX-ERR TX-DRP TX-OVR       RX-BYTES       TX-BYTES\n"
		"lo               65536          2      3      4      5         10     11     12     13              1              9\n"
		"eth0                 -          0      0      0      0          0      0      0      0              0              0\n");
	free(out);
	ct_ifaces_free(&s.ifaces);
}

static void test_if_field_names(void **state)
{
	(void)state;
	for (int k = 0; k < CT_IF_NFIELDS; k++) {
		assert_non_null(ct_if_field_name(k));
		assert_string_not_equal(ct_if_field_name(k), "unknown");
	}
	assert_string_equal(ct_if_field_name(-1), "unknown");
	assert_string_equal(ct_if_field_name(CT_IF_NFIELDS), "unknown");
}

/* --- options --------------------------------------------------------------- */

#define PARSE_MODE "stats"
#define PARSE_OPTS struct ct_stats_opts
#define PARSE_FN ct_stats_parse
#include "parse_test.h"

static void test_opts_defaults(void **state)
{
	(void)state;
	assert_int_equal(PARSE("-d", "2", "--count", "3", "--interfaces", "-zj",
			       "X*"), CT_PARSE_OK);
	assert_int_equal(parse_argv((char *[]){ "stats", NULL }), CT_PARSE_OK);
	assert_true(opts.interval_s == 0);
	assert_int_equal(opts.count, 0);
	assert_false(opts.interfaces);
	assert_false(opts.zeros);
	assert_false(opts.json);
	assert_int_equal(opts.nglobs, 0);
}

static void test_opts_all(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--interval", "0.5", "--count=4", "--interfaces",
			       "--zeros", "--json"), CT_PARSE_OK);
	assert_true(opts.interval_s == 0.5);
	assert_int_equal(opts.count, 4);
	assert_true(opts.interfaces && opts.zeros && opts.json);
	assert_int_equal(PARSE("-d1", "--count", "2", "--interf", "-z", "-j"),
			 CT_PARSE_OK);
	assert_true(opts.interval_s == 1);
	assert_int_equal(opts.count, 2);
	assert_true(opts.interfaces && opts.zeros && opts.json);
}

static void test_opts_globs_anywhere(void **state)
{
	(void)state;
	assert_int_equal(PARSE("Tcp*", "-z", "IpExt*Octets", "--json"),
			 CT_PARSE_OK);
	assert_int_equal(opts.nglobs, 2);
	assert_string_equal(opts.globs[0], "Tcp*");
	assert_string_equal(opts.globs[1], "IpExt*Octets");
	assert_true(opts.zeros && opts.json);
}

static void test_opts_help(void **state)
{
	(void)state;
	assert_int_equal(PARSE("-h"), CT_PARSE_HELP);
	assert_int_equal(PARSE("-z", "--help"), CT_PARSE_HELP);
}

static void test_opts_errors(void **state)
{
	(void)state;
	assert_parse_error("invalid --interval '0'", "-d", "0");
	assert_parse_error("invalid --interval 'abc'", "-d", "abc");
	assert_parse_error("invalid --interval '-1'", "--interval", "-1");
	assert_parse_error("invalid --interval '0.001'", "-d", "0.001");
	assert_parse_error("invalid --interval ''", "--interval=");
	assert_parse_error("0.01 to 86400", "-d", "86401");
	assert_parse_error("invalid --count '0'", "-d", "1", "--count", "0");
	assert_parse_error("invalid --count 'x'", "-d", "1", "--count", "x");
	assert_parse_error("invalid --count '4294967296'", "-d", "1",
			   "--count", "4294967296");
	assert_parse_error("1 to 1000000000", "-d", "1", "--count",
			   "1000000001");
	assert_parse_error("'--count' needs '--interval'", "--count", "3");
	/* -c is --comm and -i is ls's --info: stats spells them out. */
	assert_parse_error("unknown option '-c'", "-d", "1", "-c", "3");
	assert_parse_error("unknown option '-i'", "-i");
	assert_parse_error("unknown option '--bogus'", "--bogus");
	assert_parse_error("unknown option '-x'", "-x");
	assert_parse_error("needs a value", "-d");
	assert_parse_error("needs a value", "--count");
	assert_parse_error("'--json' takes no value", "--json=1");
	assert_parse_error("invalid pattern '[Tcp'", "Tcp*", "[Tcp");
	assert_parse_error("invalid pattern ''", "");
}

static void test_usage_mentions_every_option(void **state)
{
	static const char *const longs[] = { "--interval", "--count",
					     "--interfaces", "--zeros",
					     "--json", "--help" };
	struct capture c;
	char *out;

	(void)state;
	cap_open(&c);
	ct_opts_help(&ct_stats_cmd, c.f);
	out = cap_close(&c);
	assert_non_null(strstr(out, "Usage: conntrace stats"));
	for (size_t i = 0; i < sizeof(longs) / sizeof(*longs); i++)
		assert_non_null(strstr(out, longs[i]));
	free(out);
}

static int setup(void **state)
{
	(void)state;
	find_fixtures();
	return 0;
}

/* --- the ring's size from the rate of opens ------------------------------- */

/* The kernel's counters, both ends: 58 active and 45 passive opens. */
static void test_opens_read(void **state)
{
	struct ct_opens o = { 0 };

	(void)state;
	find_fixtures();
	assert_int_equal(ct_opens_read(fixtures, &o), 0);
	assert_int_equal(o.opens, 58 + 45);
	assert_true(o.ns > 0);
	assert_int_equal(ct_opens_read("/nonexistent", &o), -ENOENT);
}

static void test_ring_for_rate(void **state)
{
	const uint32_t two = 2U << 20;
	struct ct_opens a = { 1000, 1000000000ULL }, b = a;

	(void)state;
	/* Quiet: the floor. */
	b.ns += 100000000ULL;
	assert_int_equal(ct_ring_for_rate(&a, &b, two), two);
	/* 40,000 opens a second: 0.25 s of their transitions is 9.2 MB. */
	b.opens += 4000;
	assert_int_equal(ct_opens_rate(&a, &b), 40000);
	assert_int_equal(ct_ring_for_rate(&a, &b, two), 16U << 20);
	/* Never past the cap, however fast. */
	b.opens += 40000000;
	assert_int_equal(ct_ring_for_rate(&a, &b, two), CT_RING_AUTO_MAX);
	/* Readings 10 ms apart, or one missing, say nothing. */
	b.ns = a.ns + 10000000ULL;
	assert_int_equal(ct_opens_rate(&a, &b), 0);
	assert_int_equal(ct_ring_for_rate(&a, &b, two), two);
	a.ns = 0;
	b.ns = 2000000000ULL;
	assert_int_equal(ct_ring_for_rate(&a, &b, two), two);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snmp_fixture_nstat_names),
		cmocka_unit_test(test_snmp_settings_left_out),
		cmocka_unit_test(test_netstat_fixture),
		cmocka_unit_test(test_snmp_blank_lines_and_crlf),
		cmocka_unit_test(test_snmp_malformed),
		cmocka_unit_test(test_snmp_negative_and_long_names_skipped),
		cmocka_unit_test(test_snmp6_fixture),
		cmocka_unit_test(test_snmp6_malformed),
		cmocka_unit_test(test_read_counters_nstat_order),
		cmocka_unit_test(test_read_counters_missing_files_skipped),
		cmocka_unit_test(test_read_counters_reuses_set),
		cmocka_unit_test(test_read_counters_bad_file_message),
		cmocka_unit_test(test_netdev_fixture),
		cmocka_unit_test(test_netdev_malformed),
		cmocka_unit_test(test_read_ifaces_mtu),
		cmocka_unit_test(test_read_mtu_refuses_paths),
		cmocka_unit_test(test_counter_delta),
		cmocka_unit_test(test_counters_delta_by_name),
		cmocka_unit_test(test_counters_add_limits),
		cmocka_unit_test(test_counters_delta_reversed_many),
		cmocka_unit_test(test_ifaces_delta_one_gone_many),
		cmocka_unit_test(test_counters_delta_duplicate_names),
		cmocka_unit_test(test_ifaces_delta),
		cmocka_unit_test(test_glob_match),
		cmocka_unit_test(test_glob_check),
		cmocka_unit_test(test_json_counters),
		cmocka_unit_test(test_json_counters_filtered_to_nothing),
		cmocka_unit_test(test_text_counters),
		cmocka_unit_test(test_json_ifaces),
		cmocka_unit_test(test_json_ifaces_glob),
		cmocka_unit_test(test_text_ifaces),
		cmocka_unit_test(test_if_field_names),
		cmocka_unit_test(test_opts_defaults),
		cmocka_unit_test(test_opts_all),
		cmocka_unit_test(test_opts_globs_anywhere),
		cmocka_unit_test(test_opts_help),
		cmocka_unit_test(test_opts_errors),
		cmocka_unit_test(test_usage_mentions_every_option),
		cmocka_unit_test(test_opens_read),
		cmocka_unit_test(test_ring_for_rate),
	};

	/* JSON times in UTC ("Z"), whatever this machine's zone. */
	ct_time_set_utc(true);
	return cmocka_run_group_tests(tests, setup, NULL);
}
