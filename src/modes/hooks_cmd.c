// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/hooks_cmd.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "engine/hooks.h"
#include "output/json.h"
#include "engine/loader.h"
#include "engine/privs.h"

struct trial {
	const char *concern;
	enum ct_hook hook;
	int load;	/* 0 or -errno */
	int attach;
};

static const struct ct_opt opts[] = {
	CT_FLAG("json", 'j', "one JSON object"),
	CT_FLAG("help", 'h', "show this help"),
	CT_OPT_END,
};

const struct ct_cmd ct_hooks_cmd = {
	.name = "hooks",
	.synopsis = "hooks [OPTIONS]",
	.about = "Show what this kernel offers conntrace, and try every variant of\n"
		 "its kernel programs: does it load through the verifier, does it\n"
		 "attach. Nothing stays loaded.",
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

/* Loads, then loads and attaches, one pair; fills the trial's results. */
static void run_trial(struct ct_loader *l, struct trial *t, enum ct_hook state,
		      enum ct_hook io)
{
	struct ct_load_opts o = { .count_bytes = io != CT_HOOK_NONE };

	t->load = ct_loader_try(l, &o, state, io, false);
	if (!t->load)
		ct_loader_stop(l);
	t->attach = t->load ? t->load : ct_loader_try(l, &o, state, io, true);
	if (!t->attach)
		ct_loader_stop(l);
}

static int run_trials(struct ct_loader *l, struct trial *out)
{
	static const enum ct_hook tps[] = { CT_HOOK_TP_BTF, CT_HOOK_RAW_TP,
					    CT_HOOK_TRACEPOINT };
	static const enum ct_hook ios[] = { CT_HOOK_TP_BTF, CT_HOOK_RAW_TP,
					    CT_HOOK_TRACEPOINT, CT_HOOK_FENTRY,
					    CT_HOOK_KPROBE };
	enum ct_hook state_ok = CT_HOOK_NONE;
	int n = 0;

	for (size_t i = 0; i < sizeof(tps) / sizeof(tps[0]); i++, n++) {
		out[n] = (struct trial){ "state", tps[i], 0, 0 };
		run_trial(l, &out[n], tps[i], CT_HOOK_NONE);
		if (!out[n].load && state_ok == CT_HOOK_NONE)
			state_ok = tps[i];
	}
	/* I/O variants are tried beside a state hook that is known to load. */
	for (size_t i = 0; i < sizeof(ios) / sizeof(ios[0]); i++, n++) {
		out[n] = (struct trial){ "io", ios[i], 0, 0 };
		run_trial(l, &out[n], state_ok, ios[i]);
	}
	return n;
}

static const char *result(int err)
{
	return err ? strerror(-err) : "ok";
}

static void print_text(const struct ct_probe *p, const struct trial *t, int n)
{
	printf("BTF: %s\n", p->btf ? "yes" : "no");
	printf("sock:inet_sock_set_state: btf %s, tracefs %s\n",
	       p->state.in_btf ? "yes" : "no", p->state.in_tracefs ? "yes" : "no");
	printf("sock:sock_send/recv_length: btf %s, tracefs %s\n",
	       p->io.in_btf ? "yes" : "no", p->io.in_tracefs ? "yes" : "no");
	printf("functions: tcp %s, udp %s, udpv6 %s; recvmsg has nonblock: %s; kprobes: %s\n",
	       p->fn.tcp ? "yes" : "no", p->fn.udp ? "yes" : "no",
	       p->fn.udp6 ? "yes" : "no", p->fn.recv_has_nonblock ? "yes" : "no",
	       p->fn.kprobes ? "yes" : "no");
	printf("\n%-6s %-11s %-28s %s\n", "FOR", "HOOK", "LOAD", "ATTACH");
	for (int i = 0; i < n; i++)
		printf("%-6s %-11s %-28s %s\n", t[i].concern,
		       ct_hook_name(t[i].hook), result(t[i].load),
		       result(t[i].attach));
}

static void print_json(const struct ct_probe *p, const struct trial *t, int n)
{
	struct json_obj o;

	json_begin(&o, stdout);
	json_bool(&o, "btf", p->btf);
	json_bool(&o, "state_tp_btf", p->state.in_btf);
	json_bool(&o, "io_tp_btf", p->io.in_btf);
	json_bool(&o, "kprobes", p->fn.kprobes);
	json_bool(&o, "recvmsg_has_nonblock", p->fn.recv_has_nonblock);
	fputs(",\"trials\":[", stdout);
	for (int i = 0; i < n; i++) {
		struct json_obj e;

		if (i)
			putchar(',');
		json_begin(&e, stdout);
		json_str(&e, "for", t[i].concern);
		json_str(&e, "hook", ct_hook_name(t[i].hook));
		json_str(&e, "load", result(t[i].load));
		json_str(&e, "attach", result(t[i].attach));
		json_end(&e);
	}
	putchar(']');
	json_end(&o);
	putchar('\n');
}

int ct_hooks_main(int argc, char **argv)
{
	struct trial trials[8];
	struct ct_loader l = { 0 };
	bool json;
	char err[256];
	int n;

	n = parse(argc, argv, &json, err, sizeof(err));
	if ((n = ct_cli_parsed(n, err, &ct_hooks_cmd)) >= 0)
		return n;
	if (ct_check_privileges(err, sizeof(err))) {
		fprintf(stderr, "conntrace: %s\n", err);
		return 1;
	}
	ct_loader_set_verbose(false);
	if (ct_probe_kernel(&l.probe)) {
		fprintf(stderr, "conntrace: kernel BTF not available (/sys/kernel/btf/vmlinux)\n");
		return 1;
	}
	n = run_trials(&l, trials);
	if (json)
		print_json(&l.probe, trials, n);
	else
		print_text(&l.probe, trials, n);
	return 0;
}
