// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * What goes wrong on a connection: retransmits, resets, and packets the
 * kernel drops, from the tcp: and skb: tracepoints. Each hook has a
 * tp_btf and a raw_tp program; user space loads the one the kernel offers
 * (src/engine/kernel.c) and says which optional arguments it passes.
 *
 * Every one of these runs in softirq or in whichever task sent the
 * packet: the owner comes from the socket's entry (events.bpf.h).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "events.bpf.h"
#include "compat.bpf.h"

#define CT_TCPHDR_SYN 0x02

/* Set by user space from the tracepoints' prototypes in BTF. */
const volatile bool send_reset_reason_arg = false;
const volatile bool kfree_rx_sk_arg = false;

static __always_inline bool is_inet(const struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	return family == CT_AF_INET || family == CT_AF_INET6;
}

static __always_inline __u64 cookie_of(const struct sock *sk)
{
	/* The state hook asked for it at the socket's first transition. */
	return BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
}

/* The socket whose entry holds the owner: a request's is its listener's. */
static __always_inline const struct sock *owner_sock(const struct sock *sk,
						     __u8 state)
{
	if (state == TCP_NEW_SYN_RECV)
		return BPF_CORE_READ(sk, __sk_common.skc_listener);
	return sk;
}

/* A record for sk, with its owner; NULL if not wanted or the ring is full. */
static __always_inline struct ct_tcp_ev *sock_event(__u32 kind,
						    const struct sock *sk)
{
	const struct sock *osk;
	struct ct_tcp_ev *m;

	if (!sk || !is_inet(sk))
		return NULL;
	m = ct_tev_reserve(kind);
	if (!m)
		return NULL;
	ct_tev_sock(m, sk);
	osk = owner_sock(sk, m->state);
	m->cookie = cookie_of(sk);
	ct_tev_owner(m, (__u64)osk, osk == sk ? m->cookie : cookie_of(osk));
	return m;
}

static __always_inline int on_retransmit(const struct sock *sk,
					 const struct sk_buff *skb, int err)
{
	const struct inet_connection_sock *icsk = (const void *)sk;
	struct tcp_skb_cb cb = {};
	struct ct_tcp_ev *m;
	__u8 ca;

	/* Not sent (-EBUSY and the like): the kernel does not count it. */
	if (err)
		return 0;
	m = sock_event(CT_TEV_RETRANS, sk);
	if (!m)
		return 0;
	bpf_core_read(&cb, sizeof(cb), &skb->cb);
	m->seq = cb.seq;
	m->end_seq = cb.end_seq;
	/* tcpi_total_retrans counts segments: a TSO skb is several. */
	m->value = cb.tcp_gso_segs ? cb.tcp_gso_segs : 1;
	if (cb.tcp_flags & CT_TCPHDR_SYN)
		m->flags |= CT_TEV_SYN;
	ca = BPF_CORE_READ_BITFIELD_PROBED(icsk, icsk_ca_state);
	if (ca == TCP_CA_Loss)
		m->flags |= CT_TEV_LOSS_TIMEOUT;
	else if (ca == TCP_CA_Recovery)
		m->flags |= CT_TEV_LOSS_FAST;
	ct_tev_submit(m);
	return 0;
}

static __always_inline int on_synack(const struct sock *listener,
				     const struct request_sock *req)
{
	struct ct_tcp_ev *m = sock_event(CT_TEV_SYNACK_RETRANS,
					 (const struct sock *)req);

	if (!m)
		return 0;
	m->value = 1;
	ct_tev_submit(m);
	return 0;
}

static __always_inline int on_reset(__u32 kind, const struct sock *sk,
				    int reason)
{
	/* A reset for no socket (a SYN to a closed port) has no owner. */
	struct ct_tcp_ev *m = sock_event(kind, sk);

	if (!m)
		return 0;
	m->code = reason;
	ct_tev_submit(m);
	return 0;
}

static __always_inline bool is_tcp_sock(const struct sock *sk)
{
	__u8 state;

	if (!is_inet(sk))
		return false;
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	/* Only TCP has these; they are no full struct sock to read. */
	if (state == TCP_TIME_WAIT || state == TCP_NEW_SYN_RECV)
		return true;
	return BPF_CORE_READ(sk, sk_protocol) == CT_IPPROTO_TCP;
}

/*
 * kfree_skb fires for every packet dropped on the host: the cheap tests
 * (a socket at all, then its family and protocol) come first.
 */
static __always_inline int on_drop(const struct sk_buff *skb,
				   const struct sock *rx_sk, int reason)
{
	const struct sock *sk = rx_sk;
	struct ct_tcp_ev *m;

	if (ct_skb_consumed(reason))
		return 0;
	if (!sk)
		sk = BPF_CORE_READ(skb, sk);
	if (!sk || !is_tcp_sock(sk))
		return 0;
	m = sock_event(CT_TEV_DROP, sk);
	if (!m)
		return 0;
	m->code = reason;
	m->value = 1;
	ct_tev_submit(m);
	return 0;
}

/*
 * The tp_btf programs take the raw context: the optional arguments are
 * read only where the kernel passes them (a read past the prototype fails
 * the verifier, and a load-time constant removes the read).
 */
SEC("tp_btf/tcp_retransmit_skb")
int ct_retrans_btf(__u64 *ctx)
{
	int err = retrans_err_arg ? (int)ctx[2] : 0;

	return on_retransmit((void *)ctx[0], (void *)ctx[1], err);
}

SEC("raw_tp/tcp_retransmit_skb")
int ct_retrans_raw(__u64 *ctx)
{
	int err = retrans_err_arg ? (int)ctx[2] : 0;

	return on_retransmit((void *)ctx[0], (void *)ctx[1], err);
}

SEC("tp_btf/tcp_retransmit_synack")
int ct_synack_btf(__u64 *ctx)
{
	return on_synack((void *)ctx[0], (void *)ctx[1]);
}

SEC("raw_tp/tcp_retransmit_synack")
int ct_synack_raw(__u64 *ctx)
{
	return on_synack((void *)ctx[0], (void *)ctx[1]);
}

SEC("tp_btf/tcp_send_reset")
int ct_rst_sent_btf(__u64 *ctx)
{
	int reason = send_reset_reason_arg ? (int)ctx[2] : -1;

	return on_reset(CT_TEV_RESET_SENT, (void *)ctx[0], reason);
}

SEC("raw_tp/tcp_send_reset")
int ct_rst_sent_raw(__u64 *ctx)
{
	int reason = send_reset_reason_arg ? (int)ctx[2] : -1;

	return on_reset(CT_TEV_RESET_SENT, (void *)ctx[0], reason);
}

SEC("tp_btf/tcp_receive_reset")
int ct_rst_recv_btf(__u64 *ctx)
{
	return on_reset(CT_TEV_RESET_RECV, (void *)ctx[0], -1);
}

SEC("raw_tp/tcp_receive_reset")
int ct_rst_recv_raw(__u64 *ctx)
{
	return on_reset(CT_TEV_RESET_RECV, (void *)ctx[0], -1);
}

SEC("tp_btf/kfree_skb")
int ct_drop_btf(__u64 *ctx)
{
	void *rx_sk = kfree_rx_sk_arg ? (void *)ctx[3] : NULL;

	return on_drop((void *)ctx[0], rx_sk, (int)ctx[2]);
}

SEC("raw_tp/kfree_skb")
int ct_drop_raw(__u64 *ctx)
{
	void *rx_sk = kfree_rx_sk_arg ? (void *)ctx[3] : NULL;

	return on_drop((void *)ctx[0], rx_sk, (int)ctx[2]);
}
