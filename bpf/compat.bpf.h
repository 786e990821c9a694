/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The kernel-side differences between kernel versions, each in one helper
 * named with the version and commit that made it. User space decides
 * which variant a kernel gets (src/engine/kernel.h lists every
 * difference conntrace handles) and sets the load-time values here.
 */
#ifndef CT_COMPAT_BPF_H
#define CT_COMPAT_BPF_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/*
 * Linux 5.19, commit ec095263a965 ("net: remove noblock parameter from
 * recvmsg() entities"): tcp_recvmsg(), udp_recvmsg() and udpv6_recvmsg()
 * lost their 'nonblock' argument, so 'flags' moved from the fifth
 * argument to the fourth. User space reads the layout from BTF.
 */
const volatile int recv_flags_arg = 4;

/* The arguments of recvmsg() as fexit sees them, since 5.19... */
#define CT_RECVMSG_PARAMS						\
	struct sock *sk, struct msghdr *msg, size_t len, int flags,	\
	int *addr_len, int ret
/* ...and before. */
#define CT_RECVMSG_PARAMS_NONBLOCK					\
	struct sock *sk, struct msghdr *msg, size_t len, int nonblock,	\
	int flags, int *addr_len, int ret

/* recvmsg()'s flags at a kprobe, on either layout. */
static __always_inline int ct_kprobe_recv_flags(struct pt_regs *ctx)
{
	/* Both read unconditionally: a computed ctx offset fails the verifier. */
	long p4 = PT_REGS_PARM4(ctx), p5 = PT_REGS_PARM5(ctx);

	barrier_var(p4);
	barrier_var(p5);
	return recv_flags_arg == 5 ? p5 : p4;
}

#endif /* CT_COMPAT_BPF_H */
