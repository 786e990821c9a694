// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conntrace.h"
#include "conntrace.skel.h"
#include "engine/tracefs.h"

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

static bool is_state_prog(const struct bpf_program *p)
{
	return strstr(bpf_program__section_name(p), "inet_sock_set_state");
}

static bool is_iter_prog(const struct bpf_program *p)
{
	return !strncmp(bpf_program__section_name(p), "iter/", 5);
}

static bool is_storage_iter(const struct bpf_program *p)
{
	return strstr(bpf_program__section_name(p), "sk_storage") != NULL;
}

/* Whether a program belongs to the chosen pair of hooks. */
static bool prog_chosen(const struct ct_loader *l, const struct bpf_program *p,
			enum ct_hook state, enum ct_hook io)
{
	enum ct_hook h = ct_prog_hook(bpf_program__section_name(p));

	if (l->owners_only)
		return p == l->skel->progs.ct_owner_files;
	if (is_iter_prog(p))
		return !is_storage_iter(p) || l->sk_storage;
	if (is_state_prog(p))
		return h == state;
	return h == io && io != CT_HOOK_NONE &&
	       ct_io_prog_wanted(bpf_program__name(p), h, &l->probe.fn);
}

static void configure(struct ct_loader *l, const struct ct_load_opts *o,
		      enum ct_hook state, enum ct_hook io)
{
	struct conntrace_bpf *s = l->skel;
	struct bpf_program *p;

	struct bpf_map *m;

	bpf_object__for_each_program(p, s->obj)
		bpf_program__set_autoload(p, prog_chosen(l, p, state, io));
	/* The owner walk writes to its seq_file only: maps would be waste. */
	bpf_object__for_each_map(m, s->obj)
		if (l->owners_only && !bpf_map__is_internal(m))
			bpf_map__set_autocreate(m, false);
	s->rodata->filter_pid = o->filter.pid;
	s->rodata->filter_port = o->filter.port;
	s->rodata->filter_family = o->filter.family;
	memcpy((char *)s->rodata->filter_comm, o->filter.comm,
	       sizeof(s->rodata->filter_comm));
	s->rodata->count_bytes = o->count_bytes;
	s->rodata->use_sk_storage = l->sk_storage;
	/* top reads counters, not transitions: keep the ring buffer for closes. */
	s->rodata->emit_states = !o->count_bytes;
	s->rodata->recv_flags_arg = l->probe.fn.recv_has_nonblock ? 5 : 4;
	if (o->max_conns)
		bpf_map__set_max_entries(s->maps.ct_conns, o->max_conns);
}

static int attach_chosen(struct ct_loader *l)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, l->skel->obj) {
		struct bpf_link *link;

		if (!bpf_program__autoload(p) || is_iter_prog(p))
			continue;
		if (l->nlinks == CT_MAX_LINKS)
			return -E2BIG;
		link = bpf_program__attach(p);
		if (!link)
			return -errno;
		l->links[l->nlinks++] = link;
	}
	return 0;
}

int ct_loader_try(struct ct_loader *l, const struct ct_load_opts *o,
		  enum ct_hook state, enum ct_hook io, bool attach)
{
	int err = 0;

	if (attach && (state == CT_HOOK_TRACEPOINT || io == CT_HOOK_TRACEPOINT))
		err = ct_tracefs_ensure();
	if (err)
		return err;
	l->skel = conntrace_bpf__open();
	if (!l->skel)
		return -errno;
	configure(l, o, state, io);
	err = conntrace_bpf__load(l->skel);
	if (!err && attach)
		err = attach_chosen(l);
	if (err) {
		ct_loader_stop(l);
		return err;
	}
	l->state_hook = state;
	l->io_hook = io;
	return 0;
}

/* Socket storage first where it can work, as it is the cheaper path. */
static int try_pair(struct ct_loader *l, const struct ct_load_opts *o,
		    enum ct_hook state, enum ct_hook io)
{
	if (o->count_bytes && ct_sk_storage_usable(&l->probe, state, io)) {
		l->sk_storage = true;
		if (!ct_loader_try(l, o, state, io, true))
			return 0;
	}
	l->sk_storage = false;
	return ct_loader_try(l, o, state, io, true);
}

int ct_loader_start(struct ct_loader *l, const struct ct_load_opts *o,
		    char *err, size_t errlen)
{
	enum ct_hook states[CT_HOOK_MAX_CHOICES], ios[CT_IO_HOOK_MAX_CHOICES];
	int ns, ni, rc;

	memset(l, 0, sizeof(*l));
	rc = ct_probe_kernel(&l->probe);
	if (rc) {
		snprintf(err, errlen,
			 "kernel BTF not available (/sys/kernel/btf/vmlinux): %s",
			 strerror(-rc));
		return rc;
	}
	ns = ct_hook_choices(l->probe.btf, &l->probe.state, states);
	ni = ct_io_hook_choices(&l->probe, ios);
	/* Byte accounting is the point of `top`: no I/O hook, no start. */
	if (o->count_bytes)
		ni--;
	rc = -ENOENT;
	for (int i = 0; i < ns; i++)
		for (int j = 0; j < ni; j++)
			if (!(rc = try_pair(l, o, states[i], ios[j])))
				return 0;
	if (ns == 0)
		snprintf(err, errlen,
			 "this kernel has no sock:inet_sock_set_state tracepoint");
	else if (o->count_bytes && ni == 0)
		snprintf(err, errlen,
			 "this kernel offers no hook on socket sends and receives");
	else
		snprintf(err, errlen,
			 "cannot load or attach the kernel hooks (last error: %s; run with -v for details)",
			 strerror(-rc));
	return rc;
}

int ct_loader_open_iter(struct ct_loader *l)
{
	struct ct_load_opts o = { 0 };

	memset(l, 0, sizeof(*l));
	l->owners_only = true;
	return ct_loader_try(l, &o, CT_HOOK_NONE, CT_HOOK_NONE, false);
}

void ct_loader_stop(struct ct_loader *l)
{
	while (l->nlinks > 0)
		bpf_link__destroy(l->links[--l->nlinks]);
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
