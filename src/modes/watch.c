// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/watch.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "conntrace.skel.h"
#include "engine/events.h"
#include "engine/filter.h"
#include "output/format.h"
#include "engine/session.h"
#include "modes/watch_out.h"
#include "engine/owners.h"
#include "engine/privs.h"
#include "engine/stopsig.h"
#include "modes/watch_opts.h"
#include "output/ostream.h"

#define POLL_MS 100

static int on_event(void *ctx, void *data, size_t size)
{
	uint32_t type = size >= sizeof(uint32_t) ? *(const uint32_t *)data : 0;

	if (type == CT_MSG_STATE && size >= sizeof(struct ct_event))
		ct_events_handle(ctx, data);
	else if (type == CT_MSG_ACCEPT && size >= sizeof(struct ct_accept))
		ct_events_accept(ctx, data);
	return 0;
}

struct watch {
	struct ct_watch_opts opts;
	struct ct_load_opts load;
	struct ct_session session;
	struct ct_owners owners;
	struct ct_events events;
	struct ct_out out;
	struct ring_buffer *rb;
};

static int poll_loop(struct watch *w)
{
	uint64_t end = 0, now;
	int timeout, err;

	if (w->opts.duration_s > 0)
		end = ct_monotonic_ns() + (uint64_t)(w->opts.duration_s * 1e9);
	while (!ct_stop) {
		now = ct_monotonic_ns();
		if (end && now >= end)
			break;
		timeout = ct_events_tick(&w->events, now, POLL_MS);
		if (end && (end - now) / 1000000 < (uint64_t)timeout)
			timeout = (int)((end - now) / 1000000) + 1;
		err = ring_buffer__poll(w->rb, timeout);
		if (err < 0 && err != -EINTR) {
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

static void report_losses(const struct watch *w)
{
	uint64_t rb = ct_session_stat(&w->session, CT_STAT_RB_DROPS);
	uint64_t socks = ct_session_stat(&w->session, CT_STAT_SOCK_MAP_FULL);
	uint64_t lis = ct_session_stat(&w->session, CT_STAT_LISTEN_MAP_FULL);

	if (rb || socks || lis || w->opts.verbose)
		fprintf(stderr,
			"conntrace: %llu events lost (ring buffer full), %llu sockets and %llu listeners untracked (map full)\n",
			(unsigned long long)rb, (unsigned long long)socks,
			(unsigned long long)lis);
	if (w->events.untracked_tw)
		fprintf(stderr,
			"conntrace: %llu TIME_WAIT connections not followed (too many at once)\n",
			(unsigned long long)w->events.untracked_tw);
	ct_session_report_missed(&w->session, stderr,
				 (const char *const[CT_GROUP_KINDS]){
					 [CT_GROUP_STATE] = "transitions" });
}

static int start(struct watch *w)
{
	char err[256];
	int rc;

	if (ct_check_privileges(err, sizeof(err)) ||
	    ct_session_start(&w->session, &w->load, err, sizeof(err))) {
		fprintf(stderr, "conntrace: %s\n", err);
		return -1;
	}
	if (ct_owners_init(&w->owners, w->session.skel) ||
	    ct_events_init(&w->events, &w->owners,
			   bpf_map__fd(w->session.skel->maps.ct_socks),
			   &w->opts.filter, ct_out_emit, &w->out)) {
		fprintf(stderr, "conntrace: out of memory\n");
		return -1;
	}
	w->events.lifetime = w->opts.lifetime;
	w->events.accept_hook = w->session.accept_hook;
	rc = ct_owners_seed(&w->owners);
	if (rc)
		fprintf(stderr,
			"conntrace: warning: cannot list existing sockets (%s); their owners show as ?\n",
			strerror(-rc));
	w->rb = ring_buffer__new(bpf_map__fd(w->session.skel->maps.ct_events),
				 on_event, &w->events, NULL);
	if (!w->rb) {
		fprintf(stderr, "conntrace: cannot open the ring buffer: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

static void finish(struct watch *w)
{
	ctf_free(w->opts.filter.expr);
	ring_buffer__free(w->rb);
	ct_events_free(&w->events);
	ct_owners_free(&w->owners);
	ct_session_stop(&w->session);
}

int ct_watch_main(int argc, char **argv)
{
	struct watch w = { 0 };
	char err[256];
	int rc;

	rc = ct_watch_parse(argc, argv, &w.opts, err, sizeof(err));
	if ((rc = ct_cli_parsed(rc, err, &ct_watch_cmd)) >= 0)
		return rc;
	/* Line-buffered even into a pipe, so `conntrace | grep` is live. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	ct_out_init(&w.out, stdout, w.opts.json);
	w.out.lifetime = w.opts.lifetime;
	w.load.filter = w.opts.filter;
	/* Owners come from connect, accept and close: nothing per send. */
	w.load.io_hooks = false;
	w.load.accept_hook = true;
	ct_session_set_verbose(w.opts.verbose);
	ct_stop_on_signals();
	if (start(&w)) {
		finish(&w);
		return w.session.usage_error ? 2 : 1;
	}
	fprintf(stderr, "conntrace: tracing TCP %s (hooks: state=%s, io=%s, accept=%s). Ctrl-C to end.\n",
		w.opts.lifetime ? "connections, one line per closed connection"
				: "state transitions",
		ct_hook_name(w.session.state_hook), ct_hook_name(w.session.io_hook),
		w.session.accept_hook ? "tracepoint" : "none");
	ct_out_header(&w.out);
	rc = poll_loop(&w);
	ct_events_flush(&w.events);
	ct_out_flush(stdout);
	report_losses(&w);
	finish(&w);
	return rc;
}
