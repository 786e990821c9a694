// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/top.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/filter.h"
#include "engine/stopsig.h"
#include "lib/macros.h"
#include "modes/runner.h"
#include "modes/top_check.h"
#include "output/format.h"
#include "output/ostream.h"

int ct_top_sample(struct ct_top *t)
{
	int err = ct_sampler_sample(&t->sampler);

	/* Stopping: what is left is upkeep for an interval that never comes. */
	if (err || ct_stop)
		return err;
	return t->opts.st.check ? ct_top_check(&t->sampler.acct, &t->diag) : 0;
}

/* Sends and receives not counted, and closes whose last bytes were lost. */
static uint64_t lost(const struct ct_top *t)
{
	struct ct_sampler_loss l;

	ct_sampler_loss(&t->sampler, &l);
	return l.map_full + l.ring_drops;
}

/* What the header says is counted, and at what cost. */
static const char *counting(const struct ct_top *t)
{
	if (t->opts.shares)
		return "per-call hooks: TCP shares and UDP";
	if (t->opts.udp)
		return "TCP from kernel counters; UDP per call (every send/receive pays a hook)";
	return "TCP from kernel counters; UDP not counted (-u)";
}

static int print_table(const struct ct_top *t)
{
	const struct ct_top_state *st = &t->opts.st;
	struct ct_table tab;
	char when[40];

	if (ct_top_table(&t->sampler.acct, st, ct_monotonic_ns(), &tab))
		return -ENOMEM;
	printf("conntrace top  %s  interval %.2f s  view %s  %s  evicted %llu  %s\n",
	       ct_iso_time_str(ct_clock_ns(CLOCK_REALTIME), when, sizeof(when)),
	       t->sampler.acct.interval_s, ct_view_name(st->view),
	       st->totals ? "totals" : "rates",
	       (unsigned long long)t->sampler.evicted, counting(t));
	ct_table_print(&tab, stdout);
	ct_table_free(&tab);
	return 0;
}

static int batch_loop(struct ct_top *t)
{
	for (uint32_t i = 0; !ct_stop && (!t->opts.count || i < t->opts.count); i++) {
		int err;

		ct_wait_interval(t->opts.interval_s);
		if (ct_stop)
			break;	/* a sample now would take time the user gave back */
		if ((err = ct_top_sample(t))) {
			fprintf(stderr, "conntrace: reading counters: %s\n",
				strerror(-err));
			return 1;
		}
		if (ct_stop)
			break;	/* the sample ended early: nothing new to print */
		if (t->opts.json)
			ct_top_json(stdout, &t->sampler.acct, &t->opts.st,
				    ct_clock_ns(CLOCK_REALTIME), t->sampler.evicted,
				    lost(t));
		else if (print_table(t))
			return 1;
		if (ct_out_failed(stdout))
			return 1; /* output/ostream.h tells why, at exit */
	}
	return 0;
}

static bool keep_share(const struct ct_share *s, const void *filter)
{
	return ct_share_match(filter, s);
}

static int start(void *self)
{
	struct ct_top *t = self;
	struct ct_sampler_opts so = {
		.shares = t->opts.shares,
		.udp = t->opts.udp,
		.max_conns = t->opts.max_conns,
		.tev_mask = CT_TOP_TEV_MASK,
		.ring_bytes = t->opts.ring_bytes,
	};
	char err[256];

	/* -v is for the byte check here; libbpf's chatter would bury it. */
	ct_session_set_verbose(false);
	if (ct_sampler_start(&t->sampler, &so, err, sizeof(err))) {
		fprintf(stderr, "conntrace: %s\n", err);
		return t->sampler.session.usage_error ? 2 : -1;
	}
	if (ct_diag_init(&t->diag)) {
		fprintf(stderr, "conntrace: out of memory\n");
		return -1;
	}
	t->opts.st.tally = &t->sampler.tally;
	t->sampler.acct.keep = keep_share;
	t->sampler.acct.keep_ctx = &t->opts.st.filter;
	/* With a count it ends by itself: no Ctrl-C to ask for. */
	fprintf(stderr, "conntrace: tracing socket I/O (%s; per-call hook: %s)%s\n",
		counting(t), ct_hook_name(t->sampler.session.io_hook),
		t->opts.count ? "." : ". Ctrl-C to end.");
	return 0;
}

static int run(void *self)
{
	struct ct_top *t = self;
	int rc = ct_top_sample(t);	/* the baseline the first interval starts from */

	if (!rc)
		rc = !t->opts.batch && isatty(STDOUT_FILENO) ? ct_top_ui(t, &ct_stop)
							     : batch_loop(t);
	return rc < 0 ? 1 : rc;
}

static void finish(void *self)
{
	struct ct_top *t = self;

	ct_diag_free(&t->diag);
	ctf_free(t->opts.st.filter.expr);
	ct_sampler_stop(&t->sampler);
}

static void say_loss(uint64_t n, bool verbose, const char *what)
{
	if (n || verbose)
		fprintf(stderr, "conntrace: %llu %s\n", (unsigned long long)n, what);
}

/* Each loss under the name of its cause, so the user knows what to change. */
static void report(void *self)
{
	const struct ct_top *t = self;
	bool v = t->opts.verbose;
	struct ct_sampler_loss l;

	ct_sampler_loss(&t->sampler, &l);
	say_loss(l.ring_drops, v, "close records lost (ring buffer full)");
	say_loss(l.unclosed, v, "connections gone without their last counts");
	ct_ring_hint(l.ring_drops, t->opts.ring_bytes);
	ct_evsource_report(&t->sampler.source, stderr);
	ct_tev_report_losses(&t->sampler.session, CT_TOP_TEV_MASK, v, stderr);
	say_loss(t->sampler.tally.untracked, v,
		 "events not counted in the views (out of memory, or too many latency hosts)");
	ct_session_report_missed(&t->sampler.session, stderr,
				 (const char *const[CT_GROUP_KINDS]){
					 [CT_GROUP_STATE] = "closes (final counts)",
					 [CT_GROUP_IO] = "sends/receives",
					 [CT_GROUP_TEV] = "events (retransmits, resets, drops)" });
	if (!ct_sampler_per_call(&t->sampler))
		return;
	say_loss(l.evicted, v,
		 "connection entries evicted (byte map full, see --max-conns)");
	say_loss(l.map_full, v, "sends/receives not counted (byte map full)");
	say_loss(l.sharers_full, v,
		 "processes beyond the " CT_STR(CT_SHARERS) " a socket remembers "
		 "did I/O on it (their rows may stay open after it closed)");
}

static enum ct_parse_result parse(void *self, int argc, char **argv,
				  char *err, size_t errlen)
{
	struct ct_top *t = self;

	return ct_top_parse(argc, argv, &t->opts, err, errlen);
}

static const struct ct_mode top_mode = {
	.cmd = &ct_top_cmd, .parse = parse,
	.out = CT_OUT_LINES, .stop_on_signals = true,
	.start = start, .run = run, .report = report, .finish = finish,
};

int ct_top_main(int argc, char **argv)
{
	struct ct_top t = { 0 };

	return ct_mode_run(&top_mode, &t, argc, argv);
}
