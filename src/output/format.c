// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "output/format.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
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

const char *ct_addr_str(int family, const uint8_t *addr, char *buf, size_t len)
{
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

const char *ct_clock_str(uint64_t wall_ns, char *buf, size_t len)
{
	time_t secs = (time_t)(wall_ns / 1000000000ULL);
	struct tm tm;

	localtime_r(&secs, &tm);
	snprintf(buf, len, "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min,
		 tm.tm_sec, (unsigned)(wall_ns % 1000000000ULL / 1000000));
	return buf;
}

const char *ct_iso_time_str(uint64_t wall_ns, char *buf, size_t len)
{
	time_t secs = (time_t)(wall_ns / 1000000000ULL);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec,
		 (unsigned)(wall_ns % 1000000000ULL / 1000));
	return buf;
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
