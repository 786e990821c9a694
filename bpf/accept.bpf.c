// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * The owner of an accepted socket, from the process that accepted it.
 *
 * The syscall tracepoints fire only on accept() and accept4(), so nothing
 * here runs on sends or receives. At the syscall's exit the new descriptor
 * is in the caller's table: its file leads to the socket, whose entry in
 * ct_socks gets the caller as owner, with the descriptor, so the state hook
 * can tell later whether the caller still holds it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "sock.bpf.h"
#include "events.bpf.h"

#define CT_S_IFMT 00170000
#define CT_S_IFSOCK 0140000

/* The socket behind descriptor fd of the current task, or NULL. */
static __always_inline struct sock *fd_sock(int fd, struct files_struct **out)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct files_struct *files = BPF_CORE_READ(task, files);
	struct fdtable *fdt = BPF_CORE_READ(files, fdt);
	struct file **fds, *file = NULL;
	struct socket *sock;

	if ((unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), fds + fd) || !file)
		return NULL;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & CT_S_IFMT) != CT_S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	*out = files;
	return BPF_CORE_READ(sock, sk);
}

static __always_inline void send_accept(__u64 key, const struct ct_sock *s,
					const struct sock *sk)
{
	struct ct_accept *m;

	if (!emit_states)
		return;
	m = bpf_ringbuf_reserve(&ct_events, sizeof(*m), 0);
	if (!m) {
		ct_stat_inc(CT_STAT_ACCEPT_RB_DROPS);
		return;
	}
	m->type = CT_MSG_ACCEPT;
	m->pid = s->owner.pid;
	m->ts_ns = bpf_ktime_get_ns();
	m->skaddr = key;
	m->cookie = s->cookie;
	m->ino = ct_sk_ino(sk);
	__builtin_memcpy(m->comm, s->owner.comm, sizeof(m->comm));
	m->cgroup = s->owner.cgroup;
	bpf_ringbuf_submit(m, ct_rb_flags());
}

static __always_inline int on_accept(long fd)
{
	struct files_struct *files = NULL;
	struct ct_sock *s;
	struct sock *sk;
	__u64 key, cookie;

	if (fd < 0)
		return 0;
	sk = fd_sock(fd, &files);
	if (!sk || !ct_sk_is_tcp_inet(sk))
		return 0;
	key = (__u64)sk;
	s = bpf_map_lookup_elem(&ct_socks, &key);
	/* Unseen (its birth was skipped): the file walk finds the holder. */
	if (!s)
		return 0;
	/* The state hook asked for the cookie, so a set one must match. */
	cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	if (s->cookie && cookie && s->cookie != cookie)
		return 0;
	ct_owner_current(&s->owner, CT_OWNER_ACCEPT);
	s->files = (__u64)files;
	s->fd = fd;
	send_accept(key, s, sk);
	ct_tev_accepted(sk, s);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int ct_accept4_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int ct_accept_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept(ctx->ret);
}
