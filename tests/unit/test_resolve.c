// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* ls --resolve: names looked up once, each waited for a bounded time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/resolve.h"
#include "output/format.h"

static atomic_int calls;
static atomic_int slow_us;	/* how long the fake resolver takes */

/* Names 10.0.0.N "host-N"; 10.0.1.N has no name. */
static int fake_lookup(int family, const uint8_t *addr, char *name, size_t len)
{
	atomic_fetch_add(&calls, 1);
	usleep((useconds_t)atomic_load(&slow_us));
	if (family != AF_INET || addr[2] != 0)
		return -1;
	snprintf(name, len, "host-%u", addr[3]);
	return 0;
}

static void ip(const char *s, uint8_t *addr)
{
	memset(addr, 0, 16);
	assert_int_equal(inet_pton(AF_INET, s, addr), 1);
}

static const char *host(struct ct_resolver *r, const char *s)
{
	static char buf[256];
	uint8_t a[16];

	ip(s, a);
	return ct_resolve_host(r, AF_INET, a, buf, sizeof(buf));
}

static double ms_since(uint64_t t0)
{
	return (double)(ct_monotonic_ns() - t0) / 1e6;
}

static int setup(void **state)
{
	(void)state;
	atomic_store(&calls, 0);
	atomic_store(&slow_us, 0);
	return 0;
}

static void test_names_and_cache(void **state)
{
	struct ct_resolver r;

	(void)state;
	assert_int_equal(ct_resolver_init(&r, fake_lookup), 0);
	assert_string_equal(host(&r, "10.0.0.7"), "host-7");
	assert_string_equal(host(&r, "10.0.1.7"), "10.0.1.7");
	for (int i = 0; i < 5; i++) {
		assert_string_equal(host(&r, "10.0.0.7"), "host-7");
		assert_string_equal(host(&r, "10.0.1.7"), "10.0.1.7");
	}
	/* Each address asked for once, whatever the answer. */
	assert_int_equal(atomic_load(&calls), 2);
	ct_resolver_free(&r);
}

/* A resolver that hangs holds one address back a bounded time, not more. */
static void test_slow_lookup_is_bounded(void **state)
{
	struct ct_resolver r;
	uint64_t t0;
	double ms;

	(void)state;
	atomic_store(&slow_us, 1500 * 1000);
	assert_int_equal(ct_resolver_init(&r, fake_lookup), 0);
	t0 = ct_monotonic_ns();
	assert_string_equal(host(&r, "10.0.0.9"), "10.0.0.9");
	ms = ms_since(t0);
	assert_true(ms >= CT_RESOLVE_WAIT_MS - 5 && ms < CT_RESOLVE_WAIT_MS + 200);
	/* Asked again while the lookup goes on: no second wait. */
	t0 = ct_monotonic_ns();
	assert_string_equal(host(&r, "10.0.0.9"), "10.0.0.9");
	assert_true(ms_since(t0) < 50);
	/* Once it answers, the name is used. */
	usleep(1500 * 1000);
	assert_string_equal(host(&r, "10.0.0.9"), "host-9");
	assert_int_equal(atomic_load(&calls), 1);
	ct_resolver_free(&r);
}

/* Many hanging addresses: the whole run waits at most the budget. */
static void test_budget_bounds_a_run(void **state)
{
	struct ct_resolver r;
	char a[32];
	uint64_t t0;

	(void)state;
	atomic_store(&slow_us, 4000 * 1000);
	assert_int_equal(ct_resolver_init(&r, fake_lookup), 0);
	t0 = ct_monotonic_ns();
	for (int i = 1; i <= 40; i++) {
		snprintf(a, sizeof(a), "10.0.0.%d", i);
		assert_string_equal(host(&r, a), a);
	}
	assert_true(ms_since(t0) < CT_RESOLVE_BUDGET_MS + 300);
	assert_true(atomic_load(&calls) <= CT_RESOLVE_MAX_PENDING);
	/* Freed while lookups still run: they let go of the cache themselves. */
	ct_resolver_free(&r);
}

static void test_service_names(void **state)
{
	char buf[32];

	(void)state;
	/* Numbers where the services file has no name (or there is none). */
	assert_string_equal(ct_service_name(0, 0, buf, sizeof(buf)), "0");
	assert_string_equal(ct_service_name(65000, 0, buf, sizeof(buf)), "65000");
	if (access("/etc/services", R_OK) == 0)
		assert_string_equal(ct_service_name(22, 0, buf, sizeof(buf)), "ssh");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_names_and_cache, setup),
		cmocka_unit_test_setup(test_slow_lookup_is_bounded, setup),
		cmocka_unit_test_setup(test_budget_bounds_a_run, setup),
		cmocka_unit_test_setup(test_service_names, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
