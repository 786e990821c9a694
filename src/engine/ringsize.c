// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/ringsize.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "conntrace.h"
#include "engine/stats_proc.h"
#include "output/format.h"

#define MS 1000000ULL
/* Readings closer than this say too little of a rate. */
#define MIN_WINDOW_NS (20 * MS)
/* How long user space may be off the CPU and lose nothing at that rate. */
#define STALL_NS (250 * MS)
/*
 * Each end of a connection on this host makes five transitions (to
 * SYN_SENT or SYN_RECV, ESTABLISHED, two while closing, CLOSE), and each
 * is a ct_event in the ring behind an 8-byte header.
 */
#define PER_OPEN (5 * (sizeof(struct ct_event) + 8))

int ct_opens_read(const char *procnet, struct ct_opens *o)
{
	struct ct_counters c = { 0 };
	const struct ct_counter *active, *passive;
	char path[256];
	int line, rc;
	FILE *f;

	snprintf(path, sizeof(path), "%s/snmp", procnet);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	rc = ct_parse_snmp(f, &c, &line);
	fclose(f);
	active = ct_counters_find(&c, "TcpActiveOpens", 0);
	passive = ct_counters_find(&c, "TcpPassiveOpens", 0);
	if (!rc && (!active || !passive))
		rc = -ENOENT;
	if (!rc) {
		o->opens = active->val + passive->val;
		o->ns = ct_monotonic_ns();
	}
	ct_counters_free(&c);
	return rc;
}

int ct_opens_read_after(const char *procnet, const struct ct_opens *at,
			struct ct_opens *now)
{
	uint64_t since = ct_monotonic_ns() - at->ns;
	struct timespec rest = { 0, 0 };

	if (since < MIN_WINDOW_NS) {
		rest.tv_nsec = (long)(MIN_WINDOW_NS - since);
		while (nanosleep(&rest, &rest) && errno == EINTR)
			;
	}
	return ct_opens_read(procnet, now);
}

uint64_t ct_opens_rate(const struct ct_opens *a, const struct ct_opens *b)
{
	if (!a->ns || b->ns < a->ns + MIN_WINDOW_NS || b->opens < a->opens)
		return 0;
	return (b->opens - a->opens) * 1000 * MS / (b->ns - a->ns);
}

uint32_t ct_ring_for_rate(const struct ct_opens *a, const struct ct_opens *b,
			  uint32_t floor)
{
	uint64_t want = ct_opens_rate(a, b) * PER_OPEN * STALL_NS / (1000 * MS);
	uint32_t size = floor;

	while (size < want && size < CT_RING_AUTO_MAX)
		size <<= 1;
	return size;
}
