// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/watch_out.h"

#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "output/format.h"
#include "output/strbuf.h"
#include "output/json.h"
#include "engine/payload.h"

void ct_out_init(struct ct_out *o, FILE *f, bool json)
{
	memset(o, 0, sizeof(*o));
	o->f = f;
	o->json = json;
	o->mono_to_wall_ns = ct_clock_ns(CLOCK_REALTIME) - ct_monotonic_ns();
}

const char *ct_owner_src_name(int src)
{
	static const char *const names[CT_OWNER_SRC_MAX] = {
		[CT_OWNER_NONE] = "unknown",	[CT_OWNER_CONNECT] = "connect",
		[CT_OWNER_LISTEN] = "listen",	[CT_OWNER_LISTENER] = "listener",
		[CT_OWNER_IO] = "io",		[CT_OWNER_CLOSE] = "close",
		[CT_OWNER_SEED] = "holder",	[CT_OWNER_RESOLVED] = "holder",
	};

	if (src < 0 || src >= CT_OWNER_SRC_MAX)
		return "unknown";
	return names[src];
}

#define ADDR_W 23

void ct_out_header(struct ct_out *o)
{
	if (o->json)
		return;
	if (o->lifetime) {
		fprintf(o->f, "%-12s %-7s %-15s %-*s %-*s %10s %10s %10s\n",
			"TIME", "PID", "COMM", ADDR_W, "LADDR:LPORT", ADDR_W,
			"RADDR:RPORT", "TX_BYTES", "RX_BYTES", "MS");
		return;
	}
	fprintf(o->f, "%-12s %-7s %-15s %-*s %-*s %-11s    %-11s %10s\n", "TIME",
		"PID", "COMM", ADDR_W, "LADDR:LPORT", ADDR_W, "RADDR:RPORT",
		"OLD", "NEW", "MS");
}

/* The columns every table line starts with: time, owner, addresses. */
static void print_prefix(struct ct_out *o, const struct ct_line *l)
{
	const struct ct_event *ev = &l->ev;
	char t[16], la[CT_ADDRPORT_LEN], ra[CT_ADDRPORT_LEN], pid[12];

	ct_clock_str(l->ts_ns + o->mono_to_wall_ns, t, sizeof(t));
	ct_addrport_str(ev->family, ev->saddr, ev->sport, la, sizeof(la));
	ct_addrport_str(ev->family, ev->daddr, ev->dport, ra, sizeof(ra));
	if (ev->pid)
		snprintf(pid, sizeof(pid), "%u", ev->pid);
	else
		snprintf(pid, sizeof(pid), "?");
	fprintf(o->f, "%-12s %-7s %-15.15s %-*s %-*s ", t, pid,
		ev->pid ? ev->comm : "?", ADDR_W, la, ADDR_W, ra);
}

static bool lifetime_known(const struct ct_line *l)
{
	return l->ev.born_ns && l->ts_ns >= l->ev.born_ns;
}

static void print_table(struct ct_out *o, const struct ct_line *l)
{
	uint64_t tx, rx;
	char ms[24];

	print_prefix(o, l);
	if (o->lifetime) {
		ct_payload_bytes(&l->ev, &tx, &rx);
		if (lifetime_known(l))
			snprintf(ms, sizeof(ms), "%.3f",
				 (l->ts_ns - l->ev.born_ns) / 1e6);
		else
			snprintf(ms, sizeof(ms), "-");
		fprintf(o->f, "%10llu %10llu %10s\n", (unsigned long long)tx,
			(unsigned long long)rx, ms);
		return;
	}
	if (l->delta_known)
		snprintf(ms, sizeof(ms), "%.3f", l->delta_ns / 1e6);
	else
		snprintf(ms, sizeof(ms), "-");
	fprintf(o->f, "%-11s -> %-11s %10s\n", ct_state_name(l->ev.oldstate),
		ct_state_name(l->ev.newstate), ms);
}

static void print_json(struct ct_out *o, const struct ct_line *l)
{
	const struct ct_event *ev = &l->ev;
	char t[40], a[CT_ADDR_STR_LEN], sk[24];
	struct json_obj j;

	json_begin(&j, o->f);
	json_str(&j, "time", ct_iso_time_str(l->ts_ns + o->mono_to_wall_ns, t,
					      sizeof(t)));
	json_u64(&j, "ts_ns", l->ts_ns);
	if (ev->pid) {
		json_u64(&j, "pid", ev->pid);
		json_str(&j, "comm", ev->comm);
	} else {
		json_null(&j, "pid");
		json_null(&j, "comm");
	}
	json_str(&j, "owner", ct_owner_src_name(ev->owner_src));
	json_str(&j, "family", ev->family == AF_INET6 ? "ipv6" : "ipv4");
	json_str(&j, "laddr", ct_addr_str(ev->family, ev->saddr, a, sizeof(a)));
	json_u64(&j, "lport", ev->sport);
	json_str(&j, "raddr", ct_addr_str(ev->family, ev->daddr, a, sizeof(a)));
	json_u64(&j, "rport", ev->dport);
	if (o->lifetime) {
		uint64_t tx, rx;

		ct_payload_bytes(ev, &tx, &rx);
		json_u64(&j, "tx_bytes", tx);
		json_u64(&j, "rx_bytes", rx);
		if (lifetime_known(l))
			json_double(&j, "duration_ms",
				    (l->ts_ns - ev->born_ns) / 1e6, 3);
		else
			json_null(&j, "duration_ms");
	} else {
		json_str(&j, "old", ct_state_name(ev->oldstate));
		json_str(&j, "new", ct_state_name(ev->newstate));
		if (l->delta_known)
			json_double(&j, "ms", l->delta_ns / 1e6, 3);
		else
			json_null(&j, "ms");
		json_bool(&j, "derived", l->derived);
	}
	json_u64(&j, "netns", ev->netns);
	snprintf(sk, sizeof(sk), "0x%llx", (unsigned long long)ev->skaddr);
	json_str(&j, "sock", sk);
	json_end(&j);
	fputc('\n', o->f);
}

void ct_out_line(struct ct_out *o, const struct ct_line *l)
{
	if (o->json)
		print_json(o, l);
	else
		print_table(o, l);
	o->lines++;
}

void ct_out_emit(const struct ct_line *l, void *ctx)
{
	ct_out_line(ctx, l);
}
