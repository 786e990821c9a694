// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * make bench only: attaches the empty programs of bench_floor.bpf.c, says
 * "ready" on stderr, and detaches them on SIGINT or SIGTERM.
 * Usage: bench_floor OBJECT
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_LINKS 4

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int attach_all(struct bpf_object *obj, struct bpf_link **links, int *n)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj) {
		if (*n == MAX_LINKS)
			return -E2BIG;
		links[*n] = bpf_program__attach(p);
		if (!links[*n])
			return -errno;
		(*n)++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_link *links[MAX_LINKS];
	struct bpf_object *obj;
	int n = 0, err;

	if (argc != 2) {
		fprintf(stderr, "usage: bench_floor OBJECT\n");
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "bench_floor: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	err = bpf_object__load(obj);
	if (!err)
		err = attach_all(obj, links, &n);
	if (err) {
		fprintf(stderr, "bench_floor: load or attach: %s\n", strerror(-err));
	} else {
		fprintf(stderr, "bench_floor: ready\n");
		while (!stop)
			pause();
	}
	while (n > 0)
		bpf_link__destroy(links[--n]);
	bpf_object__close(obj);
	return err ? 1 : 0;
}
