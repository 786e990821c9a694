/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_STATS_DATA_H
#define CT_STATS_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest nstat name kept, NUL included; the kernel's are under 40. */
#define CT_STAT_NAME_MAX 64
/* IFNAMSIZ, without pulling in <net/if.h> for users of this header. */
#define CT_IFNAME_MAX 16

/* One kernel counter under its nstat name, e.g. "TcpActiveOpens". */
struct ct_counter {
	char name[CT_STAT_NAME_MAX];	/* first: looked up by it */
	uint64_t val;
};

/* Counters in the order the kernel prints them. */
struct ct_counters {
	struct ct_counter *v;
	size_t n, cap;
};

/* The columns of /proc/net/dev, in its order. */
enum ct_if_field {
	CT_IF_RX_BYTES, CT_IF_RX_PACKETS, CT_IF_RX_ERRS, CT_IF_RX_DROP,
	CT_IF_RX_FIFO, CT_IF_RX_FRAME, CT_IF_RX_COMPRESSED, CT_IF_RX_MULTICAST,
	CT_IF_TX_BYTES, CT_IF_TX_PACKETS, CT_IF_TX_ERRS, CT_IF_TX_DROP,
	CT_IF_TX_FIFO, CT_IF_TX_COLLS, CT_IF_TX_CARRIER, CT_IF_TX_COMPRESSED,
	CT_IF_NFIELDS
};

struct ct_iface {
	char name[CT_IFNAME_MAX];	/* first: looked up by it */
	int mtu;			/* -1: unknown */
	uint64_t f[CT_IF_NFIELDS];	/* indexed by enum ct_if_field */
};

struct ct_ifaces {
	struct ct_iface *v;
	size_t n, cap;
};

/* What one read of the kernel's counters, or of two reads' difference, gave. */
struct ct_stats_snap {
	uint64_t wall_ns;		/* CLOCK_REALTIME of the read */
	double interval_s;		/* < 0: absolute values, else deltas */
	struct ct_counters counters;	/* protocol counters, unless -i */
	struct ct_ifaces ifaces;	/* with -i */
};

/* 0, -ENOMEM, or -ENAMETOOLONG if name does not fit. */
int ct_counters_add(struct ct_counters *s, const char *name, uint64_t val);
const struct ct_counter *ct_counters_find(const struct ct_counters *s,
					  const char *name, size_t hint);
void ct_counters_free(struct ct_counters *s);

/* Appends a zeroed interface; NULL if out of memory or name too long. */
struct ct_iface *ct_ifaces_add(struct ct_ifaces *s, const char *name);
void ct_ifaces_free(struct ct_ifaces *s);

/* Growth of a counter; a decrease is a reset (or a wrap), so the new value. */
uint64_t ct_counter_delta(uint64_t prev, uint64_t cur);
/* out = cur - prev, name by name; a name new in cur counts from 0. */
int ct_counters_delta(const struct ct_counters *prev,
		      const struct ct_counters *cur, struct ct_counters *out);
int ct_ifaces_delta(const struct ct_ifaces *prev, const struct ct_ifaces *cur,
		    struct ct_ifaces *out);

/* 0 if fnmatch(3) can use glob as meant: not empty, '[' closed, no lone '\'. */
int ct_glob_check(const char *glob);
/* True if name matches one of the globs, or if there are none. */
bool ct_glob_match(char *const *globs, size_t n, const char *name);

#endif
