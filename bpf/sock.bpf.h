/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/* Small readers of struct sock shared by the .bpf.c files. */
#ifndef CT_SOCK_BPF_H
#define CT_SOCK_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "maps.bpf.h"

#define CT_AF_INET 2
#define CT_AF_INET6 10
#define CT_IPPROTO_TCP 6
#define CT_IPPROTO_UDP 17

/*
 * One field of a kernel struct: a direct load where the pointer is typed
 * (tp_btf: the verifier knows its BTF type), a CO-RE probe read where it is
 * a plain number (raw_tp, tracepoint, iterators' walks). `typed` is a
 * constant wherever this is inlined, so only one side is compiled.
 */
#define CT_RD(typed, p, field) ((typed) ? (p)->field : BPF_CORE_READ(p, field))

static __always_inline void ct_stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&ct_stats, &idx);

	/*
	 * Atomic although per CPU: the state hook's second program runs nested
	 * in the first on the same CPU, and a plain increment lost counts.
	 */
	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline __u32 ct_sk_netns_typed(const struct sock *sk, bool typed)
{
	if (typed)
		return sk->__sk_common.skc_net.net->ns.inum;
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

static __always_inline __u32 ct_sk_netns(const struct sock *sk)
{
	return ct_sk_netns_typed(sk, false);
}

/* An IPv4 or IPv6 TCP or UDP socket; *proto says which. */
static __always_inline bool ct_sk_is_inet(const struct sock *sk, __u8 *proto)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	if (family != CT_AF_INET && family != CT_AF_INET6)
		return false;
	*proto = BPF_CORE_READ(sk, sk_protocol);
	return *proto == CT_IPPROTO_TCP || *proto == CT_IPPROTO_UDP;
}

static __always_inline bool ct_sk_is_tcp_inet(const struct sock *sk)
{
	__u8 proto;

	return ct_sk_is_inet(sk, &proto) && proto == CT_IPPROTO_TCP;
}

/* Copies the local address into a 16-byte buffer (IPv4 in the first 4). */
/* Both ends' addresses into 16-byte buffers (IPv4 in the first 4). */
static __always_inline void ct_sk_addrs_typed(const struct sock *sk,
					      __u16 family, __u8 *saddr,
					      __u8 *daddr)
{
	const struct sock_common *c = &sk->__sk_common;

	if (family == CT_AF_INET) {
		*(__u32 *)saddr = c->skc_rcv_saddr;
		*(__u32 *)daddr = c->skc_daddr;
		return;
	}
	__builtin_memcpy(saddr, &c->skc_v6_rcv_saddr, 16);
	__builtin_memcpy(daddr, &c->skc_v6_daddr, 16);
}

/* Copies the local address into a 16-byte buffer (IPv4 in the first 4). */
static __always_inline void ct_sk_saddr(const struct sock *sk, __u16 family,
					__u8 *addr)
{
	if (family == CT_AF_INET)
		bpf_core_read(addr, 4, &sk->__sk_common.skc_rcv_saddr);
	else
		bpf_core_read(addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
}

static __always_inline void ct_sk_daddr(const struct sock *sk, __u16 family,
					__u8 *addr)
{
	if (family == CT_AF_INET)
		bpf_core_read(addr, 4, &sk->__sk_common.skc_daddr);
	else
		bpf_core_read(addr, 16, &sk->__sk_common.skc_v6_daddr);
}

/* Inode number of the socket's file, which is how user space finds holders. */
static __always_inline __u64 ct_sk_ino_typed(const struct sock *sk, bool typed)
{
	struct socket *sock = CT_RD(typed, sk, sk_socket);
	struct socket_alloc *sa;

	if (!sock)
		return 0;
	/* Typed loads must stay inside struct socket: go through its file. */
	if (typed)
		return sock->file ? sock->file->f_inode->i_ino : 0;
	sa = container_of(sock, struct socket_alloc, socket);
	return BPF_CORE_READ(sa, vfs_inode.i_ino);
}

static __always_inline __u64 ct_sk_ino(const struct sock *sk)
{
	return ct_sk_ino_typed(sk, false);
}

static __always_inline void ct_owner_current(struct ct_owner *o, __u8 src)
{
	o->pid = bpf_get_current_pid_tgid() >> 32;
	o->src = src;
	bpf_get_current_comm(o->comm, sizeof(o->comm));
	o->cgroup = bpf_get_current_cgroup_id();
}

/*
 * The cgroup v2 id of a task other than the current one, read the way
 * bpf_get_current_cgroup_id() reads it: the kernfs id of its cgroup on the
 * default hierarchy. kernfs_node.id is a plain u64 since Linux 5.5 (see
 * src/engine/kernel.h); on 64-bit machines it is the directory's inode.
 */
static __always_inline __u64 ct_task_cgroup(const struct task_struct *task)
{
	return BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
}

#endif /* CT_SOCK_BPF_H */
