// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/iter.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct bpf_link *attach(struct bpf_program *prog, int map_fd)
{
	union bpf_iter_link_info info;
	LIBBPF_OPTS(bpf_iter_attach_opts, opts);

	if (map_fd < 0)
		return bpf_program__attach_iter(prog, NULL);
	memset(&info, 0, sizeof(info));
	info.map.map_fd = (__u32)map_fd;
	opts.link_info = &info;
	opts.link_info_len = sizeof(info);
	return bpf_program__attach_iter(prog, &opts);
}

/* Big reads: one read() per record costs more than the walk itself. */
#define ITER_BUF (64 * 1024)

/* Calls fn on each whole record; a read() may end in the middle of one. */
static int read_records(int fd, size_t recsize, ct_record_fn fn, void *ctx)
{
	size_t cap = ITER_BUF - ITER_BUF % recsize, have = 0, done;
	char *buf = malloc(cap);
	ssize_t n;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	while (!err && (n = read(fd, buf + have, cap - have)) != 0) {
		/*
		 * The kernel gives up a read after a million objects that wrote
		 * nothing, and the next read goes on from there.
		 */
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n < 0)
			break;
		have += (size_t)n;
		for (done = 0; !err && have - done >= recsize; done += recsize)
			err = fn(buf + done, ctx);
		memmove(buf, buf + done, have - done);
		have -= done;
	}
	if (n < 0 && !err)
		err = -errno;
	free(buf);
	return err;
}

int ct_iter_read_fd(int fd, size_t recsize, ct_record_fn fn, void *ctx)
{
	return read_records(fd, recsize, fn, ctx);
}

int ct_iter_read(struct bpf_program *prog, int map_fd, size_t recsize,
		 ct_record_fn fn, void *ctx)
{
	struct bpf_link *link = attach(prog, map_fd);
	int fd, err;

	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = -errno;
		bpf_link__destroy(link);
		return err;
	}
	err = read_records(fd, recsize, fn, ctx);
	close(fd);
	bpf_link__destroy(link);
	return err;
}
