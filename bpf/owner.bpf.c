// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * ct_seed_files walks every open file of every task once, so sockets that
 * existed before conntrace started, and accepted sockets that have seen no
 * I/O yet, can be given the process that holds them.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "sock.bpf.h"

#define CT_S_IFMT 00170000
#define CT_S_IFSOCK 0140000

/* Only socket files' inodes and holders: what an owner lookup needs. */
SEC("iter/task_file")
int ct_owner_files(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct ct_holder_rec rec = {};
	struct inode *inode;

	if (!task || !file)
		return 0;
	inode = file->f_inode;
	if (!inode || (inode->i_mode & CT_S_IFMT) != CT_S_IFSOCK)
		return 0;
	rec.ino = inode->i_ino;
	rec.pid = task->tgid;
	__builtin_memcpy(rec.comm, task->comm, sizeof(rec.comm));
	rec.cgroup = ct_task_cgroup(task);
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}

SEC("iter/task_file")
int ct_seed_files(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct ct_seed rec = {};
	struct socket *sock;
	struct sock *sk;

	if (!task || !file)
		return 0;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & CT_S_IFMT) != CT_S_IFSOCK)
		return 0;
	sock = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || !ct_sk_is_inet(sk, &rec.proto))
		return 0;

	rec.skaddr = (__u64)sk;
	rec.ino = BPF_CORE_READ(file, f_inode, i_ino);
	rec.pid = BPF_CORE_READ(task, tgid);
	rec.netns = ct_sk_netns(sk);
	rec.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	rec.sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	rec.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	ct_sk_saddr(sk, rec.family, rec.saddr);
	BPF_CORE_READ_STR_INTO(&rec.comm, task, comm);
	rec.cgroup = ct_task_cgroup(task);
	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}
