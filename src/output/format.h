/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_FORMAT_H
#define CT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Longest "[v6addr]:port" plus NUL. */
#define CT_ADDRPORT_LEN 56
#define CT_ADDR_STR_LEN 46

/* TCP state name as the kernel spells it, "UNKNOWN" for other values. */
const char *ct_state_name(int state);
/* Parses a state name (case-insensitive, '-' or '_'); -1 if unknown. */
int ct_state_parse(const char *name);

/* Formats a raw address of the given family; returns buf. */
const char *ct_addr_str(int family, const uint8_t *addr, char *buf, size_t len);

/* A clock's reading in nanoseconds. */
uint64_t ct_clock_ns(clockid_t id);
/* CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns(). */
uint64_t ct_monotonic_ns(void);

/*
 * Wall-clock times are shown in local time, as date(1) shows them, unless
 * this says UTC (--utc). For every function below.
 */
void ct_time_set_utc(bool utc);
bool ct_time_utc(void);
/* "HH:MM:SS.mmm" of a wall-clock instant in ns. */
const char *ct_clock_str(uint64_t wall_ns, char *buf, size_t len);
/*
 * RFC 3339 with microseconds and the UTC offset of the local time,
 * "2026-01-02T04:04:05.123456+01:00", or "2026-01-02T03:04:05.123456Z" in
 * UTC. Digits past the microsecond are cut, not rounded.
 */
#define CT_ISO_TIME_LEN 40
const char *ct_iso_time_str(uint64_t wall_ns, char *buf, size_t len);

/*
 * v as "%.*f" prints it, into buf; returns what snprintf would. Lines by
 * the million print times and rates: the common cases skip printf.
 */
int ct_fixed_str(double v, int prec, char *buf, size_t len);

/*
 * Bytes in binary units, as top and -H/--human show them: "512 B",
 * "1.5 MiB", and "1.5 MiB/s" when per_second. Returns buf.
 */
const char *ct_human_bytes(double v, int per_second, char *buf, size_t len);

#endif
