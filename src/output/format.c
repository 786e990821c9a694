// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "output/format.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>


static const char *const state_names[] = {
	[1] = "ESTABLISHED", [2] = "SYN_SENT",	 [3] = "SYN_RECV",
	[4] = "FIN_WAIT1",   [5] = "FIN_WAIT2",	 [6] = "TIME_WAIT",
	[7] = "CLOSE",	     [8] = "CLOSE_WAIT", [9] = "LAST_ACK",
	[10] = "LISTEN",     [11] = "CLOSING",	 [12] = "NEW_SYN_RECV",
};

#define NSTATES (sizeof(state_names) / sizeof(state_names[0]))

const char *ct_state_name(int state)
{
	if (state <= 0 || (size_t)state >= NSTATES)
		return "UNKNOWN";
	return state_names[state];
}

/* Compares ignoring case and treating '-' like '_', as ss and netstat differ. */
static int state_name_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char ca = *a == '-' ? '_' : toupper((unsigned char)*a);
		char cb = *b == '-' ? '_' : toupper((unsigned char)*b);

		if (ca != cb)
			return 0;
	}
	return *a == *b;
}

int ct_state_parse(const char *name)
{
	for (size_t i = 1; i < NSTATES; i++)
		if (state_name_eq(name, state_names[i]))
			return (int)i;
	return -1;
}

/* Dotted decimal by hand: inet_ntop's printf costs a third of a JSON line. */
static void ipv4_str(const uint8_t *a, char *buf)
{
	char *p = buf;

	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
}

const char *ct_addr_str(int family, const uint8_t *addr, char *buf, size_t len)
{
	if (family != AF_INET6 && len >= INET_ADDRSTRLEN) {
		ipv4_str(addr, buf);
		return buf;
	}
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, buf,
		       (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

uint64_t ct_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t ct_monotonic_ns(void)
{
	return ct_clock_ns(CLOCK_MONOTONIC);
}

static bool time_utc;

void ct_time_set_utc(bool utc)
{
	time_utc = utc;
}

bool ct_time_utc(void)
{
	return time_utc;
}

/*
 * One second's date, time of day and UTC offset as text. Lines come by
 * the thousand a second (a replay, by the million): the calendar is
 * worked out once a second, and only the fraction per line.
 */
struct second {
	int64_t secs;		/* -1: none yet */
	bool utc;
	char date_time[80];	/* "YYYY-MM-DDTHH:MM:SS" */
	size_t date_len;
	char offset[40];	/* "Z" or "+HH:MM" */
	size_t offset_len;
};

static __thread struct second cached = { .secs = -1 };

static const struct second *second_of(uint64_t wall_ns)
{
	time_t t = (time_t)(wall_ns / 1000000000ULL);
	struct tm tm;
	long off;

	if (cached.secs == (int64_t)t && cached.utc == time_utc)
		return &cached;
	if (time_utc ? !gmtime_r(&t, &tm) : !localtime_r(&t, &tm))
		memset(&tm, 0, sizeof(tm));
	snprintf(cached.date_time, sizeof(cached.date_time),
		 "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	off = tm.tm_gmtoff / 60;
	if (time_utc)
		snprintf(cached.offset, sizeof(cached.offset), "Z");
	else
		snprintf(cached.offset, sizeof(cached.offset), "%c%02ld:%02ld",
			 off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
	cached.date_len = strlen(cached.date_time);
	cached.offset_len = strlen(cached.offset);
	cached.secs = (int64_t)t;
	cached.utc = time_utc;
	return &cached;
}

/* The fraction of a second in `digits` decimals, truncated, after a point. */
static char *put_fraction(char *p, uint64_t wall_ns, int digits)
{
	uint32_t v = (uint32_t)(wall_ns % 1000000000ULL);

	for (int i = digits; i < 9; i++)
		v /= 10;
	*p++ = '.';
	for (int i = digits - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + digits;
}

/* Copies the n bytes of t into buf as a string, cut to fit. */
static const char *copy_out(const char *t, size_t n, char *buf, size_t len)
{
	if (!len)
		return buf;
	if (n >= len)
		n = len - 1;
	memcpy(buf, t, n);
	buf[n] = '\0';
	return buf;
}

const char *ct_clock_str(uint64_t wall_ns, char *buf, size_t len)
{
	const struct second *s = second_of(wall_ns);
	char t[16], *p;

	/* The time of day from "YYYY-MM-DDTHH:MM:SS", then milliseconds. */
	if (s->date_len < 19)
		return copy_out("?", 1, buf, len);
	memcpy(t, s->date_time + s->date_len - 8, 8);
	p = put_fraction(t + 8, wall_ns, 3);
	return copy_out(t, (size_t)(p - t), buf, len);
}

const char *ct_iso_time_str(uint64_t wall_ns, char *buf, size_t len)
{
	const struct second *s = second_of(wall_ns);
	char t[sizeof(s->date_time) + 8 + sizeof(s->offset)], *p = t;

	memcpy(p, s->date_time, s->date_len);
	p = put_fraction(p + s->date_len, wall_ns, 6);
	memcpy(p, s->offset, s->offset_len);
	return copy_out(t, (size_t)(p - t) + s->offset_len, buf, len);
}

/*
 * Without printf where the answer is sure: v * 10^prec below 1e9 is off by
 * under 1e-7 from the exact product, so unless it is within 1e-6 of a tie,
 * rounding it gives printf's digits.
 */
static int fixed_fast(double v, int prec, char *buf, size_t len)
{
	static const double pow10[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6 };
	char b[24];
	double s, frac;
	uint64_t r;
	size_t i = sizeof(b);

	if (prec < 0 || prec > 6 || !(v >= 0) || signbit(v))
		return -1;
	s = v * pow10[prec];
	if (!(s < 1e9))
		return -1;
	r = (uint64_t)s;	/* s >= 0: truncation is floor */
	frac = s - (double)r;
	if (frac > 0.5 - 1e-6 && frac < 0.5 + 1e-6)
		return -1;
	r += frac > 0.5;
	for (int d = 0; d < prec; d++) {
		b[--i] = (char)('0' + r % 10);
		r /= 10;
	}
	if (prec)
		b[--i] = '.';
	do {
		b[--i] = (char)('0' + r % 10);
		r /= 10;
	} while (r);
	if (sizeof(b) - i >= len)
		return -1;
	memcpy(buf, b + i, sizeof(b) - i);
	buf[sizeof(b) - i] = '\0';
	return (int)(sizeof(b) - i);
}

int ct_fixed_str(double v, int prec, char *buf, size_t len)
{
	int n = fixed_fast(v, prec, buf, len);

	return n >= 0 ? n : snprintf(buf, len, "%.*f", prec, v);
}

const char *ct_human_bytes(double v, int per_second, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	/* Past what rounds up to 1024, the next unit reads better. */
	while (u < 4 && v >= (u ? 1023.95 : 1023.5)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s%s" : "%.0f %s%s", v, units[u],
		 per_second ? "/s" : "");
	return buf;
}
