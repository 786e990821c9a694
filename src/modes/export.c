// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#define _GNU_SOURCE	/* sigabbrev_np() */
/*
 * conntrace export: the engine's sampler refreshes the model every
 * interval, and each refresh's text is published to the HTTP thread.
 * Only the kernel's TCP counters are read (iter/tcp) and the state hook
 * runs: nothing runs per send or receive.
 */
#include "modes/export.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/sampler.h"
#include "engine/stats_proc.h"
#include "engine/stopsig.h"
#include "modes/export_http.h"
#include "modes/export_model.h"
#include "modes/export_opts.h"
#include "modes/runner.h"
#include "modes/top_view.h"
#include "output/format.h"

struct ct_export {
	struct ct_export_opts opts;
	struct ct_sampler sampler;
	struct ct_export_model model;
	struct ct_http http;
	bool started;		/* the model exists */
	bool running;		/* the programs were attached and served */
};

static void on_event(void *ctx, const struct ct_event *ev)
{
	ct_export_event(ctx, ev);
}

static void on_sock(void *ctx, const struct ct_tcp_rec *r)
{
	ct_export_sock(ctx, r);
}

static bool keep_share(const struct ct_share *s, const void *filter)
{
	return ct_share_match(filter, s);
}

static void self_counts(struct ct_export *x, struct ct_export_self *self)
{
	struct ct_sampler_loss sl;
	struct ct_losses l;

	memset(self, 0, sizeof(*self));
	ct_sampler_loss(&x->sampler, &sl);
	self->ring_drops = sl.ring_drops;
	self->evicted = sl.evicted;
	self->unclosed = sl.unclosed;
	ct_http_counts(&x->http, &self->scrapes, &self->last_scrape_ns);
	if (ct_session_losses(&x->sampler.session, &l))
		return;
	self->sock_map_full = l.sock_map_full;
	self->listen_map_full = l.listen_map_full;
	self->conn_map_full = l.conn_map_full;
	for (size_t i = 0; i < l.nprogs; i++)
		ct_export_missed(&x->model, l.progs[i].name,
				 l.progs[i].recursion_misses);
	ct_losses_free(&l);
}

/* One refresh: the sampler, the model, and the texts scrapes copy. */
static int refresh(struct ct_export *x)
{
	struct ct_counters c = { 0 };
	struct ct_export_self self;
	struct ct_text t[2] = { 0 };
	char err[256];
	int rc = ct_sampler_sample(&x->sampler);

	if (rc)
		return rc;
	/* No nstat in this namespace is no reason to stop exporting. */
	if (ct_read_counters(CT_PROCNET_DIR, &c, err, sizeof(err)))
		ct_counters_free(&c);
	if (ct_bpf_stats_on())
		ct_session_run_times(&x->sampler.session, ct_export_run_time,
				     &x->model);
	self_counts(x, &self);
	ct_export_refresh(&x->model, &x->sampler.acct, &c, &self);
	ct_counters_free(&c);
	ct_expo_write(&x->model.m, false, &t[0]);
	ct_expo_write(&x->model.m, true, &t[1]);
	if (t[0].oom || t[1].oom) {
		ct_text_free(&t[0]);
		ct_text_free(&t[1]);
		return -ENOMEM;
	}
	ct_http_publish(&x->http, &t[0], &t[1]);
	return 0;
}

static const char *listen_str(const struct ct_export *x, char *buf, size_t len)
{
	const struct sockaddr_storage *ss = &x->opts.listen;
	char a[INET6_ADDRSTRLEN];
	bool v6 = ss->ss_family == AF_INET6;
	const void *addr = v6 ? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
			      : (const void *)&((const struct sockaddr_in *)ss)->sin_addr;

	inet_ntop(ss->ss_family, addr, a, sizeof(a));
	snprintf(buf, len, v6 ? "[%s]:%u" : "%s:%u", a, x->http.port);
	return buf;
}

static int start(void *self)
{
	struct ct_export *x = self;
	/* Transitions are counted one by one: the ring carries them all. */
	struct ct_sampler_opts so = { .all_states = true };
	char err[256], where[80];
	int rc = ct_export_model_init(&x->model, &x->opts.by, x->opts.max_series,
				      &x->opts.filter);

	x->started = true;
	if (rc) {
		fprintf(stderr, "conntrace: cannot set up the metrics: %s\n",
			strerror(-rc));
		return -1;
	}
	/* Before loading anything: a port in use is told at once. */
	if (ct_http_start(&x->http, (struct sockaddr *)&x->opts.listen,
			  x->opts.listen_len, x->opts.verbose, err, sizeof(err))) {
		fprintf(stderr, "conntrace: %s\n", err);
		return -1;
	}
	ct_session_set_verbose(x->opts.verbose);
	if (ct_sampler_start(&x->sampler, &so, err, sizeof(err))) {
		fprintf(stderr, "conntrace: %s\n", err);
		return x->sampler.session.usage_error ? 2 : -1;
	}
	x->sampler.acct.keep = keep_share;
	x->sampler.acct.keep_ctx = &x->opts.filter;
	x->sampler.on_event = on_event;
	x->sampler.on_sock = on_sock;
	x->sampler.hook_ctx = &x->model;
	x->running = true;
	fprintf(stderr, "conntrace: serving metrics on http://%s/metrics, "
		"refreshed every %g s. SIGTERM or Ctrl-C to stop.\n",
		listen_str(x, where, sizeof(where)), x->opts.interval_s);
	return 0;
}

/*
 * Reads the ring buffer until deadline, so that a burst of connections
 * between refreshes cannot overflow it (every transition is a record, ten
 * or so per connection); short waits, so a signal ends it at once. Closes
 * read here are older than the next refresh's walk, as the sampler needs.
 */
static void drain_until(struct ct_export *x, uint64_t deadline)
{
	while (!ct_stop && ct_monotonic_ns() < deadline)
		if (ct_evsource_poll(&x->sampler.source, 20, CT_EV_BATCH) < 0)
			usleep(20000);
}

static int run(void *self)
{
	struct ct_export *x = self;
	uint64_t step = (uint64_t)(x->opts.interval_s * 1e9);
	uint64_t next = ct_monotonic_ns();

	while (!ct_stop) {
		int rc = refresh(x);

		if (rc && !ct_stop) {
			fprintf(stderr, "conntrace: reading counters: %s\n",
				strerror(-rc));
			return 1;
		}
		/* Late refreshes are not made up for: they would only bunch up. */
		next += step;
		if (next < ct_monotonic_ns())
			next = ct_monotonic_ns() + step;
		drain_until(x, next);
	}
	if (ct_stop_signal)
		fprintf(stderr, "conntrace: SIG%s received: detaching and stopping\n",
			sigabbrev_np(ct_stop_signal) ?: "?");
	return 0;
}

static void finish(void *self)
{
	struct ct_export *x = self;

	ct_http_stop(&x->http);
	ct_sampler_stop(&x->sampler);
	if (x->started)
		ct_export_model_free(&x->model);
	ctf_free(x->opts.filter.expr);
	if (x->running)
		fprintf(stderr, "conntrace: export stopped, programs detached\n");
}

static void report(void *self)
{
	struct ct_export *x = self;

	ct_evsource_report(&x->sampler.source, stderr);
}

static enum ct_parse_result parse(void *self, int argc, char **argv,
				  char *err, size_t errlen)
{
	struct ct_export *x = self;

	return ct_export_parse(argc, argv, &x->opts, err, errlen);
}

static const struct ct_mode export_mode = {
	.cmd = &ct_export_cmd, .parse = parse,
	.out = CT_OUT_LINES, .stop_on_signals = true,
	.start = start, .run = run, .report = report, .finish = finish,
};

int ct_export_main(int argc, char **argv)
{
	struct ct_export x = { 0 };

	return ct_mode_run(&export_mode, &x, argc, argv);
}
