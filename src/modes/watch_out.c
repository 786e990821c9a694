// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/watch_out.h"

#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "output/format.h"
#include "output/strbuf.h"
#include "output/json.h"
#include "output/ostream.h"
#include "output/table.h"
#include "engine/payload.h"
#include "engine/stopsig.h"

void ct_out_init(struct ct_out *o, FILE *f, bool json)
{
	memset(o, 0, sizeof(*o));
	o->f = f;
	o->json = json;
	json_init(&o->json_w, f);
	o->mono_to_wall_ns = ct_clock_ns(CLOCK_REALTIME) - ct_monotonic_ns();
}

const char *ct_owner_src_name(int src)
{
	static const char *const names[CT_OWNER_SRC_MAX] = {
		[CT_OWNER_NONE] = "unknown",	[CT_OWNER_CONNECT] = "connect",
		[CT_OWNER_LISTEN] = "listen",	[CT_OWNER_LISTENER] = "listener",
		[CT_OWNER_IO] = "io",		[CT_OWNER_CLOSE] = "close",
		[CT_OWNER_SEED] = "holder",	[CT_OWNER_RESOLVED] = "holder",
		[CT_OWNER_ACCEPT] = "accept",
	};

	if (src < 0 || src >= CT_OWNER_SRC_MAX)
		return "unknown";
	return names[src];
}

/* The longest "[v6addr]:port" an address column holds: 8 groups of 4. */
#define ADDRPORT_MAX (1 + 39 + 2 + 5)

/* The columns every line starts with: time, owner, addresses. */
#define PREFIX_COLS							\
	{ "TIME", CT_LEFT, 12, 0 },					\
	{ "PID", CT_LEFT, 7, 0 },					\
	{ "COMM", CT_LEFT, 15, 0 },					\
	{ "LADDR:LPORT", CT_LEFT, 23, ADDRPORT_MAX },			\
	{ "RADDR:RPORT", CT_LEFT, 23, ADDRPORT_MAX }

static const struct ct_col transition_cols[] = {
	PREFIX_COLS,
	{ "OLD", CT_LEFT, 11, 0 },
	{ "", CT_LEFT, 2, 0 },	/* the arrow */
	{ "NEW", CT_LEFT, 11, 0 },
	{ "MS", CT_RIGHT, 10, 0 },
};

static const struct ct_col lifetime_cols[] = {
	PREFIX_COLS,
	{ "TX_BYTES", CT_RIGHT, 10, 0 },
	{ "RX_BYTES", CT_RIGHT, 10, 0 },
	{ "MS", CT_RIGHT, 10, 0 },
};

#define NCOLS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/*
 * A stream cannot look ahead for its widths. On a terminal with room to
 * spare, the address columns take it up front, so IPv6 lines align under
 * the header from the first; past that (a pipe has no width, a narrow
 * terminal no room) a column widens when a longer value comes, and later
 * lines align to it without a second header. Short IPv4 lines into a pipe
 * keep the layout they always had.
 */
void ct_out_header(struct ct_out *o)
{
	struct ct_strbuf b;

	if (o->json)
		return;
	if (o->lifetime)
		ct_cols_init(&o->cols, lifetime_cols, NCOLS(lifetime_cols));
	else
		ct_cols_init(&o->cols, transition_cols, NCOLS(transition_cols));
	ct_cols_spread(&o->cols, ct_term_width(fileno(o->f)));
	ct_sb_reset(&b);
	ct_cols_header(&o->cols, &b);
	ct_sb_char(&b, '\n');
	fwrite(b.buf, 1, b.len, o->f);
}

/* The cells every table line starts with: time, owner, addresses. */
static void prefix_cells(struct ct_out *o, const struct ct_line *l,
			 struct ct_row *r)
{
	const struct ct_event *ev = &l->ev;
	char t[16];

	ct_row_str(r, ct_clock_str(l->ts_ns + o->mono_to_wall_ns, t, sizeof(t)));
	if (ev->pid) {
		ct_row_u64(r, ev->pid);
		ct_sb_strn(&r->b, ev->comm, sizeof(ev->comm) - 1);
		ct_row_end_cell(r);
	} else {
		ct_row_str(r, "?");
		ct_row_str(r, "?");
	}
	ct_sb_addrport(&r->b, ev->family, ev->saddr, ev->sport, 0);
	ct_row_end_cell(r);
	ct_sb_addrport(&r->b, ev->family, ev->daddr, ev->dport, 0);
	ct_row_end_cell(r);
}

static bool lifetime_known(const struct ct_line *l)
{
	return l->ev.born_ns && l->ts_ns >= l->ev.born_ns;
}

/* Milliseconds with 3 decimals, or "-" when not known. */
static void ms_cell(struct ct_row *r, bool known, uint64_t ns)
{
	char ms[24];

	if (known)
		snprintf(ms, sizeof(ms), "%.3f", ns / 1e6);
	else
		snprintf(ms, sizeof(ms), "-");
	ct_row_str(r, ms);
}

static void print_table(struct ct_out *o, const struct ct_line *l)
{
	struct ct_strbuf b;
	struct ct_row r;
	uint64_t tx, rx;

	ct_row_reset(&r);
	prefix_cells(o, l, &r);
	if (o->lifetime) {
		ct_payload_bytes(&l->ev, &tx, &rx);
		ct_row_u64(&r, tx);
		ct_row_u64(&r, rx);
		ms_cell(&r, lifetime_known(l), l->ts_ns - l->ev.born_ns);
	} else {
		ct_row_str(&r, ct_state_name(l->ev.oldstate));
		ct_row_str(&r, "->");
		ct_row_str(&r, ct_state_name(l->ev.newstate));
		ms_cell(&r, l->delta_known, l->delta_ns);
	}
	ct_cols_fit(&o->cols, &r);
	ct_sb_reset(&b);
	ct_cols_row(&o->cols, &r, &b);
	ct_sb_char(&b, '\n');
	fwrite(b.buf, 1, b.len, o->f);
}

static void print_json(struct ct_out *o, const struct ct_line *l)
{
	const struct ct_event *ev = &l->ev;
	struct json_writer *j = &o->json_w;
	char t[40], a[CT_ADDR_STR_LEN], sk[24];

	json_obj_begin(j, NULL);
	json_str(j, "time", ct_iso_time_str(l->ts_ns + o->mono_to_wall_ns, t,
					      sizeof(t)));
	json_u64(j, "ts_ns", l->ts_ns);
	if (ev->pid) {
		json_u64(j, "pid", ev->pid);
		json_str(j, "comm", ev->comm);
	} else {
		json_null(j, "pid");
		json_null(j, "comm");
	}
	json_str(j, "owner", ct_owner_src_name(ev->owner_src));
	if (l->listener_pid) {
		json_u64(j, "listener_pid", l->listener_pid);
		json_str(j, "listener_comm", l->listener_comm);
	}
	json_str(j, "family", ev->family == AF_INET6 ? "ipv6" : "ipv4");
	json_str(j, "laddr", ct_addr_str(ev->family, ev->saddr, a, sizeof(a)));
	json_u64(j, "lport", ev->sport);
	json_str(j, "raddr", ct_addr_str(ev->family, ev->daddr, a, sizeof(a)));
	json_u64(j, "rport", ev->dport);
	if (o->lifetime) {
		uint64_t tx, rx;

		ct_payload_bytes(ev, &tx, &rx);
		json_u64(j, "tx_bytes", tx);
		json_u64(j, "rx_bytes", rx);
		if (lifetime_known(l))
			json_double(j, "duration_ms",
				    (l->ts_ns - ev->born_ns) / 1e6, 3);
		else
			json_null(j, "duration_ms");
	} else {
		json_str(j, "old", ct_state_name(ev->oldstate));
		json_str(j, "new", ct_state_name(ev->newstate));
		if (l->delta_known)
			json_double(j, "ms", l->delta_ns / 1e6, 3);
		else
			json_null(j, "ms");
		json_bool(j, "derived", l->derived);
	}
	json_u64(j, "netns", ev->netns);
	snprintf(sk, sizeof(sk), "0x%llx", (unsigned long long)ev->skaddr);
	json_str(j, "sock", sk);
	json_obj_end(j);
}

void ct_out_line(struct ct_out *o, const struct ct_line *l)
{
	if (o->json)
		print_json(o, l);
	else
		print_table(o, l);
	o->lines++;
	/* The reader went away or the disk is full: no line can follow. */
	if (ct_out_failed(o->f))
		ct_stop = 1;
}

void ct_out_emit(const struct ct_line *l, void *ctx)
{
	ct_out_line(ctx, l);
}
