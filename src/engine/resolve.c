// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/resolve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conntrace.h"
#include "lib/u64map.h"
#include "output/format.h"

enum { PENDING = 1, DONE };

struct entry {
	uint16_t family;
	uint8_t addr[CT_ADDR_LEN];
	int state;
	char name[256];		/* empty: no name */
};

/*
 * Shared by the caller and its lookup threads, which may outlive the
 * caller's resolver: the last one to let go frees it.
 */
struct resolve_cache {
	pthread_mutex_t lock;
	pthread_cond_t done;
	struct u64map map;	/* key of (family, addr) -> struct entry */
	ct_lookup_fn lookup;
	int refs;
	int pending;
};

struct job {
	struct resolve_cache *c;
	uint64_t key;
	uint16_t family;
	uint8_t addr[CT_ADDR_LEN];
};

static int system_lookup(int family, const uint8_t *addr, char *name,
			 size_t len)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;

	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, addr, 16);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, addr, 4);
		sl = sizeof(*s4);
	}
	return getnameinfo((struct sockaddr *)&ss, sl, name, (socklen_t)len,
			   NULL, 0, NI_NAMEREQD) ? -1 : 0;
}

/* FNV-1a of family and address; never 0, which u64map keeps for empty. */
static uint64_t key_of(int family, const uint8_t *addr)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)family;

	for (int i = 0; i < CT_ADDR_LEN; i++)
		h = (h ^ addr[i]) * 1099511628211ULL;
	return h ? h : 1;
}

static void unref(struct resolve_cache *c)
{
	bool last;

	pthread_mutex_lock(&c->lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&c->lock);
	if (!last)
		return;
	u64map_free(&c->map);
	pthread_cond_destroy(&c->done);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void *lookup_thread(void *arg)
{
	struct job *j = arg;
	struct resolve_cache *c = j->c;
	char name[256] = "";
	struct entry *e;

	if (c->lookup(j->family, j->addr, name, sizeof(name)))
		name[0] = '\0';
	pthread_mutex_lock(&c->lock);
	e = u64map_get(&c->map, j->key);
	if (e && e->state == PENDING) {
		snprintf(e->name, sizeof(e->name), "%s", name);
		e->state = DONE;
	}
	c->pending--;
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->lock);
	free(j);
	unref(c);
	return NULL;
}

int ct_resolver_init(struct ct_resolver *r, ct_lookup_fn lookup)
{
	struct resolve_cache *c = calloc(1, sizeof(*c));

	memset(r, 0, sizeof(*r));
	if (!c || u64map_init(&c->map, sizeof(struct entry))) {
		free(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->done, NULL);
	c->lookup = lookup ? lookup : system_lookup;
	c->refs = 1;
	r->cache = c;
	r->budget_ns = CT_RESOLVE_BUDGET_MS * 1000000ULL;
	return 0;
}

void ct_resolver_free(struct ct_resolver *r)
{
	if (r->cache)
		unref(r->cache);
	r->cache = NULL;
}

/* Starts a lookup of a new entry; false if none could be started. */
static bool start_lookup(struct resolve_cache *c, uint64_t key,
			 struct entry *e)
{
	struct job *j = malloc(sizeof(*j));
	pthread_attr_t attr;
	pthread_t t;
	bool ok;

	if (!j)
		return false;
	*j = (struct job){ .c = c, .key = key, .family = e->family };
	memcpy(j->addr, e->addr, sizeof(j->addr));
	if (pthread_attr_init(&attr)) {
		free(j);
		return false;
	}
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	c->refs++;
	c->pending++;
	ok = !pthread_create(&t, &attr, lookup_thread, j);
	pthread_attr_destroy(&attr);
	if (!ok) {
		c->refs--;
		c->pending--;
		free(j);
	}
	return ok;
}

/* Waits for e under the lock, within the wait and the run's budget. */
static void wait_for(struct ct_resolver *r, uint64_t key)
{
	struct resolve_cache *c = r->cache;
	uint64_t wait = CT_RESOLVE_WAIT_MS * 1000000ULL;
	uint64_t start = ct_monotonic_ns(), deadline, now;
	struct timespec ts;
	struct entry *e;

	if (wait > r->budget_ns)
		wait = r->budget_ns;
	deadline = ct_clock_ns(CLOCK_REALTIME) + wait;
	ts.tv_sec = (time_t)(deadline / 1000000000ULL);
	ts.tv_nsec = (long)(deadline % 1000000000ULL);
	while ((e = u64map_get(&c->map, key)) && e->state == PENDING)
		if (pthread_cond_timedwait(&c->done, &c->lock, &ts) == ETIMEDOUT)
			break;
	now = ct_monotonic_ns();
	r->budget_ns -= now - start < r->budget_ns ? now - start : r->budget_ns;
}

const char *ct_resolve_host(struct ct_resolver *r, int family,
			    const uint8_t *addr, char *buf, size_t len)
{
	struct resolve_cache *c = r->cache;
	uint64_t key = key_of(family, addr);
	struct entry *e;
	int created;

	ct_addr_str(family, addr, buf, len);
	if (!c)
		return buf;
	pthread_mutex_lock(&c->lock);
	e = u64map_get(&c->map, key);
	if (!e && c->pending < CT_RESOLVE_MAX_PENDING && r->budget_ns) {
		e = u64map_put(&c->map, key, &created);
		if (e) {
			e->family = (uint16_t)family;
			memcpy(e->addr, addr, sizeof(e->addr));
			e->state = PENDING;
			if (!start_lookup(c, key, e))
				e->state = DONE;	/* numeric from now on */
			else
				wait_for(r, key);
			e = u64map_get(&c->map, key);
		}
	}
	/* A hash shared by two addresses: the second one stays numeric. */
	if (e && e->state == DONE && e->name[0] && e->family == family &&
	    !memcmp(e->addr, addr, sizeof(e->addr)))
		snprintf(buf, len, "%s", e->name);
	pthread_mutex_unlock(&c->lock);
	return buf;
}

const char *ct_service_name(uint16_t port, int udp, char *buf, size_t len)
{
	struct servent se, *res = NULL;
	char tmp[1024];

	if (!getservbyport_r(htons(port), udp ? "udp" : "tcp", &se, tmp,
			     sizeof(tmp), &res) && res)
		snprintf(buf, len, "%s", res->s_name);
	else
		snprintf(buf, len, "%u", port);
	return buf;
}
