// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/hooks_cmd.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "engine/kernel.h"
#include "engine/privs.h"
#include "engine/session.h"
#include "modes/options.h"
#include "output/json.h"

/* More than any variant loads (kprobe: 12 programs). */
#define MAX_PROGS 32

struct trial {
	enum ct_prog_group group;
	enum ct_hook hook;
	enum ct_tev_tp tp;	/* CT_GROUP_TEV: the event tracepoint */
	int load;	/* 0 or -errno */
	int attach;
	const char *progs[MAX_PROGS];
	size_t nprogs;
};

/* What watch and top would run with, after the probe and CONNTRACE_HOOKS. */
struct choice {
	int rc;		/* 0, or why nothing starts */
	char err[256];
	enum ct_hook state, io;
	bool forced;
};

static const struct ct_opt opts[] = {
	CT_FLAG("json", 'j', "one JSON object"),
	CT_FLAG("help", 'h', "show this help"),
	CT_OPT_END,
};

const struct ct_cmd ct_hooks_cmd = {
	.name = "hooks",
	.synopsis = "hooks [OPTIONS]",
	.about = "Show what this kernel offers conntrace, which hooks it would use,\n"
		 "and try every variant of its kernel programs: does it load through\n"
		 "the verifier, does it attach. Nothing stays loaded.",
	.notes = "CONNTRACE_HOOKS=state=HOOK,io=HOOK forces a hook family for every\n"
		 "mode (state: tp_btf, raw_tp, tracepoint; io: those, fentry, kprobe,\n"
		 "none). CONNTRACE_BTF=FILE reads the kernel's BTF from FILE.",
	.opts = opts,
	.needs_root = true,
};

static int apply(void *ctx, const struct ct_opt *o, const struct ct_optval *v,
		 char *err, size_t len)
{
	(void)v;
	(void)err;
	(void)len;
	if (o->key == 'j')
		*(bool *)ctx = true;
	return CT_PARSE_OK;
}

/* Options only: a word after them is an error. */
static int parse(int argc, char **argv, bool *json, char *err, size_t len)
{
	int rest, rc;

	*json = false;
	rc = ct_opts_parse(&ct_hooks_cmd, argc, argv, apply, json, &rest, err,
			   len);
	if (rc == CT_PARSE_OK && rest < argc) {
		snprintf(err, len, "unexpected '%s'", argv[rest]);
		rc = CT_PARSE_ERROR;
	}
	return rc;
}

static const char *group_name(enum ct_prog_group g)
{
	if (g == CT_GROUP_TEV)
		return "event";
	return g == CT_GROUP_STATE ? "state" : "io";
}

/* Loads, then loads and attaches, one pair; fills the trial's results. */
static void run_trial(struct ct_session *s, struct trial *t, enum ct_hook state,
		      enum ct_hook io)
{
	struct ct_load_opts o = {
		.count_bytes = io != CT_HOOK_NONE,
		.io_hooks = io != CT_HOOK_NONE,
	};

	t->nprogs = ct_session_programs(&s->probe, t->group, t->hook, false,
					t->progs, MAX_PROGS);
	t->load = ct_session_try(s, &o, state, io, false);
	if (!t->load)
		ct_session_stop(s);
	t->attach = t->load ? t->load : ct_session_try(s, &o, state, io, true);
	if (!t->attach)
		ct_session_stop(s);
}

/*
 * One event tracepoint's programs of one family, beside a state hook that
 * loads: a refused attach only marks its kinds failed, so it is read back.
 */
static void run_tev_trial(struct ct_session *s, struct trial *t,
			  enum ct_hook state)
{
	struct ct_load_opts o = { .tev_mask = ct_session_tev_kinds(t->tp) };

	t->nprogs = ct_session_tev_programs(t->tp, t->hook, t->progs, MAX_PROGS);
	s->tev_mask = o.tev_mask;
	s->tev_force = t->hook;
	t->load = ct_session_try(s, &o, state, CT_HOOK_NONE, false);
	if (!t->load)
		ct_session_stop(s);
	s->tev_failed = 0;
	t->attach = t->load ? t->load : ct_session_try(s, &o, state, CT_HOOK_NONE, true);
	if (!t->attach) {
		if (s->tev_failed & o.tev_mask)
			t->attach = s->tev_err;
		ct_session_stop(s);
	}
	s->tev_mask = 0;
	s->tev_force = CT_HOOK_NONE;
}

static int run_tev_trials(struct ct_session *s, struct trial *out,
			  enum ct_hook state)
{
	static const enum ct_hook hooks[] = { CT_HOOK_TP_BTF, CT_HOOK_RAW_TP };
	int n = 0;

	for (int tp = 0; tp < CT_TEV_TP_MAX; tp++)
		for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++, n++) {
			out[n] = (struct trial){ .group = CT_GROUP_TEV,
						 .hook = hooks[i], .tp = tp };
			run_tev_trial(s, &out[n], state);
		}
	return n;
}

static int run_trials(struct ct_session *s, struct trial *out)
{
	static const enum ct_hook tps[] = { CT_HOOK_TP_BTF, CT_HOOK_RAW_TP,
					    CT_HOOK_TRACEPOINT };
	static const enum ct_hook ios[] = { CT_HOOK_TP_BTF, CT_HOOK_RAW_TP,
					    CT_HOOK_TRACEPOINT, CT_HOOK_FENTRY,
					    CT_HOOK_KPROBE };
	enum ct_hook state_ok = CT_HOOK_NONE;
	int n = 0;

	for (size_t i = 0; i < sizeof(tps) / sizeof(tps[0]); i++, n++) {
		out[n] = (struct trial){ .group = CT_GROUP_STATE, .hook = tps[i] };
		run_trial(s, &out[n], tps[i], CT_HOOK_NONE);
		if (!out[n].load && state_ok == CT_HOOK_NONE)
			state_ok = tps[i];
	}
	/* I/O variants are tried beside a state hook that is known to load. */
	for (size_t i = 0; i < sizeof(ios) / sizeof(ios[0]); i++, n++) {
		out[n] = (struct trial){ .group = CT_GROUP_IO, .hook = ios[i] };
		run_trial(s, &out[n], state_ok, ios[i]);
	}
	return n + run_tev_trials(s, out + n, state_ok);
}

/* Starts a session as watch does, to see which hooks win. */
static void choose(struct choice *c)
{
	struct ct_load_opts o = { .io_hooks = true };
	struct ct_session s;

	c->rc = ct_session_start(&s, &o, c->err, sizeof(c->err));
	c->state = s.state_hook;
	c->io = s.io_hook;
	c->forced = s.force.state_set || s.force.io_set;
	if (s.usage_error)
		c->rc = 2;
	ct_session_stop(&s);
}

static const char *result(int err)
{
	return err ? strerror(-err) : "ok";
}

static const char *yes(bool b)
{
	return b ? "yes" : "no";
}

static void print_names(const char *const *names, size_t n)
{
	for (size_t i = 0; i < n && i < MAX_PROGS; i++)
		printf("%s%s", i ? " " : "", names[i]);
	putchar('\n');
}

static void print_text(const struct ct_probe *p, const struct choice *c,
		       const struct trial *t, int n)
{
	const char *iters[MAX_PROGS];
	size_t ni = ct_session_programs(p, CT_GROUP_ITER, CT_HOOK_NONE, true,
					iters, MAX_PROGS);

	printf("BTF: %s (%s)\n", yes(p->btf), ct_kernel_btf_path());
	printf("sock:inet_sock_set_state: btf %s, tracefs %s\n",
	       yes(p->state.in_btf), yes(p->state.in_tracefs));
	printf("sock:sock_send/recv_length: btf %s, tracefs %s\n",
	       yes(p->io.in_btf), yes(p->io.in_tracefs));
	printf("functions: tcp %s, udp %s, udpv6 %s; recvmsg has nonblock: %s; kprobes: %s\n",
	       yes(p->fn.tcp), yes(p->fn.udp), yes(p->fn.udp6),
	       yes(p->fn.recv_has_nonblock), yes(p->fn.kprobes));
	if (c->rc)
		printf("chosen: none (%s)\n", c->err);
	else
		printf("chosen: state=%s, io=%s%s\n", ct_hook_name(c->state),
		       ct_hook_name(c->io), c->forced ? " (forced by " CT_HOOKS_ENV ")" : "");
	printf("iterators: ");
	print_names(iters, ni);
	printf("\n%-6s %-11s %-28s %-28s %s\n", "FOR", "HOOK", "LOAD", "ATTACH",
	       "PROGRAMS");
	for (int i = 0; i < n; i++) {
		printf("%-6s %-11s %-28s %-28s ", group_name(t[i].group),
		       ct_hook_name(t[i].hook), result(t[i].load),
		       result(t[i].attach));
		print_names(t[i].progs, t[i].nprogs);
	}
}

static void json_names(struct json_writer *w, const char *key,
		       const char *const *names, size_t n)
{
	json_arr_begin(w, key);
	for (size_t i = 0; i < n && i < MAX_PROGS; i++)
		json_str(w, NULL, names[i]);
	json_arr_end(w);
}

static void print_chosen_json(struct json_writer *w, const struct choice *c)
{
	if (c->rc) {
		json_null(w, "chosen");
		return;
	}
	json_obj_begin(w, "chosen");
	json_str(w, "state", ct_hook_name(c->state));
	json_str(w, "io", ct_hook_name(c->io));
	json_bool(w, "forced", c->forced);
	json_obj_end(w);
}

static void print_json(const struct ct_probe *p, const struct choice *c,
		       const struct trial *t, int n)
{
	const char *iters[MAX_PROGS];
	size_t ni = ct_session_programs(p, CT_GROUP_ITER, CT_HOOK_NONE, true,
					iters, MAX_PROGS);
	struct json_writer w;

	json_init(&w, stdout);
	json_obj_begin(&w, NULL);
	json_bool(&w, "btf", p->btf);
	json_bool(&w, "state_tp_btf", p->state.in_btf);
	json_bool(&w, "state_tracefs", p->state.in_tracefs);
	json_bool(&w, "io_tp_btf", p->io.in_btf);
	json_bool(&w, "io_tracefs", p->io.in_tracefs);
	json_bool(&w, "kprobes", p->fn.kprobes);
	json_bool(&w, "recvmsg_has_nonblock", p->fn.recv_has_nonblock);
	print_chosen_json(&w, c);
	json_names(&w, "iterators", iters, ni);
	json_arr_begin(&w, "trials");
	for (int i = 0; i < n; i++) {
		json_obj_begin(&w, NULL);
		json_str(&w, "for", group_name(t[i].group));
		json_str(&w, "hook", ct_hook_name(t[i].hook));
		json_str(&w, "load", result(t[i].load));
		json_str(&w, "attach", result(t[i].attach));
		json_names(&w, "programs", t[i].progs, t[i].nprogs);
		json_obj_end(&w);
	}
	json_arr_end(&w);
	json_obj_end(&w);
}

int ct_hooks_main(int argc, char **argv)
{
	/* 3 state, 5 io, then each event tracepoint in two families. */
	struct trial trials[8 + 2 * CT_TEV_TP_MAX];
	struct ct_session s = { 0 };
	struct choice c = { 0 };
	bool json;
	char err[256];
	int n, rc;

	n = parse(argc, argv, &json, err, sizeof(err));
	if ((n = ct_cli_parsed(n, err, &ct_hooks_cmd)) >= 0)
		return n;
	if (ct_check_privileges(err, sizeof(err))) {
		fprintf(stderr, "conntrace: %s\n", err);
		return 1;
	}
	ct_session_set_verbose(false);
	if ((rc = ct_probe_kernel(&s.probe))) {
		ct_probe_strerror(rc, err, sizeof(err));
		fprintf(stderr, "conntrace: %s\n", err);
		return 1;
	}
	choose(&c);
	if (c.rc == 2) {
		fprintf(stderr, "conntrace: %s\n", c.err);
		return 2;
	}
	n = run_trials(&s, trials);
	if (json)
		print_json(&s.probe, &c, trials, n);
	else
		print_text(&s.probe, &c, trials, n);
	return 0;
}
