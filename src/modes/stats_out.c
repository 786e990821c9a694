// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/stats_out.h"

#include <inttypes.h>

#include "output/format.h"
#include "output/json.h"

const char *ct_if_field_name(int field)
{
	static const char *const names[CT_IF_NFIELDS] = {
		[CT_IF_RX_BYTES] = "rx_bytes",
		[CT_IF_RX_PACKETS] = "rx_packets",
		[CT_IF_RX_ERRS] = "rx_errors",
		[CT_IF_RX_DROP] = "rx_dropped",
		[CT_IF_RX_FIFO] = "rx_fifo",
		[CT_IF_RX_FRAME] = "rx_frame",
		[CT_IF_RX_COMPRESSED] = "rx_compressed",
		[CT_IF_RX_MULTICAST] = "rx_multicast",
		[CT_IF_TX_BYTES] = "tx_bytes",
		[CT_IF_TX_PACKETS] = "tx_packets",
		[CT_IF_TX_ERRS] = "tx_errors",
		[CT_IF_TX_DROP] = "tx_dropped",
		[CT_IF_TX_FIFO] = "tx_fifo",
		[CT_IF_TX_COLLS] = "tx_collisions",
		[CT_IF_TX_CARRIER] = "tx_carrier",
		[CT_IF_TX_COMPRESSED] = "tx_compressed",
	};

	if (field < 0 || field >= CT_IF_NFIELDS)
		return "unknown";
	return names[field];
}

static bool show_counter(const struct ct_counter *c,
			 const struct ct_stats_view *v)
{
	return (c->val || v->zeros) &&
	       ct_glob_match(v->globs, v->nglobs, c->name);
}

/* Opens the object every snapshot starts with: time and interval. */
static void json_snap_begin(struct json_writer *w, FILE *f,
			    const struct ct_stats_snap *s)
{
	char t[40];

	json_init(w, f);
	json_obj_begin(w, NULL);
	json_str(w, "time", ct_iso_time_str(s->wall_ns, t, sizeof(t)));
	if (s->interval_s < 0)
		json_null(w, "interval_s");
	else
		json_double(w, "interval_s", s->interval_s, 3);
}

/* Deltas get a "# time (interval)" line; absolute values stay bare. */
static void text_snap_header(FILE *f, const struct ct_stats_snap *s)
{
	char t[16];

	if (s->interval_s < 0)
		return;
	fprintf(f, "# %s (%.3f s)\n", ct_clock_str(s->wall_ns, t, sizeof(t)),
		s->interval_s);
}

static void json_counters(FILE *f, const struct ct_stats_snap *s,
			  const struct ct_stats_view *v)
{
	struct json_writer w;

	json_snap_begin(&w, f, s);
	json_obj_begin(&w, "counters");
	for (size_t i = 0; i < s->counters.n; i++)
		if (show_counter(&s->counters.v[i], v))
			json_u64(&w, s->counters.v[i].name,
				 s->counters.v[i].val);
	json_obj_end(&w);
	json_obj_end(&w);
}

void ct_stats_print_counters(FILE *f, const struct ct_stats_snap *s,
			     const struct ct_stats_view *v)
{
	const struct ct_counter *c;

	if (v->json) {
		json_counters(f, s, v);
		return;
	}
	text_snap_header(f, s);
	for (size_t i = 0; i < s->counters.n; i++) {
		c = &s->counters.v[i];
		if (show_counter(c, v))
			fprintf(f, "%-31s %" PRIu64 "\n", c->name, c->val);
	}
}

static void json_iface(struct json_writer *w, const struct ct_iface *i)
{
	json_obj_begin(w, NULL);
	json_str(w, "name", i->name);
	if (i->mtu < 0)
		json_null(w, "mtu");
	else
		json_u64(w, "mtu", (uint64_t)i->mtu);
	for (int k = 0; k < CT_IF_NFIELDS; k++)
		json_u64(w, ct_if_field_name(k), i->f[k]);
	json_obj_end(w);
}

static void json_ifaces(FILE *f, const struct ct_stats_snap *s,
			const struct ct_stats_view *v)
{
	struct json_writer w;

	json_snap_begin(&w, f, s);
	json_arr_begin(&w, "interfaces");
	for (size_t i = 0; i < s->ifaces.n; i++)
		if (ct_glob_match(v->globs, v->nglobs, s->ifaces.v[i].name))
			json_iface(&w, &s->ifaces.v[i]);
	json_arr_end(&w);
	json_obj_end(&w);
}

/* netstat -i's columns, then the byte counts it lacks. */
static void text_iface(FILE *f, const struct ct_iface *i)
{
	const uint64_t *x = i->f;
	char mtu[12];

	if (i->mtu < 0)
		snprintf(mtu, sizeof(mtu), "-");
	else
		snprintf(mtu, sizeof(mtu), "%d", i->mtu);
	fprintf(f,
		"%-15s %6s %10" PRIu64 " %6" PRIu64 " %6" PRIu64 " %6" PRIu64
		" %10" PRIu64 " %6" PRIu64 " %6" PRIu64 " %6" PRIu64
		" %14" PRIu64 " %14" PRIu64 "\n",
		i->name, mtu, x[CT_IF_RX_PACKETS], x[CT_IF_RX_ERRS],
		x[CT_IF_RX_DROP], x[CT_IF_RX_FIFO], x[CT_IF_TX_PACKETS],
		x[CT_IF_TX_ERRS], x[CT_IF_TX_DROP], x[CT_IF_TX_FIFO],
		x[CT_IF_RX_BYTES], x[CT_IF_TX_BYTES]);
}

void ct_stats_print_ifaces(FILE *f, const struct ct_stats_snap *s,
			   const struct ct_stats_view *v)
{
	if (v->json) {
		json_ifaces(f, s, v);
		return;
	}
	text_snap_header(f, s);
	fprintf(f, "%-15s %6s %10s %6s %6s %6s %10s %6s %6s %6s %14s %14s\n",
		"Iface", "MTU", "RX-OK", "RX-ERR", "RX-DRP", "RX-OVR", "TX-OK",
		"TX-ERR", "TX-DRP", "TX-OVR", "RX-BYTES", "TX-BYTES");
	for (size_t i = 0; i < s->ifaces.n; i++)
		if (ct_glob_match(v->globs, v->nglobs, s->ifaces.v[i].name))
			text_iface(f, &s->ifaces.v[i]);
}
