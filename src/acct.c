// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "acct.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

const unsigned ct_window_s[CT_WINDOWS] = { 2, 10, 40 };

#define NS 1000000000ULL
#ifndef ENOTSUPP
#define ENOTSUPP 524	/* the kernel's own "not supported", seen by bpf(2) users */
#endif

int ct_acct_init(struct ct_acct *a)
{
	memset(a, 0, sizeof(*a));
	return u64map_init(&a->gone, sizeof(struct ct_proc));
}

void ct_acct_free(struct ct_acct *a)
{
	free(a->shares);
	free(a->hosts);
	u64map_free(&a->gone);
	memset(a, 0, sizeof(*a));
}

int ct_conn_key_cmp(const struct ct_conn_key *x, const struct ct_conn_key *y)
{
	if (x->skaddr != y->skaddr)
		return x->skaddr < y->skaddr ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return 0;
}

static int share_cmp(const void *x, const void *y)
{
	return ct_conn_key_cmp(&((const struct ct_share *)x)->key,
			       &((const struct ct_share *)y)->key);
}

/* Closed or evicted shares still count towards their process's totals. */
static void fold_gone(struct ct_acct *a, const struct ct_share *s)
{
	struct ct_proc *p = u64map_put(&a->gone, (uint64_t)s->key.pid + 1, NULL);

	if (!p)
		return;
	p->pid = s->key.pid;
	memcpy(p->comm, s->k.comm, sizeof(p->comm));
	p->total[CT_TX] += s->total[CT_TX];
	p->total[CT_RX] += s->total[CT_RX];
}

/* Bytes a kernel entry gained since the previous snapshot of it. */
static uint64_t gained(uint64_t now, uint64_t before)
{
	/* Smaller than before: the entry was dropped and made anew. */
	return now >= before ? now - before : now;
}

static void carry(struct ct_share *cur, const struct ct_share *prev,
		  uint64_t dt)
{
	for (int d = 0; d < 2; d++) {
		cur->delta[d] = gained(cur->k.bytes[d], prev->k.bytes[d]);
		cur->total[d] = prev->total[d] + cur->delta[d];
	}
	cur->idle_ns = cur->delta[0] || cur->delta[1] ? 0 : prev->idle_ns + dt;
}

static void merge_shares(struct ct_acct *a, struct ct_share *cur, size_t n,
			 uint64_t dt)
{
	size_t i = 0, j = 0;

	while (i < a->nshares || j < n) {
		int c = i == a->nshares ? 1 : j == n ? -1 :
			share_cmp(&a->shares[i], &cur[j]);

		if (c < 0) {
			fold_gone(a, &a->shares[i++]);
			a->evicted++;
		} else if (c > 0) {
			cur[j].delta[0] = cur[j].total[0] = cur[j].k.bytes[0];
			cur[j].delta[1] = cur[j].total[1] = cur[j].k.bytes[1];
			cur[j++].idle_ns = 0;
		} else {
			carry(&cur[j++], &a->shares[i++], dt);
		}
	}
}

static int host_cmp(const void *x, const void *y)
{
	const struct ct_host *a = x, *b = y;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->addr, b->addr, sizeof(a->addr));
}

/* This interval's per-host sums, sorted. */
static int hosts_now(const struct ct_acct *a, struct ct_host **out)
{
	struct ct_host *h = calloc(a->nshares ? a->nshares : 1, sizeof(*h));
	size_t n = 0;

	if (!h)
		return -ENOMEM;
	for (size_t i = 0; i < a->nshares; i++) {
		const struct ct_share *s = &a->shares[i];

		h[i].family = s->k.family;
		memcpy(h[i].addr, s->k.daddr, sizeof(h[i].addr));
		h[i].nconns = 1;
		memcpy(h[i].total, s->total, sizeof(h[i].total));
		memcpy(h[i].delta, s->delta, sizeof(h[i].delta));
	}
	qsort(h, a->nshares, sizeof(*h), host_cmp);
	for (size_t i = 0; i < a->nshares; i++) {
		if (n && !host_cmp(&h[n - 1], &h[i])) {
			h[n - 1].nconns++;
			for (int d = 0; d < 2; d++) {
				h[n - 1].total[d] += h[i].total[d];
				h[n - 1].delta[d] += h[i].delta[d];
			}
		} else {
			h[n++] = h[i];
		}
	}
	*out = h;
	return (int)n;
}

static void push_sample(struct ct_host *h, uint64_t now)
{
	struct ct_host_sample *s = &h->hist[h->head];

	s->ts_ns = now;
	s->bytes[0] = h->delta[0];
	s->bytes[1] = h->delta[1];
	h->head = (h->head + 1) % CT_HISTORY;
	if (h->len < CT_HISTORY)
		h->len++;
}

void ct_host_window(const struct ct_host *h, uint64_t now, unsigned window_s,
		    double out[2])
{
	uint64_t since = now > window_s * NS ? now - window_s * NS : 0;
	uint64_t sum[2] = { 0, 0 };

	for (unsigned k = 0; k < h->len; k++) {
		const struct ct_host_sample *s =
			&h->hist[(h->head + CT_HISTORY - 1 - k) % CT_HISTORY];

		if (s->ts_ns <= since)
			break;
		sum[0] += s->bytes[0];
		sum[1] += s->bytes[1];
	}
	out[0] = (double)sum[0] / window_s;
	out[1] = (double)sum[1] / window_s;
}

static bool host_active(const struct ct_host *h, uint64_t now)
{
	double avg[2];

	ct_host_window(h, now, ct_window_s[CT_WINDOWS - 1], avg);
	return avg[0] > 0 || avg[1] > 0;
}

/* Keeps each host's history across intervals, and hosts quiet for < 40 s. */
static int merge_hosts(struct ct_acct *a, uint64_t now)
{
	struct ct_host *cur, *out;
	int n = hosts_now(a, &cur);
	size_t i = 0, j = 0, k = 0;

	if (n < 0)
		return n;
	out = calloc(a->nhosts + (size_t)n + 1, sizeof(*out));
	if (!out) {
		free(cur);
		return -ENOMEM;
	}
	while (i < a->nhosts || j < (size_t)n) {
		int c = i == a->nhosts ? 1 : j == (size_t)n ? -1 :
			host_cmp(&a->hosts[i], &cur[j]);
		struct ct_host *h = &out[k];

		if (c < 0) {
			*h = a->hosts[i++];
			h->nconns = 0;
			memset(h->delta, 0, sizeof(h->delta));
		} else {
			*h = cur[j];
			if (c == 0) {
				memcpy(h->hist, a->hosts[i].hist, sizeof(h->hist));
				h->head = a->hosts[i].head;
				h->len = a->hosts[i++].len;
			}
			j++;
		}
		push_sample(h, now);
		for (int w = 0; w < CT_WINDOWS; w++)
			ct_host_window(h, now, ct_window_s[w], h->avg[w]);
		if (h->nconns || host_active(h, now))
			k++;
	}
	free(cur);
	free(a->hosts);
	a->hosts = out;
	a->nhosts = k;
	return 0;
}

int ct_acct_update(struct ct_acct *a, struct ct_share *snap, size_t n,
		   uint64_t now)
{
	uint64_t dt = a->last_ns && now > a->last_ns ? now - a->last_ns : 0;

	qsort(snap, n, sizeof(*snap), share_cmp);
	merge_shares(a, snap, n, dt);
	free(a->shares);
	a->shares = snap;
	a->nshares = n;
	a->interval_s = (double)dt / NS;
	a->last_ns = now;
	return merge_hosts(a, now);
}

static struct ct_proc *proc_slot(struct u64map *m, uint32_t pid,
				 const char *comm)
{
	int created;
	struct ct_proc *p = u64map_put(m, (uint64_t)pid + 1, &created);

	if (p && created) {
		p->pid = pid;
		memcpy(p->comm, comm, sizeof(p->comm));
	}
	return p;
}

static int add_gone(struct u64map *m, const struct u64map *gone)
{
	for (size_t i = 0; i < gone->cap; i++) {
		const struct ct_proc *g;
		struct ct_proc *p;

		if (!gone->keys[i])
			continue;
		g = (const void *)(gone->vals + i * gone->val_size);
		p = proc_slot(m, g->pid, g->comm);
		if (!p)
			return -ENOMEM;
		p->total[0] += g->total[0];
		p->total[1] += g->total[1];
	}
	return 0;
}

static int map_to_array(const struct u64map *m, struct ct_proc **out)
{
	struct ct_proc *arr = calloc(m->len ? m->len : 1, sizeof(*arr));
	size_t n = 0;

	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i])
			memcpy(&arr[n++], m->vals + i * m->val_size, sizeof(*arr));
	*out = arr;
	return (int)n;
}

int ct_acct_procs(const struct ct_acct *a, struct ct_proc **out)
{
	struct u64map m;
	int rc;

	if (u64map_init(&m, sizeof(struct ct_proc)))
		return -ENOMEM;
	rc = add_gone(&m, &a->gone);
	for (size_t i = 0; !rc && i < a->nshares; i++) {
		const struct ct_share *s = &a->shares[i];
		struct ct_proc *p = proc_slot(&m, s->key.pid, s->k.comm);

		if (!p) {
			rc = -ENOMEM;
			break;
		}
		p->nconns++;
		for (int d = 0; d < 2; d++) {
			p->total[d] += s->total[d];
			p->delta[d] += s->delta[d];
		}
	}
	if (!rc)
		rc = map_to_array(&m, out);
	u64map_free(&m);
	return rc;
}

static int grow_snapshot(struct ct_share **arr, size_t *cap)
{
	size_t ncap = *cap ? *cap * 2 : 256;
	struct ct_share *n = realloc(*arr, ncap * sizeof(*n));

	if (!n)
		return -ENOMEM;
	*arr = n;
	*cap = ncap;
	return 0;
}

int ct_acct_read_map(int fd, struct ct_share **out)
{
	struct ct_conn_key key, next, *prev = NULL;
	struct ct_share *arr = NULL;
	size_t n = 0, cap = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (n == cap && grow_snapshot(&arr, &cap)) {
			free(arr);
			return -ENOMEM;
		}
		memset(&arr[n], 0, sizeof(arr[n]));
		arr[n].key = key;
		/* Gone between the two calls: it shows up as gone next time. */
		if (!bpf_map_lookup_elem(fd, &key, &arr[n].k))
			n++;
	}
	if (errno != ENOENT) {
		free(arr);
		return -errno;
	}
	*out = arr;
	return (int)n;
}

static int take_entry(int fd, const struct ct_conn_key *key, struct ct_conn *v)
{
	if (!bpf_map_lookup_and_delete_elem(fd, key, v))
		return 0;
	/* Kernels before 5.14 cannot do both at once for hash maps. */
	if (errno != EINVAL && errno != ENOTSUPP && errno != EOPNOTSUPP)
		return -errno;
	if (bpf_map_lookup_elem(fd, key, v))
		return -errno;
	return bpf_map_delete_elem(fd, key) ? -errno : 0;
}

void ct_acct_collect(struct ct_acct *a, int fd, uint64_t idle_ns)
{
	size_t k = 0;

	for (size_t i = 0; i < a->nshares; i++) {
		struct ct_share *s = &a->shares[i];
		struct ct_conn last;

		if (s->idle_ns >= idle_ns && !take_entry(fd, &s->key, &last)) {
			for (int d = 0; d < 2; d++)
				s->total[d] += gained(last.bytes[d], s->k.bytes[d]);
			fold_gone(a, s);
			a->deleted++;
			continue;
		}
		a->shares[k++] = *s;
	}
	a->nshares = k;
}
