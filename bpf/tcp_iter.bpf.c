// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * ct_tcp_counters: every TCP socket of one network namespace, with the
 * kernel's own byte counters, read once per refresh of `top`. Nothing runs
 * per send or receive: the kernel counts every byte anyway, and this reads
 * the counts where they are.
 *
 * The owner the state hook recorded is joined here, in the kernel, so user
 * space gets one record per socket and does no lookup of its own.
 * Time-wait and request sockets are no full sockets and carry no counters:
 * a connection's last counts come with its CLOSE transition instead.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "sock.bpf.h"

/*
 * Sockets of the walk under way by state, idle ones included, counted here
 * so that a walk that skips idle sockets still tells how many there are
 * (export's gauge) without a record for each. User space zeroes it before
 * a walk; walks of one process never overlap, so a plain add is enough.
 */
__u32 ct_walk_states[CT_WALK_STATES] = {};

static __always_inline void fill_counters(struct ct_tcp_seqs *c,
					  const struct tcp_sock *tp)
{
	c->bytes_acked = tp->bytes_acked;
	c->bytes_received = tp->bytes_received;
	c->write_seq = tp->write_seq;
	c->snd_una = tp->snd_una;
	c->copied_seq = tp->copied_seq;
	c->rcv_nxt = tp->rcv_nxt;
}

static __always_inline void join_owner(struct ct_tcp_rec *r)
{
	struct ct_sock *s = bpf_map_lookup_elem(&ct_socks, &r->skaddr);

	if (!s)
		return;
	r->owner = s->owner;
	r->born_ns = s->born_ns;
	r->origin = s->origin;
}

SEC("iter/tcp")
int ct_tcp_counters(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct ct_tcp_rec r = {};
	struct tcp_sock *tp;
	struct sock *sk;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	sk = (struct sock *)tp;
	r.state = skc->skc_state;
	if (r.state < CT_WALK_STATES)
		ct_walk_states[r.state]++;
	/*
	 * No data either way (bytes_sent counts data only, not SYN or FIN)
	 * and nothing in flight: its payload is 0 and user space would drop
	 * it, so the owner lookup and the copy are saved for idle sockets.
	 */
	if (!walk_idle && r.state != TCP_LISTEN && !tp->bytes_sent &&
	    !tp->bytes_received && tp->write_seq == tp->snd_una)
		return 0;
	r.skaddr = (__u64)sk;
	r.family = skc->skc_family;
	r.sport = skc->skc_num;
	r.dport = bpf_ntohs(skc->skc_dport);
	/* A typed socket: direct loads, no probe reads (a third of the walk). */
	r.netns = ct_sk_netns_typed(sk, true);
	ct_sk_addrs_typed(sk, r.family, r.saddr, r.daddr);
	if (r.state != TCP_LISTEN) {
		fill_counters(&r.tcp, tp);
		/*
		 * The walk holds the socket's lock here (see kernel.h), as the
		 * retransmit hook does: an event stamped before read_ns is in
		 * total_retrans, one stamped after is not.
		 */
		r.total_retrans = tp->total_retrans;
		r.read_ns = bpf_ktime_get_ns();
		r.flags |= CT_EV_TOTAL_RETRANS;
	}
	r.ino = ct_sk_ino_typed(sk, true);
	if (r.ino)
		r.flags |= CT_EV_HAS_FILE;
	/* close() sets RCV_SHUTDOWN too; only tcp_fin() sets SOCK_DONE. */
	if (skc->skc_flags & (1UL << SOCK_DONE))
		r.flags |= CT_EV_PEER_FIN;
	if (sk->sk_err)
		r.flags |= CT_EV_SK_ERROR;
	join_owner(&r);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
