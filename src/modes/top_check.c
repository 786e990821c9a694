// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/top_check.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "engine/payload.h"
#include "engine/sockdump.h"
#include "lib/u64map.h"

/* All states but LISTEN and the mini-sockets, which have no tcp_info. */
#define CHECK_STATES (0xfffu & ~((1u << 10) | (1u << 6) | (1u << 12)))

struct kside {
	struct ct_sockrec r;
	uint64_t moved[2];	/* by the processes: see top_check.h */
};

static uint64_t tuple_key(uint32_t netns, int family, const uint8_t *saddr,
			  uint16_t sport, const uint8_t *daddr, uint16_t dport)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	uint8_t buf[4 + 1 + 16 + 2 + 16 + 2];

	memcpy(buf, &netns, 4);
	buf[4] = (uint8_t)family;
	memcpy(buf + 5, saddr, 16);
	memcpy(buf + 21, &sport, 2);
	memcpy(buf + 23, daddr, 16);
	memcpy(buf + 39, &dport, 2);
	for (size_t i = 0; i < sizeof(buf); i++)
		h = (h ^ buf[i]) * 0x100000001b3ULL;
	return h ? h : 1;
}

static bool same_tuple(const struct ct_sockrec *r, const struct ct_share *s)
{
	return r->netns == s->k.netns && r->family == s->k.family &&
	       r->sport == s->k.sport && r->dport == s->k.dport &&
	       !memcmp(r->saddr, s->k.saddr, 16) &&
	       !memcmp(r->daddr, s->k.daddr, 16);
}

static int on_kernel(const struct ct_sockrec *r, void *ctx)
{
	struct kside *k = u64map_put(ctx, tuple_key(r->netns, r->family,
						    r->saddr, r->sport,
						    r->daddr, r->dport), NULL);
	uint64_t tx, rx;

	if (!k)
		return -ENOMEM;
	ct_sockrec_payload(r, &tx, &rx);
	k->r = *r;
	k->moved[CT_TX] = tx + r->wqueue;
	k->moved[CT_RX] = rx > r->rqueue ? rx - r->rqueue : 0;
	return 0;
}

static bool open_tcp(const struct ct_share *s)
{
	return !s->closed_ns && s->k.proto == IPPROTO_TCP;
}

static int dump_namespaces(struct ct_acct *a, struct ct_diag *d,
			   struct u64map *kernel)
{
	struct u64map seen;
	int rc = u64map_init(&seen, 1);

	for (size_t i = 0; !rc && i < a->nshares; i++) {
		uint32_t ns = a->shares[i].k.netns;
		struct mnl_socket *nl;
		int created;

		if (!open_tcp(&a->shares[i]) ||
		    !u64map_put(&seen, (uint64_t)ns + 1, &created) || !created)
			continue;
		nl = ct_diag_sock(d, ns);
		if (nl)
			rc = ct_sockdump_tcp(nl, ns, 0, CHECK_STATES, 0, on_kernel,
					     kernel);
	}
	u64map_free(&seen);
	return rc;
}

/* Shares are sorted by socket: one run of them is one socket's processes. */
static void check_socket(struct ct_share *s, size_t n, const struct kside *k)
{
	uint64_t ours[2] = { 0, 0 };

	for (size_t i = 0; i < n; i++)
		for (int d = 0; d < 2; d++)
			ours[d] += s[i].total[d];
	for (size_t i = 0; i < n; i++) {
		s[i].checked = k && same_tuple(&k->r, &s[i]);
		if (!s[i].checked)
			continue;
		memcpy(s[i].kernel, k->moved, sizeof(s[i].kernel));
		s[i].check_ok = ours[CT_TX] == k->moved[CT_TX] &&
				ours[CT_RX] == k->moved[CT_RX];
	}
}

int ct_top_check(struct ct_acct *a, struct ct_diag *d)
{
	struct u64map kernel;
	int rc = u64map_init(&kernel, sizeof(struct kside));

	if (!rc)
		rc = dump_namespaces(a, d, &kernel);
	for (size_t i = 0, j; !rc && i < a->nshares; i = j) {
		const struct ct_share *s = &a->shares[i];
		const struct kside *k = u64map_get(&kernel,
			tuple_key(s->k.netns, s->k.family, s->k.saddr,
				  s->k.sport, s->k.daddr, s->k.dport));

		for (j = i; j < a->nshares && open_tcp(&a->shares[j]) &&
			    a->shares[j].key.skaddr == s->key.skaddr; j++)
			;
		if (j == i) {
			a->shares[j++].checked = false;
			continue;
		}
		check_socket(&a->shares[i], j - i, k);
	}
	u64map_free(&kernel);
	return rc;
}
