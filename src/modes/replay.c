// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/replay.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/events.h"
#include "engine/recfile.h"
#include "engine/recmodel.h"
#include "engine/recnames.h"
#include "engine/recset.h"
#include "engine/sampler.h"
#include "engine/stopsig.h"
#include "engine/tcpev.h"
#include "engine/tevkind.h"
#include "engine/tevtally.h"
#include "lib/grow.h"
#include "modes/ls_out.h"
#include "modes/replay_info.h"
#include "modes/replay_opts.h"
#include "modes/runner.h"
#include "modes/top_view.h"
#include "modes/watch_out.h"
#include "output/format.h"
#include "output/ostream.h"

struct replay {
	struct ct_replay_opts opts;
	struct ct_recset set;
	struct ct_recmodel model;
	uint64_t boot_wall_ns;	/* add to the recording's monotonic times */
	uint64_t from_ns, to_ns;	/* the window, CLOCK_MONOTONIC of the host */
	uint64_t next_ns;	/* top and states: the next table's time */
	uint64_t last_ns;	/* the latest record time so far */
	uint64_t ticks;
	struct ct_out out;	/* watch */
	struct ct_acct acct;	/* top */
	struct ct_top_state st;
	bool opened;
	struct ct_tcpev tev;	/* the recording host's reason names */
	struct ct_tally tally;	/* top: what went wrong, per socket and process */
};

static uint64_t header_u64(const struct ct_recset *set, const char *key)
{
	char v[32];

	if (!ct_rec_header(&set->f[0].rd, key, v, sizeof(v)))
		return 0;
	return strtoull(v, NULL, 10);
}

static uint64_t to_mono(const struct replay *r, const struct ct_when *w,
			uint64_t dflt)
{
	uint64_t start = header_u64(&r->set, "started_mono_ns");
	uint64_t wall;

	if (!w->set)
		return dflt;
	wall = ct_when_wall(w, start + r->boot_wall_ns);
	return wall > r->boot_wall_ns ? wall - r->boot_wall_ns : 0;
}

static bool in_window(const struct replay *r, uint64_t ts)
{
	return ts >= r->from_ns && ts <= r->to_ns;
}

/* --- watch --------------------------------------------------------------- */

static void line_of(struct ct_line *l, const struct ct_rec_line *rl)
{
	memset(l, 0, sizeof(*l));
	l->ev = rl->ev;
	l->ts_ns = rl->ts_ns;
	l->delta_ns = rl->delta_ns;
	l->delta_known = rl->delta_known;
	l->derived = rl->derived;
	l->listener_pid = rl->listener_pid;
	memcpy(l->listener_comm, rl->listener_comm, sizeof(l->listener_comm));
}

/*
 * An event of the recording: resolved by the recorder (CT_REC_TEV), or
 * a kernel record carried verbatim, as another writer may keep them.
 * false for any other record.
 */
static bool tev_of(const struct ct_rec *rec, struct ct_tev_line *l)
{
	struct ct_rec_tev rt;

	memset(l, 0, sizeof(*l));
	if (rec->type == CT_MSG_TCP_EV)
		return ct_rec_copy(rec, &l->ev, sizeof(l->ev), sizeof(l->ev)) &&
		       l->ev.kind < CT_TEV_KINDS;
	if (rec->type != CT_REC_TEV ||
	    !ct_rec_copy(rec, &rt, sizeof(rt), CT_REC_TEV_MIN) ||
	    rt.ev.kind >= CT_TEV_KINDS)
		return false;
	l->ev = rt.ev;
	l->listener_pid = rt.listener_pid;
	memcpy(l->listener_comm, rt.listener_comm, sizeof(l->listener_comm));
	return true;
}

/* Bounded writes: a poll per line would cost more than the line. */
static int watch_out_state(struct replay *r)
{
	if (ct_out_failed(r->out.f))
		return -EPIPE;
	return r->out.lines % 4096 == 0 && ct_out_gone(r->out.f) ? -EPIPE : 0;
}

static int watch_tev(struct replay *r, const struct ct_tev_line *l)
{
	const struct ct_tcp_ev *ev = &l->ev;

	if (!(r->opts.tev_mask & CT_TEV_BIT(ev->kind)) ||
	    !in_window(r, ev->ts_ns) ||
	    (r->opts.filter.netns && ev->netns != r->opts.filter.netns) ||
	    !ct_tcpev_match(&r->opts.filter, ev))
		return 0;
	ct_out_tev(&r->out, l);
	return watch_out_state(r);
}

static int watch_rec(struct replay *r, const struct ct_rec *rec)
{
	struct ct_tev_line tl;
	struct ct_rec_line rl;
	struct ct_line l;

	if (tev_of(rec, &tl))
		return watch_tev(r, &tl);
	if (rec->type != CT_REC_LINE || !r->opts.states ||
	    !ct_rec_copy(rec, &rl, sizeof(rl), CT_REC_LINE_MIN))
		return 0;
	/* As live --lifetime: the kernel's CLOSE of a connection, at its time. */
	if (r->opts.lifetime) {
		if (!ct_rec_line_final(&rl))
			return 0;
		rl.ev.newstate = TCP_CLOSE;
		rl.ts_ns = rl.ev.ts_ns;
	}
	if (!in_window(r, rl.ts_ns) || !ct_filter_match(&r->opts.filter, &rl.ev))
		return 0;
	line_of(&l, &rl);
	ct_out_line(&r->out, &l);
	return watch_out_state(r);
}

/* --- top ----------------------------------------------------------------- */

struct shares {
	const struct replay *r;
	struct ct_share *v;
	size_t n, cap;
};

static int add_share(const struct ct_tcp_rec *t, void *ctx)
{
	struct shares *s = ctx;

	if (ct_grow((void **)&s->v, &s->cap, s->n, sizeof(*s->v)))
		return -ENOMEM;
	if (ct_sampler_rec_share(t, ct_recmodel_passive(&s->r->model, t),
				 &s->v[s->n]))
		s->n++;
	return 0;
}

static int top_close(struct replay *r, const struct ct_rec *rec)
{
	struct ct_rec_line rl;
	struct ct_share sh;

	if (!ct_rec_copy(rec, &rl, sizeof(rl), CT_REC_LINE_MIN))
		return 0;
	if (!ct_rec_line_final(&rl) || !ct_sampler_close_share(&rl.ev, &sh))
		return 0;
	if (r->st.tally)
		ct_sampler_tally_kernel(&r->tally, &r->acct, &sh);
	return ct_acct_end(&r->acct, &sh);
}

/*
 * A socket's retransmits as the kernel counted them, taken where the
 * record lies among the events, as live top takes them between two reads
 * of the ring: the events before it in the file are older than its read.
 */
static void top_sock(struct replay *r, const struct ct_rec *rec)
{
	struct ct_tcp_rec t;
	struct ct_share sh;

	if (!r->st.tally || rec->type != CT_REC_SOCK ||
	    !ct_rec_copy(rec, &t, sizeof(t), CT_REC_SOCK_MIN) ||
	    !ct_sampler_rec_share(&t, ct_recmodel_passive(&r->model, &t), &sh))
		return;
	ct_sampler_tally_kernel(&r->tally, &r->acct, &sh);
}

/* As live top counts them: the kinds it asks for, since it started. */
static void top_tev(struct replay *r, const struct ct_rec *rec)
{
	struct ct_tev_line l;

	if (r->st.tally && tev_of(rec, &l) &&
	    (CT_TOP_TEV_MASK & CT_TEV_BIT(l.ev.kind)) &&
	    l.ev.ts_ns >= r->from_ns)
		ct_tally_add(&r->tally, &l);
}

static int print_top(struct replay *r, uint64_t now)
{
	struct ct_table tab;
	char when[40];

	if (r->opts.json) {
		ct_top_json(stdout, &r->acct, &r->st, now + r->boot_wall_ns, 0, 0);
		return 0;
	}
	if (ct_top_table(&r->acct, &r->st, now, &tab))
		return -ENOMEM;
	printf("conntrace replay top  %s  interval %.2f s  view %s\n",
	       ct_iso_time_str(now + r->boot_wall_ns, when, sizeof(when)),
	       r->acct.interval_s, ct_view_name(r->st.view));
	ct_table_print(&tab, stdout);
	ct_table_free(&tab);
	return 0;
}

static int top_tick(struct replay *r, uint64_t now)
{
	struct shares s = { .r = r };
	int err = ct_recmodel_each_counted(&r->model, add_share, &s);

	if (!err)
		err = ct_acct_update(&r->acct, s.v, s.n, now);
	else
		free(s.v);
	if (!err && r->st.tally)
		err = ct_sampler_keep_tally(&r->tally, &r->acct);
	/* The first update only sets where counting starts. */
	if (!err && r->ticks++)
		err = print_top(r, now);
	return err;
}

/* --- ls and states ------------------------------------------------------- */

struct listing {
	const struct replay *r;
	struct ct_ls_opts lo;
	struct ct_ls_out out;
	struct ct_ls_summary sum;
	bool rows;		/* ls: write rows, not only fit */
};

static void sockrec_of(struct ct_sockrec *s, const struct ct_tcp_rec *t,
		       bool passive)
{
	memset(s, 0, sizeof(*s));
	s->netns = t->netns;
	s->family = (uint8_t)t->family;
	s->proto = IPPROTO_TCP;
	s->state = t->state;
	memcpy(s->saddr, t->saddr, sizeof(s->saddr));
	memcpy(s->daddr, t->daddr, sizeof(s->daddr));
	s->sport = t->sport;
	s->dport = t->dport;
	s->inode = t->ino;
	s->accepted = passive;
}

static bool sock_match(const struct replay *r, const struct ct_tcp_rec *t)
{
	return ct_kfilter_match(&r->opts.filter, t->family, t->state, t->saddr,
				t->sport, t->daddr, t->dport, t->owner.pid,
				t->owner.comm, t->owner.cgroup);
}

static int list_one(const struct ct_tcp_rec *t, void *ctx)
{
	struct listing *ls = ctx;
	struct ct_holder h = { .pid = t->owner.pid };
	struct ct_sockrec s;
	bool sure = t->owner.src != CT_OWNER_NONE &&
		    t->owner.src != CT_OWNER_LISTENER;

	if (!sock_match(ls->r, t))
		return 0;
	sockrec_of(&s, t, ct_recmodel_passive(&ls->r->model, t));
	memcpy(h.comm, t->owner.comm, sizeof(h.comm));
	if (ls->lo.summary)
		ct_ls_count(&ls->sum, &s);
	else if (ls->rows)
		ct_ls_row(&ls->out, &s, sure && h.pid ? &h : NULL);
	else
		ct_ls_fit(&ls->out, &s);
	return 0;
}

static int print_listing(struct replay *r, uint64_t now, bool summary)
{
	struct listing ls = { .r = r };
	char when[40];
	int err;

	ls.lo.tcp = ls.lo.all = ls.lo.procs = true;
	ls.lo.json = r->opts.json;
	ls.lo.summary = summary;
	if (!r->opts.json || summary)
		printf("conntrace replay %s  %s\n", summary ? "states" : "ls",
		       ct_iso_time_str(now + r->boot_wall_ns, when, sizeof(when)));
	if (summary) {
		err = ct_recmodel_each(&r->model, list_one, &ls);
		ct_ls_print_summary(stdout, &ls.sum, r->opts.json);
		putchar('\n');
		return err;
	}
	ct_ls_out_init(&ls.out, stdout, &ls.lo, false);
	err = ct_recmodel_each(&r->model, list_one, &ls);
	ct_ls_header(&ls.out);
	ls.rows = true;
	return err ? err : ct_recmodel_each(&r->model, list_one, &ls);
}

/* --- the replay ---------------------------------------------------------- */

/* Tables due before ts, each as of its own time. */
static int tables_due(struct replay *r, uint64_t ts)
{
	int err = 0;

	while (!err && r->next_ns <= ts && r->next_ns <= r->to_ns) {
		if (r->opts.view == CT_REPLAY_TOP)
			err = top_tick(r, r->next_ns);
		else
			err = print_listing(r, r->next_ns,
					    r->opts.view == CT_REPLAY_STATES);
		r->next_ns += (uint64_t)(r->opts.interval_s * 1e9);
		if (ct_out_failed(stdout) || ct_out_gone(stdout))
			return -EPIPE;
	}
	return err;
}

static uint64_t rec_ts(const struct ct_rec *rec)
{
	struct ct_rec_line rl;
	uint64_t ts = 0;

	if (rec->type == CT_REC_LINE &&
	    ct_rec_copy(rec, &rl, sizeof(rl), CT_REC_LINE_MIN)) {
		return rl.ts_ns;
	}
	/* A socket record is at its snapshot's time: no time of its own. */
	if (rec->type == CT_REC_SOCK)
		return 0;
	if (rec->type >= CT_REC_FILE_TYPES && rec->len >= 8)
		memcpy(&ts, rec->data, sizeof(ts));
	return ts;
}

static int step(struct replay *r, const struct ct_rec *rec)
{
	uint64_t ts = rec_ts(rec);
	int err = 0;

	if (r->opts.view == CT_REPLAY_WATCH)
		return watch_rec(r, rec);
	if (ts > r->last_ns && ts <= r->to_ns)
		r->last_ns = ts;
	/* ls without --at: one table at the end. */
	if (ts && r->opts.view == CT_REPLAY_LS && !r->opts.at.set)
		ts = 0;
	if (ts) {
		/* The first table once the first snapshot is in. */
		if (!r->next_ns)
			r->next_ns = r->from_ns ? r->from_ns
				   : ts + (uint64_t)(r->opts.interval_s * 1e9);
		err = tables_due(r, ts);
	}
	if (!err && r->opts.view == CT_REPLAY_TOP && rec->type == CT_REC_LINE)
		err = top_close(r, rec);
	if (!err && r->opts.view == CT_REPLAY_TOP) {
		top_tev(r, rec);
		top_sock(r, rec);
	}
	return err ? err : ct_recmodel_apply(&r->model, rec);
}

/*
 * A file cut short (kill -9, a full disk) replays up to its last complete
 * block, and says so once on stderr; with no complete block anywhere
 * there is nothing to replay: bad input.
 */
static int cut_short(const struct ct_recset *set)
{
	uint64_t blocks = 0;

	for (size_t i = 0; i < set->n; i++)
		blocks += set->f[i].rd.blocks;
	for (size_t i = 0; i < set->n; i++) {
		const struct ct_recfile *f = &set->f[i];

		if (!f->rd.truncated)
			continue;
		if (!blocks) {
			fprintf(stderr, "conntrace: %s: cut short before its first complete block (%zu bytes): nothing to replay\n",
				f->path, f->size);
			return 2;
		}
		fprintf(stderr, "conntrace: %s was cut short: replayed up to byte %llu, the end of its last complete block\n",
			f->path, (unsigned long long)f->rd.good_end);
	}
	return 0;
}

static int run(void *self)
{
	struct replay *r = self;
	struct ct_rec rec;
	int rc = 0, err = 0;

	if (r->opts.view == CT_REPLAY_INFO)
		return ct_replay_info(&r->set, stdout);
	while (!ct_stop && (rc = ct_recset_next(&r->set, &rec)) > 0) {
		err = step(r, &rec);
		if (err)
			break;
	}
	/* ls: one table, as of --at, --to or the end of the recording. */
	if (!err && rc >= 0 && !ct_stop && r->opts.view == CT_REPLAY_LS) {
		if (!r->opts.at.set)
			r->next_ns = r->last_ns;
		err = r->next_ns <= r->to_ns ? tables_due(r, r->next_ns) : 0;
	}
	if (err == -EPIPE)
		return 1;
	if (err) {
		fprintf(stderr, "conntrace: replaying: %s\n", strerror(-err));
		return 1;
	}
	/* A damaged file is bad input, as one that is no recording at all. */
	if (rc < 0) {
		fprintf(stderr, "conntrace: %s\n", r->set.err);
		return rc == -ENOMEM ? 1 : 2;
	}
	return ct_stop ? 0 : cut_short(&r->set);
}

static bool keep_share(const struct ct_share *s, const void *filter)
{
	return ct_share_match(filter, s);
}

/*
 * Top's trouble columns, if the recording has events (the header says
 * which kinds it could record): a column is "-" if one of its kinds was
 * not, as live top on that kernel would show it.
 */
static void tally_columns(struct replay *r)
{
	char v[32];
	unsigned int kinds;

	if (!ct_rec_header(&r->set.f[0].rd, "events", v, sizeof(v)))
		return;
	kinds = (unsigned int)strtoul(v, NULL, 10);
	for (int k = 0; k < CT_TEV_KINDS; k++)
		if (ct_tev_kind(k)->tally >= 0 && !(kinds & CT_TEV_BIT(k)))
			r->tally.missing |= 1U << ct_tev_kind(k)->tally;
	r->st.tally = &r->tally;
}

static int start(void *self)
{
	struct replay *r = self;
	char err[512];

	if (ct_recset_open(&r->set, r->opts.path, err, sizeof(err))) {
		fprintf(stderr, "conntrace: %s\n", err);
		return 2;
	}
	r->opened = true;
	if (ct_recmodel_init(&r->model) || ct_acct_init(&r->acct) ||
	    ct_tally_init(&r->tally) ||
	    ct_tcpev_init(&r->tev, NULL, NULL, &r->opts.filter, CT_TEV_ALL,
			  NULL, NULL) ||
	    ct_recnames_get(&r->set.f[0].rd, &r->tev)) {
		fprintf(stderr, "conntrace: out of memory\n");
		return -1;
	}
	r->boot_wall_ns = header_u64(&r->set, "boot_wall_ns");
	r->from_ns = to_mono(r, &r->opts.from, 0);
	r->to_ns = to_mono(r, &r->opts.to, UINT64_MAX);
	if (r->opts.at.set) {
		/* One table, as of that time. */
		r->from_ns = r->next_ns = to_mono(r, &r->opts.at, 0);
		r->to_ns = r->next_ns;
	}
	r->st.view = (enum ct_view)r->opts.top_view;
	r->st.filter = r->opts.filter;
	tally_columns(r);
	r->acct.keep = keep_share;
	r->acct.keep_ctx = &r->st.filter;
	ct_out_init(&r->out, stdout, r->opts.json);
	r->out.lifetime = r->opts.lifetime;
	r->out.mono_to_wall_ns = r->boot_wall_ns;
	r->out.tev = &r->tev;
	if (r->opts.view == CT_REPLAY_WATCH)
		ct_out_header(&r->out);
	return 0;
}

static enum ct_parse_result parse(void *self, int argc, char **argv,
				  char *err, size_t errlen)
{
	struct replay *r = self;

	return ct_replay_parse(argc, argv, &r->opts, err, errlen);
}

static void finish(void *self)
{
	struct replay *r = self;

	ctf_free(r->opts.filter.expr);
	if (!r->opened)
		return;
	ct_acct_free(&r->acct);
	ct_tally_free(&r->tally);
	ct_tcpev_free(&r->tev);
	ct_recmodel_free(&r->model);
	ct_recset_close(&r->set);
}

static const struct ct_mode replay_mode = {
	.cmd = &ct_replay_cmd, .parse = parse,
	.out = CT_OUT_BLOCKS, .stop_on_signals = true,
	.start = start, .run = run, .finish = finish,
};

int ct_replay_main(int argc, char **argv)
{
	struct replay r = { 0 };

	return ct_mode_run(&replay_mode, &r, argc, argv);
}
