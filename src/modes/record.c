// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/record.h"

#include <stdio.h>
#include <string.h>

#include "engine/recorder.h"
#include "engine/stopsig.h"
#include "modes/record_opts.h"
#include "modes/runner.h"
#include "output/format.h"

struct record {
	struct ct_record_opts opts;
	struct ct_recorder rec;
	bool started;
};

static enum ct_parse_result parse(void *self, int argc, char **argv,
				  char *err, size_t errlen)
{
	struct record *r = self;

	return ct_record_parse(argc, argv, &r->opts, err, errlen);
}

static int start(void *self)
{
	struct record *r = self;
	struct ct_recorder_opts o = {
		.path = r->opts.path, .max_size = r->opts.max_size,
		.rotate = r->opts.rotate,
		.ring_bytes = r->opts.ring_bytes,
		.ring_floor = ct_ring_bytes(CT_STREAM_RING_MIB),
		.interval_ns = (uint64_t)(r->opts.interval_s * 1e9),
		.filter = r->opts.filter, .cmdline = r->opts.cmdline,
	};
	char err[256];
	int rc;

	ct_session_set_verbose(r->opts.verbose);
	r->started = true;
	rc = ct_recorder_start(&r->rec, &o, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "conntrace: %s\n", err);
		return r->rec.session.usage_error ? 2 : -1;
	}
	ct_boost(r->opts.boost);
	if (r->opts.verbose)
		ct_ring_said(&r->rec.session);
	fprintf(stderr, "conntrace: recording to %s (hooks: state=%s, accept=%s). Ctrl-C to end.\n",
		r->opts.path, ct_hook_name(r->rec.session.state_hook),
		r->rec.session.accept_hook ? "tracepoint" : "none");
	return 0;
}

static int run(void *self)
{
	struct record *r = self;
	uint64_t end = 0;

	if (r->opts.duration_s > 0)
		end = ct_monotonic_ns() + (uint64_t)(r->opts.duration_s * 1e9);
	return ct_recorder_run(&r->rec, &ct_stop, end) ? 1 : 0;
}

static void report(void *self)
{
	const struct record *r = self;
	const struct ct_rec_writer *w = &r->rec.w;
	uint64_t rb = ct_session_stat(&r->rec.session, CT_STAT_RB_DROPS);
	uint64_t socks = ct_session_stat(&r->rec.session, CT_STAT_SOCK_MAP_FULL);

	if (rb || socks || r->rec.walk_errors || r->opts.verbose)
		fprintf(stderr,
			"conntrace: %llu events lost (ring buffer full), %llu sockets untracked (map full), %llu snapshots failed\n",
			(unsigned long long)rb, (unsigned long long)socks,
			(unsigned long long)r->rec.walk_errors);
	ct_ring_hint(rb, r->rec.session.ring_bytes);
	if (r->rec.unread)
		fprintf(stderr,
			"conntrace: %llu events lost (left in the ring buffer at exit)\n",
			(unsigned long long)r->rec.unread);
	ct_events_report(&r->rec.events, stderr);
	fprintf(stderr,
		"conntrace: recorded %llu transitions, %llu events, %llu snapshots, %llu records in %llu bytes (%llu files)\n",
		(unsigned long long)r->rec.lines,
		(unsigned long long)r->rec.tevs,
		(unsigned long long)r->rec.snapshots,
		(unsigned long long)w->records, (unsigned long long)w->bytes,
		(unsigned long long)w->files);
	/* Per kind, the events the ring buffer had no room for; all with -v. */
	ct_tev_report_losses(&r->rec.session, CT_TEV_ALL, r->opts.verbose,
			     stderr);
	ct_session_report_missed(&r->rec.session, stderr,
				 (const char *const[CT_GROUP_KINDS]){
					 [CT_GROUP_STATE] = "transitions",
					 [CT_GROUP_TEV] = "events" });
	ct_evsource_report(&r->rec.source, stderr);
}

static void finish(void *self)
{
	struct record *r = self;

	ctf_free(r->opts.filter.expr);
	if (r->started && ct_recorder_stop(&r->rec))
		fprintf(stderr, "conntrace: cannot finish %s\n", r->opts.path);
}

static const struct ct_mode record_mode = {
	.cmd = &ct_record_cmd, .parse = parse,
	.out = CT_OUT_LINES, .stop_on_signals = true,
	.start = start, .run = run, .report = report, .finish = finish,
};

int ct_record_main(int argc, char **argv)
{
	struct record r = { 0 };

	return ct_mode_run(&record_mode, &r, argc, argv);
}
