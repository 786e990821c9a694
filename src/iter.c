// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "iter.h"

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

/* Reads whole records; a read() may end in the middle of one. */
static int read_records(int fd, size_t recsize, ct_record_fn fn, void *ctx)
{
	char *rec = malloc(recsize);
	size_t have = 0;
	ssize_t n;
	int err = 0;

	if (!rec)
		return -ENOMEM;
	while ((n = read(fd, rec + have, recsize - have)) > 0) {
		have += (size_t)n;
		if (have < recsize)
			continue;
		have = 0;
		if ((err = fn(rec, ctx)))
			break;
	}
	if (n < 0 && !err)
		err = -errno;
	free(rec);
	return err;
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
