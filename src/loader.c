// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conntrace.h"
#include "conntrace.skel.h"
#include "tracefs.h"

static bool verbose;

static int print_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list args)
{
	(void)level;
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

void ct_loader_set_verbose(bool v)
{
	verbose = v;
	libbpf_set_print(print_libbpf);
}

/* The programs that implement one hook kind for one concern. */
struct hook_progs {
	struct bpf_program *p[2];
};

static struct hook_progs state_progs(struct conntrace_bpf *s, enum ct_hook h)
{
	switch (h) {
	case CT_HOOK_TP_BTF:
		return (struct hook_progs){ { s->progs.ct_state_btf } };
	case CT_HOOK_RAW_TP:
		return (struct hook_progs){ { s->progs.ct_state_raw } };
	case CT_HOOK_TRACEPOINT:
		return (struct hook_progs){ { s->progs.ct_state_tp } };
	default:
		return (struct hook_progs){ { NULL } };
	}
}

static struct hook_progs io_progs(struct conntrace_bpf *s, enum ct_hook h)
{
	switch (h) {
	case CT_HOOK_TP_BTF:
		return (struct hook_progs){ { s->progs.ct_send_btf, s->progs.ct_recv_btf } };
	case CT_HOOK_RAW_TP:
		return (struct hook_progs){ { s->progs.ct_send_raw, s->progs.ct_recv_raw } };
	case CT_HOOK_TRACEPOINT:
		return (struct hook_progs){ { s->progs.ct_send_tp, s->progs.ct_recv_tp } };
	default:
		return (struct hook_progs){ { NULL } };
	}
}

static void set_autoload(struct hook_progs hp, bool on)
{
	for (int i = 0; i < 2; i++)
		if (hp.p[i])
			bpf_program__set_autoload(hp.p[i], on);
}

static void select_hooks(struct conntrace_bpf *s, enum ct_hook state,
			 enum ct_hook io)
{
	static const enum ct_hook all[] = { CT_HOOK_TP_BTF, CT_HOOK_RAW_TP,
					    CT_HOOK_TRACEPOINT };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		set_autoload(state_progs(s, all[i]), all[i] == state);
		set_autoload(io_progs(s, all[i]), all[i] == io);
	}
}

static void set_filters(struct conntrace_bpf *s, const struct ct_kfilter *f)
{
	s->rodata->filter_pid = f->pid;
	s->rodata->filter_port = f->port;
	s->rodata->filter_family = f->family;
	memcpy((char *)s->rodata->filter_comm, f->comm,
	       sizeof(s->rodata->filter_comm));
}

static int attach_progs(struct ct_loader *l, struct hook_progs hp)
{
	for (int i = 0; i < 2; i++) {
		struct bpf_link *link;

		if (!hp.p[i])
			continue;
		link = bpf_program__attach(hp.p[i]);
		if (!link)
			return -errno;
		l->links[l->nlinks++] = link;
	}
	return 0;
}

static void detach_all(struct ct_loader *l)
{
	while (l->nlinks > 0)
		bpf_link__destroy(l->links[--l->nlinks]);
}

/* One attempt with one combination of hooks; cleans up after itself. */
static int try_hooks(struct ct_loader *l, const struct ct_kfilter *f,
		     enum ct_hook state, enum ct_hook io)
{
	int err;

	if ((state == CT_HOOK_TRACEPOINT || io == CT_HOOK_TRACEPOINT) &&
	    (err = ct_tracefs_ensure()))
		return err;
	l->skel = conntrace_bpf__open();
	if (!l->skel)
		return -errno;
	select_hooks(l->skel, state, io);
	set_filters(l->skel, f);
	err = conntrace_bpf__load(l->skel);
	if (!err)
		err = attach_progs(l, state_progs(l->skel, state));
	if (!err)
		err = attach_progs(l, io_progs(l->skel, io));
	if (err) {
		ct_loader_stop(l);
		return err;
	}
	l->state_hook = state;
	l->io_hook = io;
	return 0;
}

int ct_loader_start(struct ct_loader *l, const struct ct_kfilter *f, char *err,
		    size_t errlen)
{
	enum ct_hook states[CT_HOOK_MAX_CHOICES], ios[CT_HOOK_MAX_CHOICES + 1];
	struct ct_probe probe;
	int ns, ni, rc;

	memset(l, 0, sizeof(*l));
	rc = ct_probe_kernel(&probe);
	if (rc) {
		snprintf(err, errlen,
			 "kernel BTF not available (/sys/kernel/btf/vmlinux): %s",
			 strerror(-rc));
		return rc;
	}
	ns = ct_hook_choices(probe.btf, &probe.state, states);
	ni = ct_hook_choices(probe.btf, &probe.io, ios);
	/* Owners still work without the I/O hooks, just less precisely. */
	ios[ni++] = CT_HOOK_NONE;
	rc = -ENOENT;
	for (int i = 0; i < ns; i++)
		for (int j = 0; j < ni; j++)
			if (!(rc = try_hooks(l, f, states[i], ios[j])))
				return 0;
	if (ns == 0)
		snprintf(err, errlen,
			 "this kernel has no sock:inet_sock_set_state tracepoint");
	else
		snprintf(err, errlen,
			 "cannot load or attach the TCP state hook (last error: %s; run with -v for details)",
			 strerror(-rc));
	return rc;
}

void ct_loader_stop(struct ct_loader *l)
{
	detach_all(l);
	conntrace_bpf__destroy(l->skel);
	l->skel = NULL;
}

uint64_t ct_loader_stat(const struct ct_loader *l, int idx)
{
	int ncpu = libbpf_num_possible_cpus(), fd;
	uint64_t sum = 0, *vals;
	uint32_t key = (uint32_t)idx;

	if (!l->skel || ncpu <= 0)
		return 0;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return 0;
	fd = bpf_map__fd(l->skel->maps.ct_stats);
	if (!bpf_map_lookup_elem(fd, &key, vals))
		for (int i = 0; i < ncpu; i++)
			sum += vals[i];
	free(vals);
	return sum;
}
