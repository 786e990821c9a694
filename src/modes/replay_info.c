// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/replay_info.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "engine/recfile.h"
#include "engine/tcpev.h"
#include "engine/tevkind.h"
#include "output/format.h"

struct info {
	uint64_t first_ns, last_ns;
	uint64_t by_type[CT_REC_FILE_TYPES + 8];
	uint64_t closes, derived;
	uint64_t tev_kinds[CT_TEV_KINDS];	/* CT_REC_TEV by kind */
	struct ct_rec_loss loss;	/* the last running totals seen */
	uint16_t loss_len;		/* its length: older writers' are shorter */
};

static const char *kernel_type_name(unsigned t)
{
	switch (t) {
	case CT_MSG_STATE:
		return "state records";
	case CT_MSG_CONN_END:
		return "connection ends";
	case CT_MSG_ACCEPT:
		return "accepts";
	case CT_MSG_TCP_EV:
		return "events (owners unresolved)";
	}
	return NULL;
}

static void count(struct info *in, const struct ct_rec *rec)
{
	struct ct_rec_line l;
	uint64_t ts = 0;

	in->by_type[rec->type < CT_REC_FILE_TYPES + 8 ? rec->type : 0]++;
	if (rec->type == CT_REC_LINE &&
	    ct_rec_copy(rec, &l, sizeof(l), CT_REC_LINE_MIN)) {
		ts = l.ts_ns;
		in->closes += l.ev.newstate == TCP_CLOSE;
		in->derived += l.derived;
	} else if (rec->type == CT_REC_TEV && rec->len >= CT_REC_TEV_MIN) {
		uint8_t kind;

		memcpy(&kind, (const char *)rec->data +
			      offsetof(struct ct_rec_tev, ev.kind), sizeof(kind));
		if (kind < CT_TEV_KINDS)
			in->tev_kinds[kind]++;
	} else if (rec->type == CT_REC_LOSS &&
		   ct_rec_copy(rec, &in->loss, sizeof(in->loss), CT_REC_LOSS_MIN)) {
		in->loss_len = rec->len;
	}
	/* Every record type this format defines has its time first. */
	if (rec->type >= CT_REC_FILE_TYPES && rec->type != CT_REC_LINE &&
	    rec->type != CT_REC_SOCK && rec->len >= 8)
		memcpy(&ts, rec->data, sizeof(ts));
	if (!ts)
		return;
	if (!in->first_ns || ts < in->first_ns)
		in->first_ns = ts;
	if (ts > in->last_ns)
		in->last_ns = ts;
}

static void print_host(const struct ct_recset *set, FILE *f)
{
	static const char *const keys[] = {
		"hostname", "kernel", "kernel_version", "machine", "options",
		"interval_ns", "max_size", "rotate",
	};
	const struct ct_rec_reader *rd = &set->f[0].rd;
	char v[512];

	fprintf(f, "format version: %u\n", rd->version);
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		if (ct_rec_header(rd, keys[i], v, sizeof(v)))
			fprintf(f, "%s: %s\n", keys[i], v);
}

static uint64_t boot_wall(const struct ct_recset *set)
{
	char v[32];

	if (!ct_rec_header(&set->f[0].rd, "boot_wall_ns", v, sizeof(v)))
		return 0;
	return strtoull(v, NULL, 10);
}

static void print_range(const struct ct_recset *set, const struct info *in,
			FILE *f)
{
	uint64_t b = boot_wall(set);
	char t1[40], t2[40];

	if (!in->first_ns) {
		fprintf(f, "time range: no records\n");
		return;
	}
	fprintf(f, "time range: %s to %s (%.3f s)\n",
		ct_iso_time_str(in->first_ns + b, t1, sizeof(t1)),
		ct_iso_time_str(in->last_ns + b, t2, sizeof(t2)),
		(double)(in->last_ns - in->first_ns) / 1e9);
}

/*
 * The events, by kind, and the kinds the recorder had no hook for; a
 * recording made before events were recorded says so.
 */
static void print_events(const struct ct_recset *set, const struct info *in,
			 FILE *f)
{
	char v[32];
	unsigned int kinds;
	const char *sep = "";

	if (!ct_rec_header(&set->f[0].rd, "events", v, sizeof(v))) {
		fprintf(f, "events: %llu (a recording made before events were recorded)\n",
			(unsigned long long)in->by_type[CT_REC_TEV]);
		return;
	}
	kinds = (unsigned int)strtoul(v, NULL, 10);
	fprintf(f, "events: %llu (", (unsigned long long)in->by_type[CT_REC_TEV]);
	for (int k = 0; k < CT_TEV_KINDS; k++) {
		fprintf(f, "%s%s %llu", sep, ct_tev_kind(k)->label,
			(unsigned long long)in->tev_kinds[k]);
		sep = ", ";
	}
	fprintf(f, ")\n");
	for (int k = 0; k < CT_TEV_KINDS; k++)
		if (!(kinds & CT_TEV_BIT(k)))
			fprintf(f, "events not recorded (no hook on the recording host): %s\n",
				ct_tev_kind(k)->label);
}

static void print_counts(const struct info *in, FILE *f)
{
	fprintf(f, "transitions: %llu (%llu closes, %llu derived by user space)\n",
		(unsigned long long)in->by_type[CT_REC_LINE],
		(unsigned long long)in->closes, (unsigned long long)in->derived);
	fprintf(f, "snapshots: %llu, socket records %llu\n",
		(unsigned long long)in->by_type[CT_REC_SNAP],
		(unsigned long long)in->by_type[CT_REC_SOCK]);
	for (unsigned t = 1; t < CT_REC_FILE_TYPES; t++) {
		const char *name = kernel_type_name(t);

		if (!in->by_type[t])
			continue;
		if (name)
			fprintf(f, "kernel %s: %llu\n", name,
				(unsigned long long)in->by_type[t]);
		else
			fprintf(f, "kernel records of type %u (unknown to this reader): %llu\n",
				t, (unsigned long long)in->by_type[t]);
	}
}

/* One kind of loss: its count, or "not recorded" past an older writer's record. */
static void print_loss(const struct info *in, FILE *f, const char *what,
		       size_t off)
{
	uint64_t v;

	if (in->loss_len < off + sizeof(v)) {
		fprintf(f, "  %s: not recorded\n", what);
		return;
	}
	memcpy(&v, (const char *)&in->loss + off, sizeof(v));
	fprintf(f, "  %s: %llu\n", what, (unsigned long long)v);
}

#define LOSS(in, f, what, field) \
	print_loss(in, f, what, offsetof(struct ct_rec_loss, field))

static void print_losses(const struct info *in, FILE *f)
{
	uint64_t total = 0, v;

	for (size_t off = offsetof(struct ct_rec_loss, ring_drops);
	     off + sizeof(v) <= in->loss_len && off < sizeof(in->loss);
	     off += sizeof(v)) {
		memcpy(&v, (const char *)&in->loss + off, sizeof(v));
		total += v;
	}
	if (!in->loss_len) {
		fprintf(f, "lost while recording: not recorded (no loss record)\n");
		return;
	}
	if (!total) {
		fprintf(f, "lost while recording: nothing\n");
		return;
	}
	fprintf(f, "lost while recording:\n");
	LOSS(in, f, "kernel records, ring buffer full", ring_drops);
	LOSS(in, f, "accept records, ring buffer full", accept_ring_drops);
	LOSS(in, f, "events, ring buffer full", event_ring_drops);
	LOSS(in, f, "transitions the kernel skipped (recursion)",
	     missed_transitions);
	LOSS(in, f, "accepts the kernel skipped (recursion)", missed_accepts);
	LOSS(in, f, "other events the kernel skipped (recursion)",
	     missed_events);
	LOSS(in, f, "sockets untracked, map full", sock_map_full);
	LOSS(in, f, "listeners untracked, map full", listen_map_full);
	LOSS(in, f, "TIME_WAIT hand-offs not followed", untracked_time_wait);
	LOSS(in, f, "snapshots failed", walk_errors);
}

static void print_files(const struct ct_recset *set, const struct info *in,
			FILE *f)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct ct_recfile *rf = &set->f[i];

		fprintf(f, "file %s: %zu bytes, %llu blocks, %llu records",
			rf->path, rf->size, (unsigned long long)rf->rd.blocks,
			(unsigned long long)rf->rd.records);
		if (rf->rd.truncated)
			fprintf(f, "; truncated: ends at byte %llu, the last complete block (%llu bytes after it dropped)\n",
				(unsigned long long)rf->rd.good_end,
				(unsigned long long)(rf->size - rf->rd.good_end));
		else if (!rf->rd.ended)
			fprintf(f, "; no end record: the recorder did not stop cleanly, ends at byte %llu\n",
				(unsigned long long)rf->rd.good_end);
		else
			fprintf(f, "; complete\n");
	}
	(void)in;
}

int ct_replay_info(struct ct_recset *set, FILE *f)
{
	struct info *in = calloc(1, sizeof(*in));
	struct ct_rec rec;
	int rc;

	if (!in) {
		fprintf(stderr, "conntrace: out of memory\n");
		return 1;
	}
	while ((rc = ct_recset_next(set, &rec)) > 0)
		count(in, &rec);
	print_host(set, f);
	print_range(set, in, f);
	print_counts(in, f);
	print_events(set, in, f);
	print_losses(in, f);
	print_files(set, in, f);
	free(in);
	if (rc < 0) {
		fprintf(stderr, "conntrace: %s\n", set->err);
		return rc == -ENOMEM ? 1 : 2;
	}
	return 0;
}
