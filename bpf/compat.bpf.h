/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The kernel-side differences between kernel versions, each in one helper
 * named with the version and commit that made it. User space decides
 * which variant a kernel gets (src/engine/kernel.h lists every
 * difference conntrace handles) and sets the load-time values here.
 */
#ifndef CT_COMPAT_BPF_H
#define CT_COMPAT_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/*
 * Linux 5.19, commit ec095263a965 ("net: remove noblock parameter from
 * recvmsg() entities"): tcp_recvmsg(), udp_recvmsg() and udpv6_recvmsg()
 * lost their 'nonblock' argument, so 'flags' moved from the fifth
 * argument to the fourth. User space reads the layout from BTF.
 */
extern const volatile int recv_flags_arg;	/* defined in maps.bpf.c */

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

/*
 * Linux 6.15, commit a3a128f611a9 ("inet: consolidate
 * inet_csk_clone_lock()"): before it, a passive child reports LISTEN ->
 * SYN_RECV from inside the clone of its listener, before its remote
 * address and port, its own local address and its cookie (the request's)
 * are set. The remote port is then still 0, which no connection has: the
 * state hook inherits the owner at once (the listener's address is what
 * that needs) but leaves the cookie unknown and sends the line with the
 * child's next transition, from the same handshake, once all are there.
 */
static __always_inline bool ct_synrecv_addrs_unset(int old, int new,
						   __u16 dport)
{
	return old == TCP_LISTEN && new == TCP_SYN_RECV && !dport;
}

/*
 * enum skb_drop_reason's SKB_CONSUMED (commit not looked up; absent from
 * Debian's 6.1, present in 6.12 and 6.18): since, consume_skb() fires
 * skb:kfree_skb too, with this reason. Before, it fires only
 * skb:consume_skb, so nothing on kfree_skb is a consumed buffer; and a
 * program that names the value is refused there (the CO-RE relocation
 * fails), which took every event hook of its object down with it.
 */
static __always_inline bool ct_skb_consumed(int reason)
{
	return bpf_core_enum_value_exists(enum skb_drop_reason, SKB_CONSUMED) &&
	       reason == bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED);
}

#endif /* CT_COMPAT_BPF_H */
