// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* strerrorname_np() */
#define _GNU_SOURCE
#include "modes/watch_out.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "output/format.h"
#include "output/strbuf.h"
#include "output/json.h"
#include "output/ostream.h"
#include "output/table.h"
#include "engine/payload.h"
#include "engine/stopsig.h"
#include "modes/cgroup_out.h"

void ct_out_init(struct ct_out *o, FILE *f, bool json)
{
	memset(o, 0, sizeof(*o));
	o->f = f;
	o->json = json;
	json_init_lines(&o->json_w, f);
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
	{ "CONTAINER", CT_LEFT, 0, 0 },
	{ "NETNS", CT_LEFT, 0, 0 },
};

static const struct ct_col lifetime_cols[] = {
	PREFIX_COLS,
	{ "TX_BYTES", CT_RIGHT, 10, 0 },
	{ "RX_BYTES", CT_RIGHT, 10, 0 },
	{ "MS", CT_RIGHT, 10, 0 },
	{ "CONTAINER", CT_LEFT, 0, 0 },
	{ "NETNS", CT_LEFT, 0, 0 },
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

/* What every line starts with, whatever it tells: time, owner, addresses. */
struct head {
	uint64_t ts_ns;
	uint32_t pid;
	const char *comm;	/* CT_COMM_LEN bytes */
	int owner_src;
	uint32_t listener_pid;
	const char *listener_comm;
	int family;
	const uint8_t *saddr, *daddr;
	uint16_t sport, dport;
};

static struct head head_of_line(const struct ct_line *l)
{
	const struct ct_event *ev = &l->ev;

	return (struct head){ l->ts_ns, ev->pid, ev->comm, ev->owner_src,
			      l->listener_pid, l->listener_comm, ev->family,
			      ev->saddr, ev->daddr, ev->sport, ev->dport };
}

static struct head head_of_tev(const struct ct_tev_line *l)
{
	const struct ct_tcp_ev *ev = &l->ev;

	return (struct head){ ev->ts_ns, ev->pid, ev->comm, ev->owner_src,
			      l->listener_pid, l->listener_comm, ev->family,
			      ev->saddr, ev->daddr, ev->sport, ev->dport };
}

/* The cells every table line starts with: time, owner, addresses. */
static void prefix_cells(struct ct_out *o, const struct head *h,
			 struct ct_row *r)
{
	char t[16];

	ct_row_str(r, ct_clock_str(h->ts_ns + o->mono_to_wall_ns, t, sizeof(t)));
	if (h->pid) {
		ct_row_u64(r, h->pid);
		ct_sb_strn(&r->b, h->comm, CT_COMM_LEN - 1);
		ct_row_end_cell(r);
	} else {
		ct_row_str(r, "?");
		ct_row_str(r, "?");
	}
	ct_sb_addrport(&r->b, h->family, h->saddr, h->sport, 0);
	ct_row_end_cell(r);
	ct_sb_addrport(&r->b, h->family, h->daddr, h->dport, 0);
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
		ct_fixed_str(ns / 1e6, 3, ms, sizeof(ms));
	else
		snprintf(ms, sizeof(ms), "-");
	ct_row_str(r, ms);
}

static void print_table(struct ct_out *o, const struct ct_line *l)
{
	struct ct_strbuf b;
	struct ct_row r;
	uint64_t tx, rx;
	char ns[16];

	struct head h = head_of_line(l);

	ct_row_reset(&r);
	prefix_cells(o, &h, &r);
	if (o->lifetime) {
		ct_payload_bytes(&l->ev, &tx, &rx);
		ct_row_bytes(&r, tx, o->human);
		ct_row_bytes(&r, rx, o->human);
		ms_cell(&r, lifetime_known(l), l->ts_ns - l->ev.born_ns);
	} else {
		ct_row_str(&r, ct_state_name(l->ev.oldstate));
		ct_row_str(&r, "->");
		ct_row_str(&r, ct_state_name(l->ev.newstate));
		ms_cell(&r, l->delta_known, l->delta_ns);
	}
	ct_row_str(&r, ct_container_cell(l->ev.cgroup));
	ct_row_str(&r, ct_netns_cell(l->ev.netns, ns, sizeof(ns)));
	ct_cols_fit(&o->cols, &r);
	ct_sb_reset(&b);
	ct_cols_row(&o->cols, &r, &b);
	ct_sb_char(&b, '\n');
	fwrite(b.buf, 1, b.len, o->f);
}

/* The fields every JSON line starts with. */
static void json_head(struct ct_out *o, const struct head *h)
{
	struct json_writer *j = &o->json_w;
	char t[40], a[CT_ADDR_STR_LEN];

	json_str(j, "time", ct_iso_time_str(h->ts_ns + o->mono_to_wall_ns, t,
					      sizeof(t)));
	json_u64(j, "ts_ns", h->ts_ns);
	if (h->pid) {
		json_u64(j, "pid", h->pid);
		json_str(j, "comm", h->comm);
	} else {
		json_null(j, "pid");
		json_null(j, "comm");
	}
	json_str(j, "owner", ct_owner_src_name(h->owner_src));
	if (h->listener_pid) {
		json_u64(j, "listener_pid", h->listener_pid);
		json_str(j, "listener_comm", h->listener_comm);
	}
	json_str(j, "family", h->family == AF_INET6 ? "ipv6" : "ipv4");
	json_str(j, "laddr", ct_addr_str(h->family, h->saddr, a, sizeof(a)));
	json_u64(j, "lport", h->sport);
	json_str(j, "raddr", ct_addr_str(h->family, h->daddr, a, sizeof(a)));
	json_u64(j, "rport", h->dport);
}

/* The fields every JSON line ends with. */
static void json_tail(struct ct_out *o, uint32_t netns, uint64_t skaddr)
{
	json_u64(&o->json_w, "netns", netns);
	json_hex(&o->json_w, "sock", skaddr);
}

static void print_json(struct ct_out *o, const struct ct_line *l)
{
	const struct ct_event *ev = &l->ev;
	struct json_writer *j = &o->json_w;
	struct head h = head_of_line(l);

	json_obj_begin(j, NULL);
	json_head(o, &h);
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
	json_tail(o, ev->netns, ev->skaddr);
	ct_cgroup_json(j, ev->cgroup);
	ct_netns_name_json(j, ev->netns);
	json_str(j, "event", o->lifetime ? "lifetime" : "state");
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

static const char *errno_name(int err)
{
	const char *n = err > 0 ? strerrorname_np(err) : NULL;

	return n ? n : "?";
}

static const char *retrans_packet(const struct ct_tcp_ev *ev)
{
	if (ev->kind == CT_TEV_SYNACK_RETRANS)
		return "synack";
	return ev->flags & CT_TEV_SYN ? "syn" : "data";
}

static const char *retrans_loss(const struct ct_tcp_ev *ev)
{
	if (ev->flags & CT_TEV_LOSS_TIMEOUT)
		return "timeout";
	if (ev->flags & CT_TEV_LOSS_FAST)
		return "fast";
	return NULL;
}

static const char *tev_reason(struct ct_out *o, const struct ct_tcp_ev *ev)
{
	return o->tev ? ct_tcpev_reason(o->tev, ev) : NULL;
}

/* The words after the columns: what only this kind of event has. */
static void tev_detail(struct ct_out *o, const struct ct_tcp_ev *ev,
		       struct ct_strbuf *b)
{
	const char *s;
	char buf[96];

	buf[0] = '\0';
	switch (ev->kind) {
	case CT_TEV_RETRANS:
	case CT_TEV_SYNACK_RETRANS:
		s = retrans_loss(ev);
		snprintf(buf, sizeof(buf), " %s segs=%llu%s%s",
			 retrans_packet(ev), (unsigned long long)ev->value,
			 s ? " loss=" : "", s ? s : "");
		break;
	case CT_TEV_RESET_SENT:
		s = tev_reason(o, ev);
		if (s)
			snprintf(buf, sizeof(buf), " reason=%s", s);
		break;
	case CT_TEV_CONNECT_FAIL:
		snprintf(buf, sizeof(buf), " %s", errno_name(ev->code));
		break;
	case CT_TEV_DROP:
		s = tev_reason(o, ev);
		snprintf(buf, sizeof(buf), " reason=%s count=%llu",
			 s ? s : "?", (unsigned long long)ev->value);
		break;
	}
	ct_sb_str(b, buf);
}

static void print_tev_table(struct ct_out *o, const struct ct_tev_line *l)
{
	const struct ct_tcp_ev *ev = &l->ev;
	struct head h = head_of_tev(l);
	struct ct_strbuf b;
	struct ct_row r;
	char ns[16];

	ct_row_reset(&r);
	prefix_cells(o, &h, &r);
	ct_row_str(&r, ct_tev_kind(ev->kind)->tag);
	ct_row_str(&r, "");
	ct_row_str(&r, ct_state_name(ev->state));
	ms_cell(&r, ct_tev_kind(ev->kind)->is_time && ev->value, ev->value);
	/* In the transitions' columns, so that both read down alike. */
	ct_row_str(&r, ct_container_cell(ev->cgroup));
	ct_row_str(&r, ct_netns_cell(ev->netns, ns, sizeof(ns)));
	ct_cols_fit(&o->cols, &r);
	ct_sb_reset(&b);
	ct_cols_row(&o->cols, &r, &b);
	tev_detail(o, ev, &b);
	ct_sb_char(&b, '\n');
	fwrite(b.buf, 1, b.len, o->f);
}

static void json_ms(struct json_writer *j, const char *key,
		    const struct ct_tcp_ev *ev)
{
	if (ev->value)
		json_double(j, key, ev->value / 1e6, 3);
	else
		json_null(j, key);
}

static void json_str_or_null(struct json_writer *j, const char *key,
			     const char *val)
{
	if (val)
		json_str(j, key, val);
	else
		json_null(j, key);
}

/* The fields of each kind, documented in README.md ("Events"). */
static void json_tev_fields(struct ct_out *o, const struct ct_tcp_ev *ev)
{
	struct json_writer *j = &o->json_w;

	switch (ev->kind) {
	case CT_TEV_RETRANS:
	case CT_TEV_SYNACK_RETRANS:
		json_str(j, "packet", retrans_packet(ev));
		json_u64(j, "segs", ev->value);
		if (ev->kind == CT_TEV_RETRANS) {
			json_u64(j, "seq", ev->seq);
			json_u64(j, "end_seq", ev->end_seq);
		}
		json_str_or_null(j, "loss", retrans_loss(ev));
		break;
	case CT_TEV_RESET_SENT:
	case CT_TEV_RESET_RECV:
		json_str(j, "direction",
			 ev->kind == CT_TEV_RESET_SENT ? "sent" : "received");
		json_str_or_null(j, "reason", tev_reason(o, ev));
		break;
	case CT_TEV_CONNECT_FAIL:
		json_i64(j, "errno", ev->code);
		json_str(j, "error", errno_name(ev->code));
		json_ms(j, "ms", ev);
		break;
	case CT_TEV_DROP:
		json_str_or_null(j, "reason", tev_reason(o, ev));
		if (ev->code >= 0)
			json_i64(j, "reason_code", ev->code);
		else
			json_null(j, "reason_code");
		json_u64(j, "count", ev->value);
		json_str(j, "source", ev->flags & CT_TEV_FROM_COUNTER ?
				      "sk_drops" : "kfree_skb");
		break;
	case CT_TEV_CONNECT_LAT:
	case CT_TEV_ACCEPT_LAT:
		json_str(j, "phase", ev->kind == CT_TEV_CONNECT_LAT ?
				     "connect" : "accept");
		json_ms(j, "ms", ev);
		break;
	}
}

static void print_tev_json(struct ct_out *o, const struct ct_tev_line *l)
{
	const struct ct_tcp_ev *ev = &l->ev;
	struct json_writer *j = &o->json_w;
	struct head h = head_of_tev(l);

	json_obj_begin(j, NULL);
	json_str(j, "event", ct_tev_kind(ev->kind)->name);
	json_head(o, &h);
	json_str(j, "state", ct_state_name(ev->state));
	json_tev_fields(o, ev);
	json_tail(o, ev->netns, ev->skaddr);
	ct_cgroup_json(j, ev->cgroup);
	ct_netns_name_json(j, ev->netns);
	json_obj_end(j);
}

void ct_out_tev(struct ct_out *o, const struct ct_tev_line *l)
{
	if (l->ev.kind >= CT_TEV_KINDS)
		return;
	if (o->json)
		print_tev_json(o, l);
	else
		print_tev_table(o, l);
	o->lines++;
	if (ct_out_failed(o->f))
		ct_stop = 1;
}
