/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The ring buffer's size from the rate of new TCP connections seen while
 * conntrace starts: the ring must hold what arrives while user space is
 * off the CPU, and a fixed size is either too small for a host under
 * churn or wasted on a quiet one.
 */
#ifndef CT_RINGSIZE_H
#define CT_RINGSIZE_H

#include <stdint.h>

/* The connections a namespace opened so far (ActiveOpens + PassiveOpens). */
struct ct_opens {
	uint64_t opens;
	uint64_t ns;		/* CLOCK_MONOTONIC when read; 0: not read */
};

/* The largest ring chosen from a rate: the kernel's memory, not ours. */
#define CT_RING_AUTO_MAX (64U << 20)

/* Reads procnet/snmp (normally /proc/net); 0, or -errno. */
int ct_opens_read(const char *procnet, struct ct_opens *o);

/*
 * Reads them again into now, once enough time has passed since at to
 * tell a rate (it waits what is missing, 20 ms at most); 0, or -errno.
 */
int ct_opens_read_after(const char *procnet, const struct ct_opens *at,
			struct ct_opens *now);

/*
 * The ring's size for the rate of opens between a and b: room for a
 * quarter of a second of their transitions, as a power of two between
 * floor (a power of two) and CT_RING_AUTO_MAX. floor if the two readings
 * are too close together, or either is missing.
 */
uint32_t ct_ring_for_rate(const struct ct_opens *a, const struct ct_opens *b,
			  uint32_t floor);

/* The rate of opens between a and b, per second; 0 if it cannot be told. */
uint64_t ct_opens_rate(const struct ct_opens *a, const struct ct_opens *b);

#endif
