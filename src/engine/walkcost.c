// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/walkcost.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/*
 * Measured with tools/bench_ls.py on a 2-core VM (Linux 6.18, libbpf
 * 1.1): loading the kernel walk costs 70-95 ms before it reads a file,
 * most of it libbpf reading and parsing the kernel's 5.5 MB of BTF (1,359
 * page-sized reads); it then costs well under 1 us a descriptor. /proc
 * costs about 100 us a process (opendir, readdir, comm, and its other
 * descriptors) and 5 us a socket descriptor (readlink). In microseconds.
 */
#define BPF_FIXED_US	70000
#define BPF_PER_SOCK_US	1
#define PROC_PER_PROC_US 100
#define PROC_PER_SOCK_US 5

size_t ct_sockets_in_use(void)
{
	unsigned long n = 0;
	FILE *f = fopen("/proc/net/sockstat", "r");

	if (f) {
		if (fscanf(f, "sockets: used %lu", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n;
}

size_t ct_count_procs(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (isdigit((unsigned char)de->d_name[0]))
			n++;
	closedir(d);
	return n;
}

bool ct_proc_walk_cheaper(size_t procs, size_t sockets)
{
	unsigned long long proc_us, bpf_us;

	proc_us = (unsigned long long)procs * PROC_PER_PROC_US +
		  (unsigned long long)sockets * PROC_PER_SOCK_US;
	bpf_us = BPF_FIXED_US + (unsigned long long)sockets * BPF_PER_SOCK_US;
	return proc_us < bpf_us;
}

int ct_walk_from_env(const char *value)
{
	if (!value || !*value || !strcmp(value, "auto"))
		return CT_WALK_AUTO;
	if (!strcmp(value, "proc"))
		return CT_WALK_PROC;
	if (!strcmp(value, "bpf"))
		return CT_WALK_BPF;
	return -EINVAL;
}
