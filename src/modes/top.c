// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/top.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conntrace.skel.h"
#include "engine/filter.h"
#include "output/format.h"
#include "lib/grow.h"
#include "engine/iter.h"
#include "engine/privs.h"
#include "engine/stopsig.h"
#include "modes/top_check.h"

/* Shares idle this long are collected, to keep room in the kernel map. */
#define IDLE_COLLECT_NS (30ULL * 1000000000ULL)

/* Entries the LRU dropped: all ever added, less ours and those still there. */
static void count_evictions(struct ct_top *t)
{
	uint64_t inserted = ct_session_stat(&t->session, CT_STAT_CONN_INSERTS);
	uint64_t kept = t->acct.deleted + t->nhash;
	uint64_t n = inserted > kept ? inserted - kept : 0;

	if (n > t->evicted)
		t->evicted = n;
	if (t->acct.evicted > t->evicted)
		t->evicted = t->acct.evicted;
}

static int on_record(void *ctx, void *data, size_t size)
{
	const struct ct_conn_end *m = data;

	if (size >= sizeof(*m) && m->type == CT_MSG_CONN_END)
		ct_acct_conn_end(ctx, m);
	return 0;
}

struct snapshot {
	struct ct_share *arr;
	size_t n, cap;
};

static int add_stored(const void *rec, void *ctx)
{
	const struct ct_conn_end *m = rec;
	struct snapshot *s = ctx;

	if (ct_grow((void **)&s->arr, &s->cap, s->n, sizeof(*s->arr)))
		return -ENOMEM;
	memset(&s->arr[s->n], 0, sizeof(s->arr[0]));
	s->arr[s->n].key = m->key;
	s->arr[s->n++].k = m->conn;
	return 0;
}

/* The LRU map's entries, then the shares kept in sockets' own storage. */
static int read_snapshot(struct ct_top *t, struct snapshot *s)
{
	struct conntrace_bpf *skel = t->session.skel;
	int n = ct_acct_read_map(t->conns_fd, &s->arr);

	if (n < 0)
		return n;
	s->n = s->cap = (size_t)n;
	t->nhash = s->n;
	if (!t->session.sk_storage)
		return 0;
	return ct_iter_read(skel->progs.ct_dump_sk_conns,
			    bpf_map__fd(skel->maps.ct_sk_conns),
			    sizeof(struct ct_conn_end), add_stored, s);
}

int ct_top_sample(struct ct_top *t)
{
	struct snapshot snap = { 0 };
	int n = read_snapshot(t, &snap);

	if (n < 0) {
		free(snap.arr);
		return n;
	}
	n = ct_acct_update(&t->acct, snap.arr, snap.n, ct_monotonic_ns());
	if (n)
		return n;
	/* After the snapshot, so a close finds its share in either place. */
	n = ring_buffer__consume(t->rb);
	if (n < 0)
		return n;
	count_evictions(t);
	ct_acct_collect(&t->acct, t->conns_fd, IDLE_COLLECT_NS);
	return t->opts.st.check ? ct_top_check(&t->acct, &t->diag) : 0;
}

/* Sends and receives not counted, and closes whose last bytes were lost. */
static uint64_t lost(const struct ct_top *t)
{
	return ct_session_stat(&t->session, CT_STAT_CONN_MAP_FULL) +
	       ct_session_stat(&t->session, CT_STAT_RB_DROPS);
}

static int print_table(const struct ct_top *t)
{
	const struct ct_top_state *st = &t->opts.st;
	struct ct_table tab;
	char when[40];

	if (ct_top_table(&t->acct, st, ct_monotonic_ns(), &tab))
		return -ENOMEM;
	printf("conntrace top  %s  interval %.2f s  view %s  %s  evicted %llu\n",
	       ct_iso_time_str(ct_clock_ns(CLOCK_REALTIME), when, sizeof(when)),
	       t->acct.interval_s, ct_view_name(st->view),
	       st->totals ? "totals" : "rates", (unsigned long long)t->evicted);
	printf("%s\n", tab.header);
	for (size_t i = 0; i < tab.nrows; i++)
		printf("%s\n", tab.rows[i]);
	putchar('\n');
	ct_table_free(&tab);
	return 0;
}

/* Sleeps one interval in short steps, so a signal ends it at once. */
static void sleep_interval(double secs)
{
	uint64_t end = ct_monotonic_ns() + (uint64_t)(secs * 1e9);

	while (!ct_stop && ct_monotonic_ns() < end)
		usleep(20000);
}

static int batch_loop(struct ct_top *t)
{
	for (uint32_t i = 0; !ct_stop && (!t->opts.count || i < t->opts.count); i++) {
		int err;

		sleep_interval(t->opts.interval_s);
		if ((err = ct_top_sample(t))) {
			fprintf(stderr, "conntrace: reading counters: %s\n",
				strerror(-err));
			return 1;
		}
		if (t->opts.json)
			ct_top_json(stdout, &t->acct, &t->opts.st, ct_clock_ns(CLOCK_REALTIME),
				    t->evicted, lost(t));
		else if (print_table(t))
			return 1;
		if (ferror(stdout))
			return ct_stop ? 0 : 1;
	}
	return 0;
}

static bool keep_share(const struct ct_share *s, const void *filter)
{
	return ct_share_match(filter, s);
}

static int start(struct ct_top *t)
{
	struct ct_load_opts lo = {
		.count_bytes = true,
		.io_hooks = true,
		.max_conns = t->opts.max_conns,
	};
	char err[256];

	if (ct_check_privileges(err, sizeof(err)) ||
	    ct_session_start(&t->session, &lo, err, sizeof(err))) {
		fprintf(stderr, "conntrace: %s\n", err);
		return -1;
	}
	if (ct_acct_init(&t->acct) || ct_diag_init(&t->diag)) {
		fprintf(stderr, "conntrace: out of memory\n");
		return -1;
	}
	t->acct.keep = keep_share;
	t->acct.keep_ctx = &t->opts.st.filter;
	t->conns_fd = bpf_map__fd(t->session.skel->maps.ct_conns);
	t->rb = ring_buffer__new(bpf_map__fd(t->session.skel->maps.ct_events),
				 on_record, &t->acct, NULL);
	if (!t->rb) {
		fprintf(stderr, "conntrace: cannot open the ring buffer: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

static void finish(struct ct_top *t)
{
	ring_buffer__free(t->rb);
	ct_diag_free(&t->diag);
	ct_acct_free(&t->acct);
	ctf_free(t->opts.st.filter.expr);
	ct_session_stop(&t->session);
}

static void report(const struct ct_top *t)
{
	if (t->evicted || lost(t) || t->opts.verbose)
		fprintf(stderr,
			"conntrace: %llu connection entries evicted (map full), %llu sends/receives not counted\n",
			(unsigned long long)t->evicted, (unsigned long long)lost(t));
	ct_session_report_missed(&t->session, stderr,
				 (const char *const[CT_GROUP_KINDS]){
					 [CT_GROUP_STATE] = "closes (final counts)",
					 [CT_GROUP_IO] = "sends/receives" });
}

int ct_top_main(int argc, char **argv)
{
	struct ct_top t = { 0 };
	char err[256];
	int rc;

	rc = ct_top_parse(argc, argv, &t.opts, err, sizeof(err));
	if ((rc = ct_cli_parsed(rc, err, &ct_top_cmd)) >= 0)
		return rc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* -v is for the byte check here; libbpf's chatter would bury it. */
	ct_session_set_verbose(false);
	ct_stop_on_signals();
	if (start(&t)) {
		finish(&t);
		return t.session.usage_error ? 2 : 1;
	}
	/* With a count it ends by itself: no Ctrl-C to ask for. */
	fprintf(stderr, "conntrace: tracing socket I/O (hook: %s)%s\n",
		ct_hook_name(t.session.io_hook),
		t.opts.count ? "." : ". Ctrl-C to end.");
	rc = ct_top_sample(&t);	/* the baseline the first interval starts from */
	if (!rc)
		rc = !t.opts.batch && isatty(STDOUT_FILENO) ? ct_top_ui(&t, &ct_stop)
							    : batch_loop(&t);
	report(&t);
	finish(&t);
	return rc < 0 ? 1 : rc;
}
