// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/kernel.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/tracefs.h"

#define SYSFS_BTF "/sys/kernel/btf/vmlinux"

#ifndef ENOTSUPP
#define ENOTSUPP 524	/* the kernel's own "not supported", not in libc */
#endif

int ct_hook_choices(bool btf, const struct ct_tp_probe *tp,
		    enum ct_hook out[CT_HOOK_MAX_CHOICES])
{
	int n = 0;

	/* Without BTF nothing CO-RE loads, whatever the hook. */
	if (!btf)
		return 0;
	if (tp->in_btf) {
		out[n++] = CT_HOOK_TP_BTF;
		out[n++] = CT_HOOK_RAW_TP;
	} else if (tp->in_tracefs) {
		/* Tracepoint exists, but BTF predates typed tracepoints. */
		out[n++] = CT_HOOK_RAW_TP;
	}
	if (tp->in_tracefs)
		out[n++] = CT_HOOK_TRACEPOINT;
	return n;
}

int ct_io_hook_choices(const struct ct_probe *p,
		       enum ct_hook out[CT_IO_HOOK_MAX_CHOICES])
{
	int n = ct_hook_choices(p->btf, &p->io, out);

	if (p->btf && (p->fn.tcp || p->fn.udp)) {
		out[n++] = CT_HOOK_FENTRY;
		if (p->fn.kprobes)
			out[n++] = CT_HOOK_KPROBE;
	}
	out[n++] = CT_HOOK_NONE;
	return n;
}

static bool has_fn(const struct ct_fn_probe *fn, enum ct_fn f)
{
	switch (f) {
	case CT_FN_TCP:
		return fn->tcp;
	case CT_FN_UDP:
		return fn->udp;
	case CT_FN_UDP6:
		return fn->udp6;
	}
	return false;
}

bool ct_fn_prog_usable(const struct ct_fn_probe *fn, enum ct_hook h,
		       enum ct_fn f, enum ct_recv_layout layout)
{
	if (!has_fn(fn, f))
		return false;
	/* 5.19 (ec095263a965) dropped recvmsg's 'nonblock' argument. */
	if (h == CT_HOOK_FENTRY && layout != CT_RECV_ANY)
		return (layout == CT_RECV_NONBLOCK) == fn->recv_has_nonblock;
	return true;
}

int ct_recv_flags_arg(const struct ct_fn_probe *fn)
{
	return fn->recv_has_nonblock ? 5 : 4;
}

bool ct_sk_storage_usable(const struct ct_probe *p, enum ct_hook state,
			  enum ct_hook io)
{
	return p->sk_storage_iter && state == CT_HOOK_TP_BTF &&
	       (io == CT_HOOK_TP_BTF || io == CT_HOOK_FENTRY);
}

bool ct_kernel_lookup_and_delete_refused(int err)
{
	return err == EINVAL || err == ENOTSUPP || err == EOPNOTSUPP;
}

bool ct_tp_exists(int tracefs_answer, bool event_class_in_btf)
{
	if (tracefs_answer == CT_TRACEFS_UNMOUNTED)
		return event_class_in_btf;
	return tracefs_answer == CT_TRACEFS_YES;
}

static const char *const hook_names[CT_HOOK_KINDS] = {
	[CT_HOOK_NONE] = "none",
	[CT_HOOK_TP_BTF] = "tp_btf",
	[CT_HOOK_RAW_TP] = "raw_tp",
	[CT_HOOK_TRACEPOINT] = "tracepoint",
	[CT_HOOK_FENTRY] = "fentry",
	[CT_HOOK_KPROBE] = "kprobe",
};

const char *ct_hook_name(enum ct_hook h)
{
	return (unsigned)h < CT_HOOK_KINDS ? hook_names[h] : "none";
}

static int hook_by_name(const char *name, size_t len, enum ct_hook *out)
{
	for (int h = 0; h < CT_HOOK_KINDS; h++)
		if (strlen(hook_names[h]) == len && !strncmp(name, hook_names[h], len)) {
			*out = (enum ct_hook)h;
			return 0;
		}
	if (len == 5 && !strncmp(name, "fexit", 5)) {
		*out = CT_HOOK_FENTRY;
		return 0;
	}
	return -EINVAL;
}

static bool is_state_hook(enum ct_hook h)
{
	return h == CT_HOOK_TP_BTF || h == CT_HOOK_RAW_TP ||
	       h == CT_HOOK_TRACEPOINT;
}

/* One "what=hook" item of the spec, len bytes at item: 0 or -EINVAL. */
static int force_item(const char *item, size_t len, struct ct_hook_force *f)
{
	const char *eq = memchr(item, '=', len);
	size_t klen = eq ? (size_t)(eq - item) : len;
	enum ct_hook h;

	if (!eq || hook_by_name(eq + 1, len - klen - 1, &h))
		return -EINVAL;
	if (klen == 5 && !strncmp(item, "state", 5) && is_state_hook(h)) {
		f->state_set = true;
		f->state = h;
	} else if (klen == 2 && !strncmp(item, "io", 2)) {
		f->io_set = true;
		f->io = h;
	} else {
		return -EINVAL;
	}
	return 0;
}

int ct_hook_force_parse(const char *spec, struct ct_hook_force *f,
			char *err, size_t errlen)
{
	*f = (struct ct_hook_force){ 0 };
	if (!spec)
		return 0;
	while (*spec) {
		size_t len = strcspn(spec, ",");

		if (force_item(spec, len, f)) {
			snprintf(err, errlen,
				 "%s: bad item '%.*s' (expected state=tp_btf|raw_tp|tracepoint, io=tp_btf|raw_tp|tracepoint|fentry|kprobe|none)",
				 CT_HOOKS_ENV, (int)len, spec);
			return -EINVAL;
		}
		spec += len;
		if (*spec == ',')
			spec++;
	}
	return 0;
}

int ct_hook_force_apply(bool set, enum ct_hook forced, enum ct_hook *choices,
			int n)
{
	if (!set)
		return n;
	choices[0] = forced;
	return 1;
}

const char *ct_kernel_btf_custom(void)
{
	const char *p = getenv(CT_BTF_ENV);

	return p && *p ? p : NULL;
}

const char *ct_kernel_btf_path(void)
{
	const char *p = ct_kernel_btf_custom();

	return p ? p : SYSFS_BTF;
}

void ct_probe_strerror(int rc, char *buf, size_t len)
{
	if (rc == CT_EBTF_INVALID)
		snprintf(buf, len, "kernel BTF (%s) is unreadable or not valid BTF",
			 ct_kernel_btf_path());
	else
		snprintf(buf, len, "kernel BTF not available (%s): %s",
			 ct_kernel_btf_path(), strerror(-rc));
}

static bool btf_has(const struct btf *btf, const char *name, int kind)
{
	return btf__find_by_name_kind(btf, name, kind) > 0;
}

/* Number of parameters of a kernel function, -1 if unknown. */
static int btf_func_nargs(const struct btf *btf, const char *name)
{
	int id = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC);
	const struct btf_type *t;

	if (id <= 0)
		return -1;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	return t ? btf_vlen(t) : -1;
}

static bool btf_has_funcs(const struct btf *btf, const char *send,
			  const char *recv)
{
	return btf_has(btf, send, BTF_KIND_FUNC) &&
	       btf_has(btf, recv, BTF_KIND_FUNC);
}

static void probe_functions(const struct btf *btf, struct ct_fn_probe *fn)
{
	fn->tcp = btf_has_funcs(btf, "tcp_sendmsg", "tcp_recvmsg");
	fn->udp = btf_has_funcs(btf, "udp_sendmsg", "udp_recvmsg");
	fn->udp6 = btf_has_funcs(btf, "udpv6_sendmsg", "udpv6_recvmsg");
	fn->recv_has_nonblock = btf_func_nargs(btf, "tcp_recvmsg") == 6;
	fn->kprobes = access("/sys/bus/event_source/devices/kprobe", F_OK) == 0;
}

/* A tracepoint in "sock", whose event record is struct trace_event_raw_<cls>. */
static void probe_tp(const struct btf *btf, const char *event, const char *cls,
		     struct ct_tp_probe *tp)
{
	char name[128];

	snprintf(name, sizeof(name), "btf_trace_%s", event);
	tp->in_btf = btf_has(btf, name, BTF_KIND_TYPEDEF);
	snprintf(name, sizeof(name), "trace_event_raw_%s", cls);
	tp->in_tracefs = ct_tp_exists(ct_tracefs_event("sock", event),
				      btf_has(btf, name, BTF_KIND_STRUCT));
}

static void probe_io_tps(const struct btf *btf, struct ct_tp_probe *io)
{
	struct ct_tp_probe send, recv;

	/* Both events share one class, sock_msg_length (6.3). */
	probe_tp(btf, "sock_send_length", "sock_msg_length", &send);
	probe_tp(btf, "sock_recv_length", "sock_msg_length", &recv);
	io->in_btf = send.in_btf && recv.in_btf;
	io->in_tracefs = send.in_tracefs && recv.in_tracefs;
}

/* Number of arguments of a tracepoint's prototype, without the context. */
static int btf_tp_nargs(const struct btf *btf, const char *event)
{
	const struct btf_type *t;
	char name[128];
	int id;

	snprintf(name, sizeof(name), "btf_trace_%s", event);
	id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	if (id <= 0)
		return -1;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);	/* the pointer */
	t = t ? btf__type_by_id(btf, t->type) : NULL;		/* the prototype */
	return t && btf_is_func_proto(t) ? (int)btf_vlen(t) - 1 : -1;
}

/* A tracepoint of any system, by its event name and its event class. */
static void probe_any_tp(const struct btf *btf, const char *sys,
			 const char *event, const char *cls,
			 struct ct_tp_probe *tp)
{
	char name[128];

	snprintf(name, sizeof(name), "btf_trace_%s", event);
	tp->in_btf = btf_has(btf, name, BTF_KIND_TYPEDEF);
	snprintf(name, sizeof(name), "trace_event_raw_%s", cls);
	tp->in_tracefs = ct_tp_exists(ct_tracefs_event(sys, event),
				      btf_has(btf, name, BTF_KIND_STRUCT));
}

static void probe_tev(const struct btf *btf, struct ct_tev_probe *t)
{
	probe_any_tp(btf, "tcp", "tcp_retransmit_skb", "tcp_event_sk_skb",
		     &t->tp[CT_TEV_TP_RETRANS]);
	probe_any_tp(btf, "tcp", "tcp_retransmit_synack",
		     "tcp_retransmit_synack", &t->tp[CT_TEV_TP_SYNACK]);
	probe_any_tp(btf, "tcp", "tcp_send_reset", "tcp_send_reset",
		     &t->tp[CT_TEV_TP_RST_SENT]);
	probe_any_tp(btf, "tcp", "tcp_receive_reset", "tcp_event_sk",
		     &t->tp[CT_TEV_TP_RST_RECV]);
	probe_any_tp(btf, "skb", "kfree_skb", "kfree_skb",
		     &t->tp[CT_TEV_TP_DROP]);
	t->retrans_err = btf_tp_nargs(btf, "tcp_retransmit_skb") >= 3;
	t->reset_reason = btf_tp_nargs(btf, "tcp_send_reset") >= 3;
	t->kfree_reason = btf_tp_nargs(btf, "kfree_skb") >= 3;
	t->kfree_rx_sk = btf_tp_nargs(btf, "kfree_skb") >= 4;
}

enum ct_hook ct_tev_hook(const struct ct_probe *p, enum ct_tev_tp tp)
{
	const struct ct_tp_probe *t;

	if (!p->btf || (unsigned)tp >= CT_TEV_TP_MAX)
		return CT_HOOK_NONE;
	/* Drops without a reason say nothing a user can act on (5.17). */
	if (tp == CT_TEV_TP_DROP && !p->tev.kfree_reason)
		return CT_HOOK_NONE;
	t = &p->tev.tp[tp];
	if (t->in_btf)
		return CT_HOOK_TP_BTF;
	return t->in_tracefs ? CT_HOOK_RAW_TP : CT_HOOK_NONE;
}

const char *ct_tev_missing_reason(const struct ct_probe *p, enum ct_tev_tp tp)
{
	if (!p->btf)
		return "the kernel's BTF is not readable";
	if (tp == CT_TEV_TP_DROP && p->tev.tp[tp].in_btf && !p->tev.kfree_reason)
		return "skb:kfree_skb has no drop reason before Linux 5.17";
	return "this kernel has no such tracepoint";
}

int ct_probe_kernel(struct ct_probe *p)
{
	const char *path = ct_kernel_btf_path();
	struct btf *btf;

	*p = (struct ct_probe){ 0 };
	if (access(path, R_OK))
		return -errno;
	btf = btf__parse(path, NULL);
	if (!btf)
		return CT_EBTF_INVALID;
	p->btf = true;
	probe_tp(btf, "inet_sock_set_state", "inet_sock_set_state", &p->state);
	probe_io_tps(btf, &p->io);
	probe_functions(btf, &p->fn);
	probe_tev(btf, &p->tev);
	p->sk_storage_iter = btf_has(btf, "bpf_iter__bpf_sk_storage_map",
				     BTF_KIND_STRUCT);
	btf__free(btf);
	return 0;
}

/* Values past this are not a table's: a sparse enum is not worth it. */
#define ENUM_MAX_VALUE 4096

static int enum_fill(const struct btf *btf, const struct btf_type *t,
		     const char *prefix, char **names, size_t n)
{
	const struct btf_enum *v = btf_enum(t);
	size_t plen = strlen(prefix);

	for (unsigned int i = 0; i < btf_vlen(t); i++, v++) {
		const char *name = btf__name_by_offset(btf, v->name_off);

		if (v->val < 0 || (size_t)v->val >= n || !name)
			continue;
		if (!strncmp(name, prefix, plen))
			name += plen;
		free(names[v->val]);
		names[v->val] = strdup(name);
		if (!names[v->val])
			return -ENOMEM;
	}
	return 0;
}

static int enum_table(const struct btf *btf, const char *enum_name,
		      const char *prefix, char ***names, size_t *n)
{
	int id = btf__find_by_name_kind(btf, enum_name, BTF_KIND_ENUM);
	const struct btf_type *t;
	size_t max = 0;
	int err;

	if (id <= 0)
		return -ENOENT;
	t = btf__type_by_id(btf, id);
	for (unsigned int i = 0; i < btf_vlen(t); i++) {
		int val = btf_enum(t)[i].val;

		if (val >= 0 && val < ENUM_MAX_VALUE && (size_t)val + 1 > max)
			max = (size_t)val + 1;
	}
	*names = calloc(max ? max : 1, sizeof(**names));
	if (!*names)
		return -ENOMEM;
	*n = max;
	err = enum_fill(btf, t, prefix, *names, max);
	if (err) {
		ct_kernel_enum_free(*names, *n);
		*names = NULL;
		*n = 0;
	}
	return err;
}

int ct_kernel_enums(struct ct_enum_names *want, size_t count)
{
	struct btf *btf;
	int err = 0;

	for (size_t i = 0; i < count; i++) {
		want[i].names = NULL;
		want[i].n = 0;
	}
	btf = btf__parse(ct_kernel_btf_path(), NULL);
	if (!btf)
		return errno ? -errno : CT_EBTF_INVALID;
	for (size_t i = 0; i < count; i++) {
		int rc = enum_table(btf, want[i].enum_name, want[i].prefix,
				    &want[i].names, &want[i].n);

		if (rc && !err)
			err = rc;
	}
	btf__free(btf);
	return err;
}

int ct_kernel_enum_names(const char *enum_name, const char *prefix,
			 char ***names, size_t *n)
{
	struct ct_enum_names e = { .enum_name = enum_name, .prefix = prefix };
	int err = ct_kernel_enums(&e, 1);

	*names = e.names;
	*n = e.n;
	return err;
}

void ct_kernel_enum_free(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}
