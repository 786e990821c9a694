// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * make bench only: programs that do nothing, on the hooks conntrace counts
 * bytes with. What they cost is the least any program there can cost: the
 * kernel's dispatch of the tracepoint to BPF. conntrace's own cost is what
 * it adds on top.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/sock_send_length")
int BPF_PROG(ct_floor_send, struct sock *sk, int ret, int flags)
{
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(ct_floor_recv, struct sock *sk, int ret, int flags)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
