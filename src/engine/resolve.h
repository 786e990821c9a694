/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Names for addresses and ports (ls --resolve). The system's resolver may
 * block for seconds on DNS, so each address is looked up once, on a thread
 * of its own, and waited for a bounded time; a name that comes later is
 * used from then on. Service names come from the local services file.
 */
#ifndef CT_RESOLVE_H
#define CT_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

/* How long one address is waited for, and all of them in one run. */
#define CT_RESOLVE_WAIT_MS 300
#define CT_RESOLVE_BUDGET_MS 3000
/* Lookups under way at once; past this, addresses stay numeric. */
#define CT_RESOLVE_MAX_PENDING 16

/* A blocking lookup: 0 and the name, or -1 (no name). */
typedef int (*ct_lookup_fn)(int family, const uint8_t *addr, char *name,
			    size_t len);

struct ct_resolver {
	struct resolve_cache *cache;	/* shared with the lookup threads */
	uint64_t budget_ns;		/* waiting left in this run */
};

/* lookup NULL: the system's (getnameinfo). 0 or -ENOMEM. */
int ct_resolver_init(struct ct_resolver *r, ct_lookup_fn lookup);
/* Lookups still under way finish on their own, and free what they hold. */
void ct_resolver_free(struct ct_resolver *r);

/* The host name of addr, or its numeric form when none came in time. */
const char *ct_resolve_host(struct ct_resolver *r, int family,
			    const uint8_t *addr, char *buf, size_t len);

/* The service name of a port ("https"), or its number. */
const char *ct_service_name(uint16_t port, int udp, char *buf, size_t len);

#endif
