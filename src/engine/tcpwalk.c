// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/tcpwalk.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conntrace.h"
#include "conntrace.skel.h"
#include "engine/netns.h"

#define MAX_NETNS 1024

struct make_iter {
	int link_fd;
	int fd;
};

/* The iterator walks the namespace of the task that makes it. */
static int make_iter(void *arg)
{
	struct make_iter *m = arg;

	m->fd = bpf_iter_create(m->link_fd);
	return m->fd < 0 ? -errno : 0;
}

int ct_tcp_walk_netns(struct bpf_link *tcp_iter, uint32_t netns,
		      ct_record_fn fn, void *ctx)
{
	struct make_iter m = { bpf_link__fd(tcp_iter), -1 };
	int err = ct_netns_run(netns, make_iter, &m);

	/* Gone since the namespace list was made: nothing to count there. */
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	err = ct_iter_read_fd(m.fd, sizeof(struct ct_tcp_rec), fn, ctx);
	close(m.fd);
	return err;
}

int ct_tcp_walk(struct bpf_link *tcp_iter, ct_record_fn fn, void *ctx)
{
	uint32_t ns[MAX_NETNS];
	int n = ct_netns_all(ns, MAX_NETNS), err = 0;

	for (int i = 0; !err && i < n; i++)
		err = ct_tcp_walk_netns(tcp_iter, ns[i], fn, ctx);
	return err;
}

int ct_tcp_walk_attach(struct conntrace_bpf *skel, struct bpf_link **out,
		       char *err, size_t errlen)
{
	int rc;

	*out = bpf_program__attach_iter(skel->progs.ct_tcp_counters, NULL);
	if (*out)
		return 0;
	rc = -errno;
	snprintf(err, errlen, "cannot walk the TCP sockets (iter/tcp): %s",
		 strerror(-rc));
	return rc;
}
