// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/acct.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernel.h"
#include "lib/grow.h"

const unsigned ct_window_s[CT_WINDOWS] = { 2, 10, 40 };

#define NS 1000000000ULL

int ct_acct_init(struct ct_acct *a)
{
	memset(a, 0, sizeof(*a));
	if (u64map_init(&a->gone_groups, sizeof(struct ct_group)))
		return -ENOMEM;
	return u64map_init(&a->gone, sizeof(struct ct_proc));
}

void ct_acct_free(struct ct_acct *a)
{
	free(a->shares);
	free(a->ends);
	free(a->hosts);
	u64map_free(&a->gone);
	u64map_free(&a->gone_groups);
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

/* The same key with another birth time is a new socket at an old address. */
static int share_cmp(const void *x, const void *y)
{
	const struct ct_share *a = x, *b = y;
	int c = ct_conn_key_cmp(&a->key, &b->key);

	if (c)
		return c;
	return a->k.first_ns < b->k.first_ns ? -1 : a->k.first_ns > b->k.first_ns;
}

/* Closed or evicted shares still count towards their process's totals. */
static void fold_gone(struct ct_acct *a, const struct ct_share *s)
{
	struct ct_proc *p;
	struct ct_group *g;

	if (a->counts_only)
		return;
	p = u64map_put(&a->gone, (uint64_t)s->pid + 1, NULL);
	g = u64map_put(&a->gone_groups, s->k.cgroup + 1, NULL);
	if (g) {
		g->cgroup = s->k.cgroup;
		g->total[CT_TX] += s->total[CT_TX];
		g->total[CT_RX] += s->total[CT_RX];
	}
	if (!p)
		return;
	p->pid = s->pid;
	memcpy(p->comm, s->k.comm, sizeof(p->comm));
	p->total[CT_TX] += s->total[CT_TX];
	p->total[CT_RX] += s->total[CT_RX];
}

/* Bytes a kernel entry gained since the previous snapshot of it. */
static uint64_t gained(const struct ct_share *s, uint64_t now, uint64_t before)
{
	if (now >= before)
		return now - before;
	/*
	 * An LRU entry dropped and made anew holds only new bytes; a socket's
	 * own counts never go down (a reset drops what was still queued).
	 */
	return s->src == CT_SHARE_CALLS ? now : 0;
}

/* cur takes over from prev: totals go on, and so does a known owner. */
static void carry(struct ct_share *cur, const struct ct_share *prev,
		  uint64_t dt)
{
	for (int d = 0; d < 2; d++) {
		cur->delta[d] = gained(cur, cur->k.bytes[d], prev->k.bytes[d]);
		cur->total[d] = prev->total[d] + cur->delta[d];
		if (cur->src == CT_SHARE_SOCKET && cur->k.bytes[d] < prev->k.bytes[d])
			cur->k.bytes[d] = prev->k.bytes[d];
	}
	cur->idle_ns = cur->delta[0] || cur->delta[1] ? 0 : prev->idle_ns + dt;
	cur->shared |= prev->shared;
	if (!cur->pid) {
		cur->pid = prev->pid;
		memcpy(cur->k.comm, prev->k.comm, sizeof(cur->k.comm));
		cur->k.cgroup = prev->k.cgroup;
	}
}

static void start_share(struct ct_share *s)
{
	for (int d = 0; d < 2; d++)
		s->delta[d] = s->total[d] = s->k.bytes[d];
	s->idle_ns = 0;
}

/* A share only in the old snapshot: closed and lingering, or gone. */
static bool keep_old(struct ct_acct *a, struct ct_share *s, uint64_t now)
{
	memset(s->delta, 0, sizeof(s->delta));
	if (!s->closed_ns) {
		/* An LRU eviction, or a socket whose close record was lost. */
		if (s->src == CT_SHARE_SOCKET)
			a->unclosed++;
		else
			a->evicted++;
		fold_gone(a, s);
		return false;
	}
	if (!a->counts_only && now - s->closed_ns < CT_CLOSED_LINGER_NS)
		return true;
	fold_gone(a, s);
	return false;
}

/* Sorts and keeps the last of each identity (the closes: the latest). */
static size_t sort_unique(struct ct_share *v, size_t n)
{
	size_t k = 0;

	if (n < 2)
		return n;
	qsort(v, n, sizeof(*v), share_cmp);
	for (size_t i = 0; i < n; i++) {
		if (k && !share_cmp(&v[k - 1], &v[i]))
			k--;
		v[k++] = v[i];
	}
	return k;
}

/* A close: its last counts end the share, which then lingers. */
static void end_share(struct ct_share *out, const struct ct_share *end,
		      bool known, uint64_t now, uint64_t dt)
{
	struct ct_share prev = *out;

	*out = *end;
	if (known)
		carry(out, &prev, dt);
	else
		start_share(out);
	out->closed_ns = now;
}

struct merge {
	const struct ct_share *old, *cur, *end;
	size_t nold, ncur, nend;
};

/* The smallest identity at the three heads; NULL when all are done. */
static const struct ct_share *smallest(const struct merge *m, size_t i,
				       size_t j, size_t e)
{
	const struct ct_share *min = NULL;

	if (i < m->nold)
		min = &m->old[i];
	if (j < m->ncur && (!min || share_cmp(&m->cur[j], min) < 0))
		min = &m->cur[j];
	if (e < m->nend && (!min || share_cmp(&m->end[e], min) < 0))
		min = &m->end[e];
	return min;
}

/* Merges into out (sorted), which has room for all three inputs. */
static size_t merge_shares(struct ct_acct *a, const struct merge *m,
			   struct ct_share *out, uint64_t now, uint64_t dt)
{
	const struct ct_share *min;
	size_t i = 0, j = 0, e = 0, k = 0;

	while ((min = smallest(m, i, j, e))) {
		struct ct_share s = *min;
		uint64_t base[2] = { 0, 0 };
		bool in_old = i < m->nold && !share_cmp(&m->old[i], &s);
		bool in_cur = j < m->ncur && !share_cmp(&m->cur[j], &s);
		bool in_end = e < m->nend && !share_cmp(&m->end[e], &s);
		bool known = in_old;

		if (in_old) {
			s = m->old[i++];
			memcpy(base, s.total, sizeof(base));
		}
		if (in_cur) {
			struct ct_share prev = s;

			s = m->cur[j++];
			if (known)
				carry(&s, &prev, dt);
			else
				start_share(&s);
			known = true;
		}
		if (in_end)
			end_share(&s, &m->end[e++], known, now, dt);
		else if (!in_cur && !keep_old(a, &s, now))
			continue;
		/* What this interval added, through a snapshot, a close or both. */
		if (in_cur || in_end)
			for (int d = 0; d < 2; d++)
				s.delta[d] = s.total[d] - base[d];
		out[k++] = s;
	}
	return k;
}

int ct_acct_end(struct ct_acct *a, const struct ct_share *last)
{
	if (a->keep && !a->keep(last, a->keep_ctx))
		return 0;
	if (ct_grow((void **)&a->ends, &a->capends, a->nends, sizeof(*a->ends)))
		return -ENOMEM;
	a->ends[a->nends++] = *last;
	return 0;
}

int ct_acct_conn_end(struct ct_acct *a, const struct ct_conn_end *m)
{
	struct ct_share s = { .key = m->key, .k = m->conn, .pid = m->key.pid };

	/* Socket storage is no LRU entry: its end is nothing to tell apart. */
	if (m->in_storage)
		s.src = CT_SHARE_STORAGE;
	else
		a->deleted++;
	return ct_acct_end(a, &s);
}

static int addr_cmp(uint16_t fx, const uint8_t *ax, uint16_t fy,
		    const uint8_t *ay)
{
	if (fx != fy)
		return fx < fy ? -1 : 1;
	return memcmp(ax, ay, CT_ADDR_LEN);
}

/*
 * One host's sums in one interval. Small on purpose: a struct ct_host
 * carries its whole history (kilobytes), and one per share made an update
 * under churn allocate and sort hundreds of megabytes.
 */
struct host_sum {
	uint16_t family;
	uint8_t addr[CT_ADDR_LEN];
	uint32_t nconns;
	uint64_t total[2];
	uint64_t delta[2];
};

static int sum_cmp(const void *x, const void *y)
{
	const struct host_sum *a = x, *b = y;

	return addr_cmp(a->family, a->addr, b->family, b->addr);
}

/* This interval's per-host sums, sorted; the count or -ENOMEM. */
static int hosts_now(const struct ct_acct *a, struct host_sum **out)
{
	struct host_sum *h = calloc(a->nshares ? a->nshares : 1, sizeof(*h));
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
	qsort(h, a->nshares, sizeof(*h), sum_cmp);
	for (size_t i = 0; i < a->nshares; i++) {
		if (n && !sum_cmp(&h[n - 1], &h[i])) {
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

static void push_sample(struct ct_host *h, uint64_t prev, uint64_t now)
{
	struct ct_host_sample *s = &h->hist[h->head];

	s->ts_ns = now;
	s->start_ns = prev ? prev : now;
	/*
	 * The first snapshot's counts hold everything before conntrace
	 * started: no interval's bytes, so no window's.
	 */
	s->bytes[0] = prev ? h->delta[0] : 0;
	s->bytes[1] = prev ? h->delta[1] : 0;
	h->head = (h->head + 1) % CT_HISTORY;
	if (h->len < CT_HISTORY)
		h->len++;
}

void ct_host_window(const struct ct_host *h, uint64_t now, unsigned window_s,
		    double out[2])
{
	uint64_t since = now > window_s * NS ? now - window_s * NS : 0;
	uint64_t sum[2] = { 0, 0 }, from = since;
	double span;

	for (unsigned k = 0; k < h->len; k++) {
		const struct ct_host_sample *s =
			&h->hist[(h->head + CT_HISTORY - 1 - k) % CT_HISTORY];

		if (s->ts_ns <= since)
			break;
		sum[0] += s->bytes[0];
		sum[1] += s->bytes[1];
		/* An interval longer than the window counts whole. */
		if (s->start_ns < from)
			from = s->start_ns;
	}
	/* A host seen for less than a window was quiet before, unless
	 * conntrace was not looking yet. */
	if (from < h->from_ns)
		from = h->from_ns;
	span = now > from ? (double)(now - from) / NS : 0;
	out[0] = span > 0 ? (double)sum[0] / span : 0;
	out[1] = span > 0 ? (double)sum[1] / span : 0;
}

static bool host_active(const struct ct_host *h, uint64_t now)
{
	double avg[2];

	ct_host_window(h, now, ct_window_s[CT_WINDOWS - 1], avg);
	return avg[0] > 0 || avg[1] > 0;
}

/* A host new this interval: its sums, and no history yet. */
static void host_from_sum(struct ct_host *h, const struct host_sum *sum)
{
	memset(h, 0, sizeof(*h));
	h->family = sum->family;
	memcpy(h->addr, sum->addr, sizeof(h->addr));
	h->nconns = sum->nconns;
	memcpy(h->total, sum->total, sizeof(h->total));
	memcpy(h->delta, sum->delta, sizeof(h->delta));
}

/*
 * Keeps each host's history across intervals, and hosts quiet for < 40 s.
 * prev is the time of the snapshot before, 0 for the first.
 */
static int merge_hosts(struct ct_acct *a, uint64_t prev, uint64_t now)
{
	struct host_sum *cur;
	struct ct_host *out;
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
			addr_cmp(a->hosts[i].family, a->hosts[i].addr,
				 cur[j].family, cur[j].addr);
		struct ct_host *h = &out[k];

		if (c < 0) {
			*h = a->hosts[i++];
			h->nconns = 0;
			memset(h->delta, 0, sizeof(h->delta));
		} else if (c > 0) {
			host_from_sum(h, &cur[j++]);
		} else {
			/* Totals go on from before: closed shares leave them. */
			*h = a->hosts[i++];
			h->nconns = cur[j].nconns;
			for (int d = 0; d < 2; d++) {
				h->delta[d] = cur[j].delta[d];
				h->total[d] += cur[j].delta[d];
			}
			j++;
		}
		h->from_ns = a->first_ns;
		push_sample(h, prev, now);
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

static size_t keep_wanted(const struct ct_acct *a, struct ct_share *s, size_t n)
{
	size_t k = 0;

	if (!a->keep)
		return n;
	for (size_t i = 0; i < n; i++)
		if (a->keep(&s[i], a->keep_ctx))
			s[k++] = s[i];
	return k;
}

int ct_acct_update(struct ct_acct *a, struct ct_share *snap, size_t n,
		   uint64_t now)
{
	uint64_t dt = a->last_ns && now > a->last_ns ? now - a->last_ns : 0;
	uint64_t prev = a->last_ns;
	struct merge m = { .old = a->shares, .nold = a->nshares };
	struct ct_share *out;

	a->nkernel = n;
	n = keep_wanted(a, snap, n);
	m.cur = snap;
	m.ncur = sort_unique(snap, n);
	m.end = a->ends;
	m.nend = sort_unique(a->ends, a->nends);
	out = malloc((m.nold + m.ncur + m.nend + 1) * sizeof(*out));
	if (!out) {
		free(snap);
		return -ENOMEM;
	}
	n = merge_shares(a, &m, out, now, dt);
	a->nends = 0;
	free(snap);
	free(a->shares);
	a->shares = out;
	a->nshares = n;
	a->interval_s = (double)dt / NS;
	a->last_ns = now;
	if (!a->first_ns)
		a->first_ns = now;
	return a->counts_only ? 0 : merge_hosts(a, prev, now);
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

/* The values of m, copied into a new array (free it); their count. */
static int map_to_array(const struct u64map *m, void **out)
{
	unsigned char *arr = calloc(m->len ? m->len : 1, m->val_size);
	size_t n = 0;

	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i])
			memcpy(arr + n++ * m->val_size, m->vals + i * m->val_size,
			       m->val_size);
	*out = arr;
	return (int)n;
}

/* A live share's connection and bytes, added to a view's row. */
static void add_share(uint32_t *nconns, uint64_t total[2], uint64_t delta[2],
		      const struct ct_share *s)
{
	(*nconns)++;
	for (int d = 0; d < 2; d++) {
		total[d] += s->total[d];
		delta[d] += s->delta[d];
	}
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
		struct ct_proc *p = proc_slot(&m, s->pid, s->k.comm);

		if (!p) {
			rc = -ENOMEM;
			break;
		}
		add_share(&p->nconns, p->total, p->delta, s);
	}
	if (!rc)
		rc = map_to_array(&m, (void **)out);
	u64map_free(&m);
	return rc;
}

static struct ct_group *group_slot(struct u64map *m, uint64_t cgroup)
{
	int created;
	struct ct_group *g = u64map_put(m, cgroup + 1, &created);

	if (g && created)
		g->cgroup = cgroup;
	return g;
}

int ct_acct_groups(const struct ct_acct *a, struct ct_group **out)
{
	const struct u64map *gone = &a->gone_groups;
	struct u64map m;
	int rc = 0;

	if (u64map_init(&m, sizeof(struct ct_group)))
		return -ENOMEM;
	for (size_t i = 0; !rc && i < gone->cap; i++) {
		const struct ct_group *g = (const void *)(gone->vals + i * gone->val_size);
		struct ct_group *p;

		if (!gone->keys[i])
			continue;
		p = group_slot(&m, g->cgroup);
		if (!p)
			rc = -ENOMEM;
		else
			for (int d = 0; d < 2; d++)
				p->total[d] += g->total[d];
	}
	for (size_t i = 0; !rc && i < a->nshares; i++) {
		struct ct_group *p = group_slot(&m, a->shares[i].k.cgroup);

		if (!p)
			rc = -ENOMEM;
		else
			add_share(&p->nconns, p->total, p->delta, &a->shares[i]);
	}
	if (!rc)
		rc = map_to_array(&m, (void **)out);
	u64map_free(&m);
	return rc;
}

int ct_acct_read_map(int fd, struct ct_share **out)
{
	struct ct_conn_key key, next, *prev = NULL;
	struct ct_share *arr = NULL;
	size_t n = 0, cap = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (ct_grow((void **)&arr, &cap, n, sizeof(*arr))) {
			free(arr);
			return -ENOMEM;
		}
		memset(&arr[n], 0, sizeof(arr[n]));
		arr[n].key = key;
		arr[n].pid = key.pid;
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
	if (!ct_kernel_lookup_and_delete_refused(errno))
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

		if (!s->closed_ns && s->idle_ns >= idle_ns &&
		    !take_entry(fd, &s->key, &last)) {
			for (int d = 0; d < 2; d++)
				s->total[d] += gained(s, last.bytes[d], s->k.bytes[d]);
			fold_gone(a, s);
			a->deleted++;
			continue;
		}
		a->shares[k++] = *s;
	}
	a->nshares = k;
}
