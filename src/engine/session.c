// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/session.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conntrace.h"
#include "conntrace.skel.h"
#include "engine/cgroup.h"
#include "engine/ringsize.h"
#include "engine/stats_proc.h"
#include "engine/tevkind.h"
#include "engine/tracefs.h"
#include "lib/grow.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * One kernel program: where the skeleton keeps its pointer, the hook
 * kind it is written for, and what it attaches to. Programs are chosen
 * and attached from these tables only: a program that is in no table is
 * never loaded.
 */
struct prog_entry {
	size_t off;			/* of its pointer in the skeleton */
	const char *name;
	enum ct_hook hook;		/* NONE: an iterator, run on demand */
	const char *target;		/* tracepoint or kernel function */
	enum ct_fn fn;			/* fexit/kprobe: the function's protocol */
	enum ct_recv_layout layout;	/* fexit on recvmsg: its arguments */
	bool retprobe;
	bool sk_storage;		/* iterators: only with socket storage */
	enum ct_tev_tp tev_tp;		/* event hooks: the tracepoint */
	unsigned int tev_kinds;		/* event hooks: 1 << the kinds it writes */
	/*
	 * Runs after the group's first program on the same tracepoint and
	 * takes what the kernel skipped it for: its own misses lose nothing.
	 */
	bool rescue;
};

#define PROG(p) .off = offsetof(struct conntrace_bpf, progs.p), .name = #p

/* sock:inet_sock_set_state, one program per hook kind. */
static const struct prog_entry state_progs[] = {
	{ PROG(ct_state_btf), .hook = CT_HOOK_TP_BTF, .target = "inet_sock_set_state" },
	{ PROG(ct_rescue_btf), .hook = CT_HOOK_TP_BTF,
	  .target = "inet_sock_set_state", .rescue = true },
	{ PROG(ct_state_raw), .hook = CT_HOOK_RAW_TP, .target = "inet_sock_set_state" },
	{ PROG(ct_rescue_raw), .hook = CT_HOOK_RAW_TP,
	  .target = "inet_sock_set_state", .rescue = true },
	{ PROG(ct_state_tp), .hook = CT_HOOK_TRACEPOINT, .target = "inet_sock_set_state" },
};

#define TP_IO(kind, h, ev)						\
	{ PROG(ct_##ev##_##kind), .hook = h, .target = "sock_" #ev "_length" }
#define FEXIT(f, proto, lay)						\
	{ PROG(ct_fx_##f), .hook = CT_HOOK_FENTRY, .target = #f,	\
	  .fn = proto, .layout = lay }
#define FEXIT_RECV(f, proto)						\
	FEXIT(f, proto, CT_RECV_FLAGS4),				\
	{ PROG(ct_fx_##f##_old), .hook = CT_HOOK_FENTRY, .target = #f,	\
	  .fn = proto, .layout = CT_RECV_NONBLOCK }
#define KPROBE(f, proto)						\
	{ PROG(ct_kp_##f), .hook = CT_HOOK_KPROBE, .target = #f, .fn = proto }, \
	{ PROG(ct_kr_##f), .hook = CT_HOOK_KPROBE, .target = #f, .fn = proto, \
	  .retprobe = true }

/* Sends and receives: each hook kind's programs do the same job. */
static const struct prog_entry io_progs[] = {
	TP_IO(btf, CT_HOOK_TP_BTF, send), TP_IO(btf, CT_HOOK_TP_BTF, recv),
	TP_IO(raw, CT_HOOK_RAW_TP, send), TP_IO(raw, CT_HOOK_RAW_TP, recv),
	TP_IO(tp, CT_HOOK_TRACEPOINT, send), TP_IO(tp, CT_HOOK_TRACEPOINT, recv),
	FEXIT(tcp_sendmsg, CT_FN_TCP, CT_RECV_ANY),
	FEXIT(udp_sendmsg, CT_FN_UDP, CT_RECV_ANY),
	FEXIT(udpv6_sendmsg, CT_FN_UDP6, CT_RECV_ANY),
	FEXIT_RECV(tcp_recvmsg, CT_FN_TCP),
	FEXIT_RECV(udp_recvmsg, CT_FN_UDP),
	FEXIT_RECV(udpv6_recvmsg, CT_FN_UDP6),
	KPROBE(tcp_sendmsg, CT_FN_TCP),
	KPROBE(udp_sendmsg, CT_FN_UDP),
	KPROBE(udpv6_sendmsg, CT_FN_UDP6),
	KPROBE(tcp_recvmsg, CT_FN_TCP),
	KPROBE(udp_recvmsg, CT_FN_UDP),
	KPROBE(udpv6_recvmsg, CT_FN_UDP6),
};

/* Iterators: loaded with every variant, attached only when run. */
static const struct prog_entry iter_progs[] = {
	{ PROG(ct_seed_files) },
	{ PROG(ct_owner_files) },
	{ PROG(ct_dump_sk_conns), .sk_storage = true },
	{ PROG(ct_tcp_counters) },
};

/*
 * accept() and accept4() return: the syscall tracepoints fire only there,
 * so knowing the acceptor costs nothing on sends and receives.
 */
static const struct prog_entry accept_progs[] = {
	{ PROG(ct_accept4_exit), .hook = CT_HOOK_TRACEPOINT, .target = "sys_exit_accept4" },
	{ PROG(ct_accept_exit), .hook = CT_HOOK_TRACEPOINT, .target = "sys_exit_accept" },
};

#define TEV(p, h, tp, name, kinds)					\
	{ PROG(p), .hook = h, .target = name, .tev_tp = tp,		\
	  .tev_kinds = kinds }
#define TEV_PAIR(p, tp, name, kinds)					\
	TEV(p##_btf, CT_HOOK_TP_BTF, tp, name, kinds),			\
	TEV(p##_raw, CT_HOOK_RAW_TP, tp, name, kinds)
#define BIT(k) (1U << (k))

/* What goes wrong on a connection: one tp_btf and one raw_tp each. */
static const struct prog_entry tev_progs[] = {
	TEV_PAIR(ct_retrans, CT_TEV_TP_RETRANS, "tcp_retransmit_skb",
		 BIT(CT_TEV_RETRANS)),
	TEV_PAIR(ct_synack, CT_TEV_TP_SYNACK, "tcp_retransmit_synack",
		 BIT(CT_TEV_SYNACK_RETRANS)),
	TEV_PAIR(ct_rst_sent, CT_TEV_TP_RST_SENT, "tcp_send_reset",
		 BIT(CT_TEV_RESET_SENT)),
	TEV_PAIR(ct_rst_recv, CT_TEV_TP_RST_RECV, "tcp_receive_reset",
		 BIT(CT_TEV_RESET_RECV)),
	TEV_PAIR(ct_drop, CT_TEV_TP_DROP, "kfree_skb", BIT(CT_TEV_DROP)),
};

static const struct {
	enum ct_prog_group id;
	const struct prog_entry *progs;
	size_t n;
} groups[] = {
	{ CT_GROUP_STATE, state_progs, ARRAY_SIZE(state_progs) },
	{ CT_GROUP_IO, io_progs, ARRAY_SIZE(io_progs) },
	{ CT_GROUP_ITER, iter_progs, ARRAY_SIZE(iter_progs) },
	{ CT_GROUP_ACCEPT, accept_progs, ARRAY_SIZE(accept_progs) },
	{ CT_GROUP_TEV, tev_progs, ARRAY_SIZE(tev_progs) },
};

/* What one variant is made of. */
struct plan {
	const struct ct_probe *probe;
	enum ct_hook state, io;
	bool sk_storage, owners_only, accept;
	unsigned int tev_mask;		/* kinds of ct_tcp_ev wanted */
	enum ct_hook tev_hook;		/* NONE: the probe's choice per tracepoint */
};

static bool chosen(const struct plan *pl, enum ct_prog_group g,
		   const struct prog_entry *e)
{
	if (pl->owners_only)
		return e->off == offsetof(struct conntrace_bpf, progs.ct_owner_files);
	switch (g) {
	case CT_GROUP_STATE:
		return e->hook == pl->state;
	case CT_GROUP_IO:
		if (pl->io == CT_HOOK_NONE || e->hook != pl->io)
			return false;
		if (e->hook == CT_HOOK_FENTRY || e->hook == CT_HOOK_KPROBE)
			return ct_fn_prog_usable(&pl->probe->fn, e->hook, e->fn,
						 e->layout);
		return true;
	case CT_GROUP_ACCEPT:
		return pl->accept;
	case CT_GROUP_TEV:
		return (e->tev_kinds & pl->tev_mask) &&
		       e->hook == (pl->tev_hook != CT_HOOK_NONE ? pl->tev_hook :
				   ct_tev_hook(pl->probe, e->tev_tp));
	default:
		return !e->sk_storage || pl->sk_storage;
	}
}

typedef int (*entry_fn)(const struct prog_entry *e, enum ct_prog_group g,
			void *ctx);

/* Calls fn on every program of the variant until fn returns non-zero. */
static int for_each_chosen(const struct plan *pl, entry_fn fn, void *ctx)
{
	for (size_t g = 0; g < ARRAY_SIZE(groups); g++)
		for (size_t i = 0; i < groups[g].n; i++) {
			const struct prog_entry *e = &groups[g].progs[i];
			int rc;

			if (chosen(pl, groups[g].id, e) &&
			    (rc = fn(e, groups[g].id, ctx)))
				return rc;
		}
	return 0;
}

static struct bpf_program *prog_of(const struct conntrace_bpf *skel,
				   const struct prog_entry *e)
{
	return *(struct bpf_program *const *)((const char *)skel + e->off);
}

static struct plan plan_of(const struct ct_session *s, enum ct_hook state,
			   enum ct_hook io)
{
	return (struct plan){ &s->probe, state, io, s->sk_storage,
			      s->owners_only, s->want_accept, s->tev_mask,
			      s->tev_force };
}

struct names {
	enum ct_prog_group group;
	const char **out;
	size_t max, n;
};

static int add_name(const struct prog_entry *e, enum ct_prog_group g, void *ctx)
{
	struct names *nm = ctx;

	if (g != nm->group)
		return 0;
	if (nm->n < nm->max)
		nm->out[nm->n] = e->name;
	nm->n++;
	return 0;
}

size_t ct_session_programs(const struct ct_probe *p, enum ct_prog_group g,
			   enum ct_hook hook, bool sk_storage,
			   const char **names, size_t max)
{
	struct plan pl = { p, CT_HOOK_NONE, CT_HOOK_NONE, sk_storage, false,
			   g == CT_GROUP_ACCEPT, g == CT_GROUP_TEV ? ~0U : 0,
			   CT_HOOK_NONE };
	struct names nm = { g, names, max, 0 };

	if (g == CT_GROUP_STATE)
		pl.state = hook;
	else if (g == CT_GROUP_IO)
		pl.io = hook;
	for_each_chosen(&pl, add_name, &nm);
	return nm.n;
}

static bool verbose;

static int print_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list args)
{
	(void)level;
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

void ct_session_set_verbose(bool v)
{
	verbose = v;
	libbpf_set_print(print_libbpf);
}

/* libbpf prints its own warnings unless told otherwise: quiet by default. */
static void quiet_libbpf(void)
{
	libbpf_set_print(print_libbpf);
}

static int enable(const struct prog_entry *e, enum ct_prog_group g, void *ctx)
{
	(void)g;
	return bpf_program__set_autoload(prog_of(ctx, e), true);
}

static int choose_programs(struct ct_session *s, enum ct_hook state,
			   enum ct_hook io)
{
	struct plan pl = plan_of(s, state, io);
	struct bpf_program *p;

	bpf_object__for_each_program(p, s->skel->obj)
		bpf_program__set_autoload(p, false);
	return for_each_chosen(&pl, enable, s->skel);
}

/* The cgroups --cgroup/--container keep, for the state hook to filter on. */
struct ct_cgroup_ids {
	uint64_t *ids;
	int n;
	uint64_t max;	/* 0: no list, user space filters alone */
};

static int list_cgroups(const struct ct_load_opts *o, struct ct_cgroup_ids *cl)
{
	int n;

	if (!o->filter.cgroup && !o->filter.container)
		return 0;
	n = ct_cgroup_list_matching(o->filter.cgroup, o->filter.container,
				    &cl->ids, &cl->max);
	/* Without a cgroup2 mount no owner can match: user space says so. */
	if (n == -ENOENT)
		return 0;
	if (n < 0)
		return n;
	cl->n = n;
	return 0;
}

static void configure_cgroups(struct ct_session *s, const struct ct_cgroup_ids *cl)
{
	struct conntrace_bpf *k = s->skel;

	if (s->owners_only || !cl->max)
		return;
	k->rodata->filter_cgroup_max = cl->max;
	bpf_map__set_max_entries(k->maps.ct_cgroup_set, cl->n ? cl->n : 1);
}

static int fill_cgroups(struct ct_session *s, const struct ct_cgroup_ids *cl)
{
	const uint8_t one = 1;

	if (s->owners_only || !cl->max)
		return 0;
	for (int i = 0; i < cl->n; i++)
		if (bpf_map__update_elem(s->skel->maps.ct_cgroup_set,
					 &cl->ids[i], sizeof(cl->ids[i]), &one,
					 sizeof(one), BPF_ANY))
			return -errno;
	return 0;
}

static void configure(struct ct_session *s, const struct ct_load_opts *o)
{
	struct conntrace_bpf *k = s->skel;
	struct bpf_map *m;

	/* The owner walk writes to its seq_file only: maps would be waste. */
	bpf_object__for_each_map(m, k->obj)
		if (s->owners_only && !bpf_map__is_internal(m))
			bpf_map__set_autocreate(m, false);
	k->rodata->filter_pid = o->filter.pid;
	k->rodata->filter_port = o->filter.port;
	k->rodata->filter_family = o->filter.family;
	memcpy((char *)k->rodata->filter_comm, o->filter.comm,
	       sizeof(k->rodata->filter_comm));
	k->rodata->count_bytes = o->count_bytes;
	k->rodata->count_tcp_calls = !o->count_bytes || o->count_tcp_calls;
	k->rodata->use_sk_storage = s->sk_storage;
	/*
	 * top reads counters, not transitions: the ring buffer carries the
	 * closes, with the last counts of the per-call shares or the sockets.
	 */
	k->rodata->emit_states = !o->count_bytes || o->all_states;
	k->rodata->emit_closes = o->count_bytes && !o->count_tcp_calls;
	/* export counts every socket by state, idle ones too. */
	k->rodata->walk_idle = o->all_states && !o->count_walk_states;
	k->rodata->recv_flags_arg = ct_recv_flags_arg(&s->probe.fn);
	k->rodata->tev_mask = s->tev_mask;
	k->rodata->retrans_err_arg = s->probe.tev.retrans_err;
	k->rodata->send_reset_reason_arg = s->probe.tev.reset_reason;
	k->rodata->kfree_rx_sk_arg = s->probe.tev.kfree_rx_sk;
	if (o->max_conns)
		bpf_map__set_max_entries(k->maps.ct_conns, o->max_conns);
	if (o->max_socks)
		bpf_map__set_max_entries(k->maps.ct_socks, o->max_socks);
	if (s->ring_bytes)
		bpf_map__set_max_entries(k->maps.ct_events, s->ring_bytes);
}

static struct bpf_link *attach_entry(struct bpf_program *p,
				     const struct prog_entry *e)
{
	switch (e->hook) {
	case CT_HOOK_TP_BTF:
	case CT_HOOK_FENTRY:
		/* The target was fixed at load, from the program's BTF id. */
		return bpf_program__attach_trace(p);
	case CT_HOOK_RAW_TP:
		return bpf_program__attach_raw_tracepoint(p, e->target);
	case CT_HOOK_TRACEPOINT:
		return bpf_program__attach_tracepoint(p, "sock", e->target);
	case CT_HOOK_KPROBE:
		return bpf_program__attach_kprobe(p, e->retprobe, e->target);
	default:
		errno = EINVAL;
		return NULL;
	}
}

static int attach_one(const struct prog_entry *e, enum ct_prog_group g,
		      void *ctx)
{
	struct ct_session *s = ctx;
	struct bpf_link *link;

	if (g == CT_GROUP_ITER)
		return 0;
	if (ct_grow((void **)&s->links, &s->links_cap, s->nlinks,
		    sizeof(*s->links)))
		return -ENOMEM;
	if (g == CT_GROUP_ACCEPT) {
		/*
		 * Without it owners come from the listener and the file walk:
		 * a kernel without syscall tracepoints (or tracefs) still runs.
		 */
		link = ct_tracefs_ensure() ? NULL :
		       bpf_program__attach_tracepoint(prog_of(s->skel, e),
						      "syscalls", e->target);
		if (!link)
			s->accept_hook = false;
		else
			s->links[s->nlinks++] = link;
		return 0;
	}
	link = attach_entry(prog_of(s->skel, e), e);
	if (!link && g == CT_GROUP_TEV) {
		/* Transitions still work without it: say so, and go on. */
		s->tev_failed |= e->tev_kinds;
		s->tev_err = errno ? -errno : -EINVAL;
		return 0;
	}
	if (!link)
		return errno ? -errno : -EINVAL;
	s->links[s->nlinks++] = link;
	return 0;
}

int ct_session_try(struct ct_session *s, const struct ct_load_opts *o,
		   enum ct_hook state, enum ct_hook io, bool attach)
{
	struct plan pl = plan_of(s, state, io);
	struct bpf_object_open_opts oo = { .sz = sizeof(oo) };
	struct ct_cgroup_ids own = {};
	const struct ct_cgroup_ids *cl = s->cgroups ? s->cgroups : &own;
	int err = 0;

	quiet_libbpf();
	if (attach && (state == CT_HOOK_TRACEPOINT || io == CT_HOOK_TRACEPOINT))
		err = ct_tracefs_ensure();
	if (!err && !s->cgroups)
		err = list_cgroups(o, &own);
	if (err) {
		free(own.ids);
		return err;
	}
	/* CO-RE reads the same BTF the probe did. */
	oo.btf_custom_path = ct_kernel_btf_custom();
	s->skel = conntrace_bpf__open_opts(&oo);
	if (!s->skel) {
		free(own.ids);
		return errno ? -errno : -EINVAL;
	}
	err = choose_programs(s, state, io);
	if (!err) {
		configure(s, o);
		configure_cgroups(s, cl);
		err = conntrace_bpf__load(s->skel);
	}
	if (!err)
		err = fill_cgroups(s, cl);
	free(own.ids);
	s->accept_hook = attach && s->want_accept;
	if (!err && attach)
		err = for_each_chosen(&pl, attach_one, s);
	if (err) {
		ct_session_stop(s);
		return err;
	}
	s->state_hook = state;
	s->io_hook = io;
	return 0;
}

/* The kinds that come from the state and accept hooks, not a program of their own. */
static unsigned int tev_from_state(void)
{
	unsigned int own = 0;

	for (size_t i = 0; i < ARRAY_SIZE(tev_progs); i++)
		own |= tev_progs[i].tev_kinds;
	return CT_TEV_ALL & ~own;
}

static int try_pair_storage(struct ct_session *s, const struct ct_load_opts *o,
			    enum ct_hook state, enum ct_hook io);

/*
 * An event hook the verifier refuses must not cost the transitions: the
 * pair is tried again without the event programs, which are then missing.
 */
static int try_pair(struct ct_session *s, const struct ct_load_opts *o,
		    enum ct_hook state, enum ct_hook io)
{
	unsigned int wanted = s->tev_mask;
	int rc = try_pair_storage(s, o, state, io);

	if (!rc || !(wanted & ~tev_from_state()))
		return rc;
	s->tev_mask = wanted & tev_from_state();
	rc = try_pair_storage(s, o, state, io);
	if (rc)
		s->tev_mask = wanted;	/* not the event programs' fault */
	else
		s->tev_failed |= wanted & ~tev_from_state();
	return rc;
}

/* Socket storage first where it can work, as it is the cheaper path. */
static int try_pair_storage(struct ct_session *s, const struct ct_load_opts *o,
			    enum ct_hook state, enum ct_hook io)
{
	if (o->count_bytes && o->count_tcp_calls &&
	    ct_sk_storage_usable(&s->probe, state, io)) {
		s->sk_storage = true;
		if (!ct_session_try(s, o, state, io, true))
			return 0;
	}
	s->sk_storage = false;
	return ct_session_try(s, o, state, io, true);
}

/* The I/O hooks to try for these options, forced or probed. */
static int io_choices(const struct ct_session *s, const struct ct_load_opts *o,
		      enum ct_hook ios[CT_IO_HOOK_MAX_CHOICES])
{
	int n;

	if (!o->io_hooks) {
		ios[0] = CT_HOOK_NONE;
		return 1;
	}
	n = ct_io_hook_choices(&s->probe, ios);
	n = ct_hook_force_apply(s->force.io_set, s->force.io, ios, n);
	/* Byte accounting needs an I/O hook: without one, no start. */
	if (o->count_bytes && n > 0 && ios[n - 1] == CT_HOOK_NONE)
		n--;
	return n;
}

static void explain_failure(const struct ct_session *s,
			    const struct ct_load_opts *o, int ns, int ni,
			    int rc, char *err, size_t errlen)
{
	const char *forced = s->force.state_set || s->force.io_set ?
			     "forced by " CT_HOOKS_ENV "; " : "";

	if (ns == 0)
		snprintf(err, errlen,
			 "this kernel has no sock:inet_sock_set_state tracepoint");
	else if (o->count_bytes && ni == 0)
		snprintf(err, errlen,
			 "this kernel offers no hook on socket sends and receives");
	else
		snprintf(err, errlen,
			 "cannot load or attach the kernel hooks (%slast error: %s; run with -v for details)",
			 forced, strerror(-rc));
}

/* Reads CONNTRACE_HOOKS; a bad value is the user's error. */
static int read_force(struct ct_session *s, const struct ct_load_opts *o,
		      char *err, size_t errlen)
{
	int rc = ct_hook_force_parse(getenv(CT_HOOKS_ENV), &s->force, err,
				     errlen);

	if (!rc && o->count_bytes && o->io_hooks && s->force.io_set &&
	    s->force.io == CT_HOOK_NONE) {
		snprintf(err, errlen,
			 "%s: io=none, but counting bytes needs a send/receive hook",
			 CT_HOOKS_ENV);
		rc = -EINVAL;
	}
	s->usage_error = rc != 0;
	return rc;
}

/*
 * The ring's size: as asked, or from the rate of new connections between
 * the start (at) and now, the time the probe took (20 ms at least).
 */
static void size_ring(struct ct_session *s, const struct ct_load_opts *o,
		      const struct ct_opens *at)
{
	struct ct_opens now = { 0 };

	s->ring_bytes = o->ring_bytes;
	if (o->ring_bytes || !o->ring_floor)
		return;
	s->ring_bytes = o->ring_floor;
	if (!at->ns || ct_opens_read_after(CT_PROCNET_DIR, at, &now))
		return;
	s->opens_rate = ct_opens_rate(at, &now);
	s->ring_bytes = ct_ring_for_rate(at, &now, o->ring_floor);
}

int ct_session_start(struct ct_session *s, const struct ct_load_opts *o,
		     char *err, size_t errlen)
{
	enum ct_hook states[CT_HOOK_MAX_CHOICES], ios[CT_IO_HOOK_MAX_CHOICES];
	struct ct_cgroup_ids cl = {};
	struct ct_opens at = { 0 };
	int ns, ni, rc;

	memset(s, 0, sizeof(*s));
	/* A namespace without TCP counters gets the floor. */
	if (o->ring_floor && !o->ring_bytes)
		ct_opens_read(CT_PROCNET_DIR, &at);
	s->want_accept = o->accept_hook;
	s->tev_mask = o->tev_mask;
	quiet_libbpf();
	if ((rc = read_force(s, o, err, errlen)))
		return rc;
	rc = ct_probe_kernel(&s->probe);
	if (rc) {
		ct_probe_strerror(rc, err, errlen);
		return rc;
	}
	ns = ct_hook_choices(s->probe.btf, &s->probe.state, states);
	ns = ct_hook_force_apply(s->force.state_set, s->force.state, states, ns);
	ni = io_choices(s, o, ios);
	/* Once for every pair tried: a walk of the whole cgroup tree each. */
	if ((rc = list_cgroups(o, &cl))) {
		snprintf(err, errlen, "cannot list the cgroups to filter on: %s",
			 strerror(-rc));
		return rc;
	}
	s->cgroups = &cl;
	size_ring(s, o, &at);
	rc = -ENOENT;
	for (int i = 0; i < ns && rc; i++)
		for (int j = 0; j < ni && rc; j++)
			rc = try_pair(s, o, states[i], ios[j]);
	s->cgroups = NULL;
	free(cl.ids);
	if (rc)
		explain_failure(s, o, ns, ni, rc, err, errlen);
	return rc;
}

int ct_session_open_iter(struct ct_session *s)
{
	struct ct_load_opts o = { 0 };

	memset(s, 0, sizeof(*s));
	s->owners_only = true;
	return ct_session_try(s, &o, CT_HOOK_NONE, CT_HOOK_NONE, false);
}

static void *detach_all(void *arg)
{
	struct ct_session *s = arg;

	while (s->nlinks > 0)
		bpf_link__destroy(s->links[--s->nlinks]);
	return NULL;
}

void ct_session_detach(struct ct_session *s)
{
	sigset_t all, old;

	if (!s->nlinks || s->detaching)
		return;
	/* Signals stay with the main thread, whose waits they must end. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	s->detaching = !pthread_create(&s->detacher, NULL, detach_all, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!s->detaching)
		detach_all(s);
}

void ct_session_detach_wait(struct ct_session *s)
{
	if (!s->detaching)
		return;
	pthread_join(s->detacher, NULL);
	s->detaching = false;
}

void ct_session_stop(struct ct_session *s)
{
	ct_session_detach(s);
	ct_session_detach_wait(s);
	free(s->links);
	s->links = NULL;
	s->links_cap = 0;
	conntrace_bpf__destroy(s->skel);
	s->skel = NULL;
}

int ct_session_socks_fd(const struct ct_session *s)
{
	return bpf_map__fd(s->skel->maps.ct_socks);
}

uint64_t ct_session_stat(const struct ct_session *s, int idx)
{
	int ncpu = libbpf_num_possible_cpus(), fd;
	uint64_t sum = 0, *vals;
	uint32_t key = (uint32_t)idx;

	if (!s->skel || s->owners_only || ncpu <= 0)
		return 0;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return 0;
	fd = bpf_map__fd(s->skel->maps.ct_stats);
	if (!bpf_map_lookup_elem(fd, &key, vals))
		for (int i = 0; i < ncpu; i++)
			sum += vals[i];
	free(vals);
	return sum;
}

struct losses_ctx {
	const struct ct_session *s;
	struct ct_losses *out;
	uint64_t rescued;	/* state transitions the rescue program took */
};

/*
 * Recursion misses of one program; iterators are never skipped. A rescue
 * program's own lose nothing (the first program took those), and what it
 * took is not lost to the first's.
 */
static int add_misses(const struct prog_entry *e, enum ct_prog_group g,
		      void *ctx)
{
	struct losses_ctx *c = ctx;
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	int fd = bpf_program__fd(prog_of(c->s->skel, e));
	uint64_t misses;

	if (g == CT_GROUP_ITER || e->rescue)
		return 0;
	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	/* Kernels before 5.12 fill less of the struct: the rest stays 0. */
	misses = info.recursion_misses;
	if (g == CT_GROUP_STATE) {
		c->out->state_skips += misses;
		misses -= c->rescued < misses ? c->rescued : misses;
	}
	return ct_losses_add_prog(c->out, e->name, g, misses);
}

int ct_session_losses(const struct ct_session *s, struct ct_losses *out)
{
	struct plan pl = plan_of(s, s->state_hook, s->io_hook);
	struct losses_ctx c = { s, out, 0 };
	uint64_t stats[CT_STAT_MAX];

	memset(out, 0, sizeof(*out));
	if (!s->skel || s->owners_only)
		return 0;
	for (int i = 0; i < CT_STAT_MAX; i++)
		stats[i] = ct_session_stat(s, i);
	ct_losses_from_stats(out, stats);
	c.rescued = stats[CT_STAT_RESCUED];
	return for_each_chosen(&pl, add_misses, &c);
}

void ct_session_report_missed(const struct ct_session *s, FILE *f,
			      const char *const what[CT_GROUP_KINDS])
{
	struct ct_losses l;
	char line[160];
	int rc = ct_session_losses(s, &l);

	if (rc)
		fprintf(f, "conntrace: cannot read the programs' recursion misses: %s\n",
			strerror(-rc));
	for (int g = 0; !rc && g < CT_GROUP_KINDS; g++)
		if (what[g] && ct_losses_missed_line(&l, g, what[g], line,
						     sizeof(line)))
			fprintf(f, "conntrace: %s\n", line);
	ct_losses_free(&l);
}

void ct_session_report_rescues(const struct ct_session *s, FILE *f)
{
	struct ct_losses l;
	int rc = ct_session_losses(s, &l);

	if (rc)
		fprintf(f, "conntrace: cannot read the programs' recursion misses: %s\n",
			strerror(-rc));
	else
		fprintf(f, "conntrace: %llu transitions taken by the state hook's second program, of %llu the kernel skipped the first for (recursion)\n",
			(unsigned long long)ct_session_stat(s, CT_STAT_RESCUED),
			(unsigned long long)l.state_skips);
	ct_losses_free(&l);
}

/* The tracepoint of a kind; CT_TEV_TP_MAX for those of the state or accept hook. */
static enum ct_tev_tp tev_tp_of(enum ct_tev_kind k)
{
	for (size_t i = 0; i < ARRAY_SIZE(tev_progs); i++)
		if (tev_progs[i].tev_kinds & CT_TEV_BIT(k))
			return tev_progs[i].tev_tp;
	return CT_TEV_TP_MAX;
}

bool ct_session_tev_missing(const struct ct_session *s, enum ct_tev_kind k,
			    const char **why)
{
	enum ct_tev_tp tp = tev_tp_of(k);

	if (!((s->tev_mask | s->tev_failed) & (1U << k)))
		return false;
	if (k == CT_TEV_ACCEPT_LAT && !s->accept_hook) {
		*why = "the accept hook is not attached";
		return true;
	}
	if (tp == CT_TEV_TP_MAX)
		return false;
	if (ct_tev_hook(&s->probe, tp) == CT_HOOK_NONE) {
		*why = ct_tev_missing_reason(&s->probe, tp);
		return true;
	}
	if (s->tev_failed & (1U << k)) {
		*why = "its program would not load or attach (run with -v for details)";
		return true;
	}
	return false;
}

int ct_session_tev_counts(const struct ct_session *s,
			  struct ct_tev_count out[CT_TEV_KINDS])
{
	int ncpu = libbpf_num_possible_cpus(), fd, err = 0;
	struct ct_tev_count *vals;

	memset(out, 0, sizeof(*out) * CT_TEV_KINDS);
	if (!s->skel || s->owners_only)
		return 0;
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	fd = bpf_map__fd(s->skel->maps.ct_tev_counts);
	for (uint32_t k = 0; !err && k < CT_TEV_KINDS; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals)) {
			err = -errno;
			break;
		}
		for (int i = 0; i < ncpu; i++) {
			out[k].events += vals[i].events;
			out[k].lost += vals[i].lost;
		}
	}
	free(vals);
	return err;
}

unsigned int ct_session_tev_kinds(enum ct_tev_tp tp)
{
	unsigned int kinds = 0;

	for (size_t i = 0; i < ARRAY_SIZE(tev_progs); i++)
		if (tev_progs[i].tev_tp == tp)
			kinds |= tev_progs[i].tev_kinds;
	return kinds;
}

size_t ct_session_tev_programs(enum ct_tev_tp tp, enum ct_hook hook,
			       const char **names, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(tev_progs); i++) {
		if (tev_progs[i].tev_tp != tp || tev_progs[i].hook != hook)
			continue;
		if (n < max)
			names[n] = tev_progs[i].name;
		n++;
	}
	return n;
}

int ct_session_listeners_fd(const struct ct_session *s)
{
	return bpf_map__fd(s->skel->maps.ct_listeners);
}

struct run_ctx {
	const struct ct_session *s;
	ct_run_time_fn fn;
	void *ctx;
};

static int add_run_time(const struct prog_entry *e, enum ct_prog_group g,
			void *ctx)
{
	struct run_ctx *c = ctx;
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	int fd = bpf_program__fd(prog_of(c->s->skel, e));

	(void)g;
	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	c->fn(c->ctx, e->name, info.run_time_ns, info.run_cnt);
	return 0;
}

int ct_session_run_times(const struct ct_session *s, ct_run_time_fn fn,
			 void *ctx)
{
	struct plan pl = plan_of(s, s->state_hook, s->io_hook);
	struct run_ctx c = { s, fn, ctx };

	if (!s->skel || s->owners_only)
		return 0;
	return for_each_chosen(&pl, add_run_time, &c);
}

bool ct_bpf_stats_on(void)
{
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "r");
	int c = f ? fgetc(f) : EOF;

	if (f)
		fclose(f);
	return c != EOF && c != '0';
}
