// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/watch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/events.h"
#include "engine/evsource.h"
#include "engine/filter.h"
#include "engine/session.h"
#include "engine/owners.h"
#include "engine/privs.h"
#include "engine/stopsig.h"
#include "engine/tcpev.h"
#include "modes/runner.h"
#include "modes/watch_opts.h"
#include "modes/watch_order.h"
#include "modes/watch_summary.h"
#include "modes/watch_out.h"
#include "output/format.h"
#include "output/ostream.h"

#define POLL_MS 100
#define DRAIN_NS (10 * 1000000ULL)

struct watch {
	struct ct_watch_opts opts;
	struct ct_load_opts load;
	struct ct_session session;
	struct ct_owners owners;
	struct ct_events events;
	struct ct_evsource source;
	struct ct_out out;
	struct ct_tcpev tev;
	struct ct_order order;
	struct ct_summary summary;
	uint64_t unread;	/* transitions and events still in the ring at the stop */
	uint64_t unread_accepts;
};

/* Events whose socket's held transitions went out go out too. */
static void release(struct watch *w)
{
	ct_order_release(&w->order);
}

static bool held(void *ctx, uint64_t skaddr, uint64_t cookie)
{
	struct watch *w = ctx;

	return ct_events_holds(&w->events, skaddr, cookie);
}

/*
 * Up to when every record is read: the end of the last read if it emptied
 * the ring, else the newest record read. Held lines wait on this clock,
 * not the wall's, so that after a stall or behind a backlog an accept()
 * already in the ring still reaches its lines before their wait is over.
 */
static uint64_t read_until(const struct watch *w, int nread)
{
	uint64_t now = ct_monotonic_ns();

	if (nread < CT_EV_BATCH || w->events.latest_ns > now)
		return now;
	return w->events.latest_ns;
}

static int poll_loop(struct watch *w)
{
	uint64_t end = 0, now, read_to = ct_monotonic_ns();
	int timeout, err;

	if (w->opts.duration_s > 0)
		end = ct_monotonic_ns() + (uint64_t)(w->opts.duration_s * 1e9);
	while (!ct_stop) {
		now = ct_monotonic_ns();
		if (end && now >= end)
			break;
		timeout = ct_events_tick(&w->events, read_to, POLL_MS);
		timeout = ct_tcpev_tick(&w->tev, now, timeout);
		release(w);
		if (end && (end - now) / 1000000 < (uint64_t)timeout)
			timeout = (int)((end - now) / 1000000) + 1;
		/* What the last pass printed goes out before we wait. */
		ct_out_flush(w->out.f);
		err = ct_evsource_poll(&w->source, timeout, CT_EV_BATCH);
		read_to = read_until(w, err);
		release(w);
		if (err < 0) {
			fprintf(stderr, "conntrace: reading events: %s\n",
				strerror(-err));
			return 1;
		}
		/* Told at exit by output/ostream.h, quietly if the reader went. */
		if (ct_out_failed(w->out.f) || ct_out_gone(w->out.f))
			return 1;
	}
	return 0;
}

/* Transitions pass through the engine always; printed only if asked for. */
static void emit_line(const struct ct_line *l, void *ctx)
{
	struct watch *w = ctx;

	if (w->opts.states)
		ct_out_line(&w->out, l);
}

static void emit_tev(const struct ct_tev_line *l, void *ctx)
{
	struct watch *w = ctx;

	if (w->opts.summary)
		ct_summary_add(&w->summary, &l->ev);
	/* --summary alone loads the latency hook without printing it. */
	if (w->opts.tev_mask & CT_TEV_BIT(l->ev.kind))
		ct_order_tev(&w->order, l);
}

/* The kinds the kernel must send: the printed ones, and the summary's. */
static unsigned int tev_wanted(const struct ct_watch_opts *o)
{
	return o->tev_mask | (o->summary ? CT_TEV_BIT(CT_TEV_CONNECT_LAT) : 0);
}

/* Kinds asked for that this kernel cannot give: one line each. */
static void report(void *self)
{
	const struct watch *w = self;
	uint64_t rb = ct_session_stat(&w->session, CT_STAT_RB_DROPS);
	uint64_t socks = ct_session_stat(&w->session, CT_STAT_SOCK_MAP_FULL);
	uint64_t lis = ct_session_stat(&w->session, CT_STAT_LISTEN_MAP_FULL);
	uint64_t acc = ct_session_stat(&w->session, CT_STAT_ACCEPT_RB_DROPS);

	if (rb || socks || lis || w->opts.verbose)
		fprintf(stderr,
			"conntrace: %llu events lost (ring buffer full), %llu sockets and %llu listeners untracked (map full)\n",
			(unsigned long long)rb, (unsigned long long)socks,
			(unsigned long long)lis);
	if (w->opts.verbose) {
		fprintf(stderr,
			"conntrace: %llu transitions passed the kernel's filters\n",
			(unsigned long long)ct_session_stat(&w->session,
							    CT_STAT_EVENTS));
		ct_session_report_rescues(&w->session, stderr);
	}
	/* Not transitions: no line is lost with them, only an owner may be. */
	if (acc)
		fprintf(stderr,
			"conntrace: %llu accept records lost (ring buffer full): some accepted sockets' owners may show as ?\n",
			(unsigned long long)acc);
	if (w->unread)
		fprintf(stderr,
			"conntrace: %llu events lost (left in the ring buffer at exit)\n",
			(unsigned long long)w->unread);
	ct_events_report(&w->events, stderr);
	if (w->unread_accepts)
		fprintf(stderr,
			"conntrace: %llu accept records lost (left in the ring buffer at exit)\n",
			(unsigned long long)w->unread_accepts);
	ct_ring_hint(rb + acc, w->session.ring_bytes);
	if (w->events.untracked_tw)
		fprintf(stderr,
			"conntrace: %llu TIME_WAIT connections not followed (too many at once)\n",
			(unsigned long long)w->events.untracked_tw);
	/* Per kind, the events the ring buffer had no room for; all with -v. */
	ct_tev_report_losses(&w->session, w->opts.tev_mask, w->opts.verbose,
			     stderr);
	ct_session_report_missed(&w->session, stderr,
				 (const char *const[CT_GROUP_KINDS]){
					 [CT_GROUP_STATE] = "transitions",
					 [CT_GROUP_TEV] = "events" });
	ct_evsource_report(&w->source, stderr);
}

static enum ct_parse_result parse(void *self, int argc, char **argv,
				  char *err, size_t errlen)
{
	struct watch *w = self;

	return ct_watch_parse(argc, argv, &w->opts, err, errlen);
}

static int open_engine(struct watch *w, char *err, size_t errlen)
{
	int rc;

	if (ct_check_privileges(err, errlen) ||
	    ct_session_start(&w->session, &w->load, err, errlen))
		return -1;
	ct_evsource_init(&w->source, &ct_stop);
	if (ct_owners_init(&w->owners, w->session.skel) ||
	    ct_events_init(&w->events, &w->owners, ct_session_socks_fd(&w->session),
			   &w->opts.filter, emit_line, w) ||
	    ct_tcpev_init(&w->tev, &w->owners, &w->session, &w->opts.filter,
			  tev_wanted(&w->opts), emit_tev, w)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (ct_events_register(&w->events, &w->source)) {
		snprintf(err, errlen, "state and accept records have a handler already");
		return -1;
	}
	if (ct_tcpev_register(&w->tev, &w->source)) {
		snprintf(err, errlen, "event records have a handler already");
		return -1;
	}
	w->events.stop = &ct_stop;
	w->events.flush_budget_ns = CT_STOP_PRINT_NS;
	w->out.tev = &w->tev;
	ct_tcpev_load_reasons(&w->tev);
	ct_tcpev_warn_missing(&w->session, stderr);
	w->events.lifetime = w->opts.lifetime;
	w->events.accept_hook = w->session.accept_hook;
	rc = ct_owners_seed(&w->owners);
	if (rc)
		fprintf(stderr,
			"conntrace: warning: cannot list existing sockets (%s); their owners show as ?\n",
			strerror(-rc));
	return ct_evsource_open(&w->source, &w->session, err, errlen);
}

static int start(void *self)
{
	struct watch *w = self;
	char err[256];

	ct_out_init(&w->out, stdout, w->opts.json);
	ct_order_init(&w->order, &w->out, held, w);
	w->out.lifetime = w->opts.lifetime;
	w->out.human = w->opts.human;
	w->load.filter = w->opts.filter;
	/* Owners come from connect, accept and close: nothing per send. */
	w->load.io_hooks = false;
	w->load.accept_hook = true;
	w->load.tev_mask = tev_wanted(&w->opts);
	w->load.ring_bytes = w->opts.ring_bytes;
	w->load.ring_floor = ct_ring_bytes(CT_STREAM_RING_MIB);
	ct_session_set_verbose(w->opts.verbose);
	if (open_engine(w, err, sizeof(err))) {
		fprintf(stderr, "conntrace: %s\n", err);
		return w->session.usage_error ? 2 : -1;
	}
	ct_boost(w->opts.boost);
	if (w->opts.verbose)
		ct_ring_said(&w->session);
	fprintf(stderr, "conntrace: tracing TCP %s (hooks: state=%s, io=%s, accept=%s). Ctrl-C to end.\n",
		w->opts.lifetime ? "connections, one line per closed connection"
				 : "state transitions",
		ct_hook_name(w->session.state_hook), ct_hook_name(w->session.io_hook),
		w->session.accept_hook ? "tracepoint" : "none");
	ct_out_header(&w->out);
	return 0;
}

/* What the stop still has to say, before the last programs are gone. */
static void flush_held(void *self)
{
	struct watch *w = self;

	ct_events_flush(&w->events);
	ct_order_flush(&w->order);
	if (w->opts.summary)
		ct_summary_print(&w->summary, w->out.f, w->opts.json);
}

static int run(void *self)
{
	struct watch *w = self;
	const uint64_t *by = w->source.skipped_by_type;
	int rc = poll_loop(w);
	int err = ct_evsource_stop(&w->source, &w->session, DRAIN_NS,
				   flush_held, w);

	if (err < 0) {
		fprintf(stderr, "conntrace: reading events: %s\n", strerror(-err));
		rc = 1;
	}
	w->unread = by[CT_MSG_STATE] + by[CT_MSG_TCP_EV];
	w->unread_accepts = by[CT_MSG_ACCEPT];
	return rc;
}

static void finish(void *self)
{
	struct watch *w = self;

	ctf_free(w->opts.filter.expr);
	ct_evsource_close(&w->source);
	ct_tcpev_free(&w->tev);
	ct_order_free(&w->order);
	ct_summary_free(&w->summary);
	ct_events_free(&w->events);
	ct_owners_free(&w->owners);
	ct_session_stop(&w->session);
}

/*
 * Block-buffered and flushed once a pass, before each wait: `conntrace |
 * grep` stays live, and a batch of lines costs one write, not one each
 * (at Ctrl-C under churn, thousands of held lines go out at once).
 */
static const struct ct_mode watch_mode = {
	.cmd = &ct_watch_cmd, .parse = parse,
	.out = CT_OUT_BLOCKS, .stop_on_signals = true,
	.start = start, .run = run, .report = report, .finish = finish,
};

int ct_watch_main(int argc, char **argv)
{
	struct watch w = { 0 };

	return ct_mode_run(&watch_mode, &w, argc, argv);
}
