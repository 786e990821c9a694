// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#define _GNU_SOURCE	/* sigabbrev_np() */
/*
 * conntrace export: the ring buffer's records are counted as they come;
 * the kernel's TCP counters (iter/tcp) are read only when a scrape is due,
 * and each refresh's text is published to the HTTP thread. A walk of every
 * socket is the one cost that grows with the connections, so it follows
 * the scraper's rhythm, never a timer: with nobody scraping, nothing is
 * walked. Nothing runs per send or receive.
 */
#include "modes/export.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/sampler.h"
#include "engine/stats_proc.h"
#include "engine/stopsig.h"
#include "engine/tcpev.h"
#include "engine/walkcost.h"
#include "modes/export_http.h"
#include "modes/export_model.h"
#include "modes/export_opts.h"
#include "modes/runner.h"
#include "modes/top_view.h"
#include "output/format.h"

/* The events counted besides transitions (latency comes from those). */
#define TEV_KINDS ct_tev_tally_kinds()
/*
 * Closes wait in the sampler for the next refresh; past this many, one is
 * made without a scrape, so that a host nobody scrapes keeps its memory.
 */
#define MAX_PENDING_CLOSES 16384
/* The longest sleep: a scraper that went away is noticed within it. */
#define MAX_SLEEP_MS 1000
/* How often a scrape's ask is looked for, at most. */
#define POLL_MS 20
#define MS 1000000ULL
/* The socket map's size at most: about 100 bytes of kernel memory each. */
#define MAX_SOCKET_MAP (4U << 20)
/* A refresh ahead of a scrape: begun this much before it, beyond its cost. */
#define LEAD_SLACK_NS (50 * MS)
/* Blocks from this size on are mapped on their own (glibc's default). */
#define MMAP_THRESHOLD (128 * 1024)

struct ct_export {
	struct ct_export_opts opts;
	struct ct_sampler sampler;
	struct ct_export_model model;
	struct ct_http http;
	struct ct_tcpev tev;
	uint64_t refresh_ns;	/* when the last refresh began; 0: none yet */
	uint64_t refresh_cost_ns;	/* how long it took */
	bool started;		/* the model exists */
	bool tev_started;	/* tev exists */
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

static uint64_t interval_ns(const struct ct_export *x)
{
	return (uint64_t)(x->opts.interval_s * 1e9);
}

static void on_tev(const struct ct_tev_line *l, void *ctx)
{
	struct ct_export *x = ctx;

	ct_export_tev(&x->model, l, ct_tcpev_reason(&x->tev, &l->ev));
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
	if (x->sampler.opts.count_walk_states)
		ct_export_walk_states(&x->model, x->sampler.walk_states,
				      CT_WALK_STATES);
	/* The listeners' drop counters: read when the rest is. */
	ct_tcpev_tick(&x->tev, ct_monotonic_ns(), 0);
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

/* Whether anything narrows what is counted: then the walk hands over all. */
static bool filtered(const struct ct_kfilter *f)
{
	static const struct ct_kfilter none;

	return memcmp(f, &none, sizeof(none)) != 0;
}

/*
 * Room for every socket's owner with twice the sockets in use now (the map
 * allocates per entry, so room costs nothing until used): past it, new
 * sockets' owners need a walk of every open file at each refresh.
 */
static uint32_t socket_map_size(void)
{
	size_t n = 2 * ct_sockets_in_use();

	if (n <= CT_MAX_SOCKS)
		return 0;
	return n < MAX_SOCKET_MAP ? (uint32_t)n : MAX_SOCKET_MAP;
}

static int start_events(struct ct_export *x, char *err, size_t errlen)
{
	/*
	 * No owner lookup for events whose socket the kernel side did not
	 * know (a drop after close, mostly): each would walk every open file,
	 * and a burst of them would stall the reading of the ring. Their
	 * process name is "?".
	 */
	if (ct_tcpev_init(&x->tev, NULL, &x->sampler.session,
			  &x->opts.filter, TEV_KINDS, on_tev, x)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	x->tev_started = true;
	/* Read at each refresh, not on a timer of their own. */
	x->tev.walk_every_ns = 0;
	if (ct_tcpev_register(&x->tev, &x->sampler.source)) {
		snprintf(err, errlen, "event records have a handler already");
		return -1;
	}
	ct_tcpev_warn_missing(&x->sampler.session, stderr);
	/*
	 * The drop reasons' names come from the kernel's BTF, tens of ms to
	 * read: now, rather than in the middle of a burst the ring must take.
	 */
	ct_tcpev_reason(&x->tev, &(struct ct_tcp_ev){ .kind = CT_TEV_DROP });
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

/*
 * Each refresh makes and frees arrays as large as the sockets (megabytes).
 * glibc raises its mmap threshold past the size of each one freed, after
 * which they come from the heap, and sizes that vary with the churn leave
 * holes there that never go back: under churn the heap grew without end
 * around a steady 15 MB in use. Fixed at glibc's own starting value, they
 * are mapped, and unmapped when freed.
 */
static void keep_heap_flat(void)
{
	if (!mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
		fprintf(stderr, "conntrace: warning: cannot set the allocator's "
			"mmap threshold: memory may grow under churn\n");
}

static int start(void *self)
{
	struct ct_export *x = self;
	/*
	 * Transitions are counted one by one: the ring carries them all. Idle
	 * sockets are counted by state in the kernel, unless a filter must
	 * see each.
	 */
	struct ct_sampler_opts so = {
		.all_states = true, .tev_mask = TEV_KINDS,
		.tev_elsewhere = true,
		.count_walk_states = !filtered(&x->opts.filter),
		/*
		 * Bytes are per process name: whether others hold a socket too
		 * is moot, and accept() names an accepted socket's owner, so
		 * that no walk of every open file is needed to find it.
		 */
		.owners_only = true, .accept_hook = true,
		.max_socks = socket_map_size(),
		.ring_bytes = x->opts.ring_bytes,
	};
	char err[256], where[80];
	int rc = ct_export_model_init(&x->model, &x->opts.by, x->opts.max_series,
				      &x->opts.filter);

	x->started = true;
	keep_heap_flat();
	if (rc) {
		fprintf(stderr, "conntrace: cannot set up the metrics: %s\n",
			strerror(-rc));
		return -1;
	}
	/* Before loading anything: a port in use is told at once. */
	if (ct_http_start(&x->http, (struct sockaddr *)&x->opts.listen,
			  x->opts.listen_len, x->opts.verbose,
			  interval_ns(x), err, sizeof(err))) {
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
	x->sampler.acct.counts_only = true;
	x->sampler.on_event = on_event;
	x->sampler.on_sock = on_sock;
	x->sampler.hook_ctx = &x->model;
	if (start_events(x, err, sizeof(err))) {
		fprintf(stderr, "conntrace: %s\n", err);
		return -1;
	}
	x->running = true;
	fprintf(stderr, "conntrace: serving metrics on http://%s/metrics, "
		"read when scraped, at most every %g s. SIGTERM or Ctrl-C to stop.\n",
		listen_str(x, where, sizeof(where)), x->opts.interval_s);
	return 0;
}

/*
 * When the scraper will come next, from the time between its last two
 * scrapes (Prometheus keeps a steady interval per target); 0: not known.
 */
static uint64_t next_scrape(const struct ct_export *x,
			    const struct ct_http_state *h)
{
	uint64_t period;

	if (!h->scrape_ns[1])
		return 0;
	period = h->scrape_ns[0] - h->scrape_ns[1];
	/* Scrapes closer than the interval are no rhythm to follow. */
	if (period < interval_ns(x))
		return 0;
	return h->scrape_ns[0] + period;
}

/*
 * How early before the next scrape to refresh, so that it finds the
 * refresh done: twice the last one's time, and some room for jitter.
 */
static uint64_t lead(const struct ct_export *x, uint64_t period)
{
	uint64_t l = 2 * x->refresh_cost_ns + LEAD_SLACK_NS;

	return l < period / 2 ? l : period / 2;
}

/*
 * Whether to refresh now: a scrape asked; the next one is near and no
 * refresh was made since the last; or closes pile up. Otherwise *wait_ms
 * says how long nothing is due.
 */
static bool due(struct ct_export *x, uint64_t now, int *wait_ms)
{
	struct ct_http_state h;
	uint64_t next, at;

	*wait_ms = MAX_SLEEP_MS;
	ct_http_state(&x->http, &h);
	if (h.wanted || !x->refresh_ns ||
	    x->sampler.acct.nends >= MAX_PENDING_CLOSES)
		return true;
	next = next_scrape(x, &h);
	if (!next || now >= next)
		return false;
	at = next - lead(x, next - h.scrape_ns[0]);
	/* Once per scrape: a refresh since `at` is the one for it. */
	if (x->refresh_ns >= at)
		return false;
	/* Never closer than the interval: then the scrape asks itself. */
	if (at < x->refresh_ns + interval_ns(x))
		at = x->refresh_ns + interval_ns(x);
	if (at >= next)
		return false;
	if (now >= at)
		return true;
	if ((at - now) / MS < MAX_SLEEP_MS)
		*wait_ms = (int)((at - now) / MS) + 1;
	return false;
}

static int refresh_now(struct ct_export *x, uint64_t now)
{
	int rc;

	ct_http_begin(&x->http, now);
	x->refresh_ns = now;
	rc = refresh(x);
	if (rc)
		ct_http_publish(&x->http, NULL, NULL);
	x->refresh_cost_ns = ct_monotonic_ns() - now;
	/* The one made ahead of a scrape is as old as the lead, or less. */
	ct_http_max_age(&x->http, interval_ns(x) + 2 * x->refresh_cost_ns +
			LEAD_SLACK_NS);
	return rc;
}

/*
 * Reads the ring buffer for up to wait_ms, so that a burst of connections
 * between refreshes cannot overflow it (every transition is a record);
 * short waits, so that a scrape's ask or a signal is seen at once. Closes
 * read here are older than the next refresh's walk, as the sampler needs.
 */
static int wait_and_read(struct ct_export *x, int wait_ms)
{
	int n = ct_evsource_poll(&x->sampler.source,
				 wait_ms < POLL_MS ? wait_ms : POLL_MS, CT_EV_BATCH);

	return n < 0 ? n : 0;
}

static int run(void *self)
{
	struct ct_export *x = self;

	while (!ct_stop) {
		uint64_t now = ct_monotonic_ns();
		int wait_ms, rc = 0;

		if (due(x, now, &wait_ms))
			rc = refresh_now(x, now);
		else
			rc = wait_and_read(x, wait_ms);
		if (rc && !ct_stop) {
			fprintf(stderr, "conntrace: reading counters: %s\n",
				strerror(-rc));
			return 1;
		}
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
	if (x->tev_started)
		ct_tcpev_free(&x->tev);
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
