// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/watch_summary.h"

#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"
#include "output/format.h"
#include "output/json.h"

/* The widest bar of a histogram, in characters. */
#define BAR_WIDTH 40

void ct_summary_init(struct ct_summary *s)
{
	memset(s, 0, sizeof(*s));
}

void ct_summary_free(struct ct_summary *s)
{
	free(s->hosts);
	memset(s, 0, sizeof(*s));
}

int ct_hist_bucket(uint64_t ns)
{
	uint64_t us = ns / 1000;
	int b = 0;

	while (us > 1 && b < CT_HIST_BUCKETS - 1) {
		us >>= 1;
		b++;
	}
	return b;
}

static struct ct_lat_host *host_of(struct ct_summary *s,
				   const struct ct_tcp_ev *ev)
{
	struct ct_lat_host *h;

	for (size_t i = 0; i < s->n; i++)
		if (s->hosts[i].family == ev->family &&
		    !memcmp(s->hosts[i].addr, ev->daddr, sizeof(ev->daddr)))
			return &s->hosts[i];
	if (ct_grow((void **)&s->hosts, &s->cap, s->n, sizeof(*s->hosts)))
		return NULL;
	h = &s->hosts[s->n++];
	memset(h, 0, sizeof(*h));
	h->family = ev->family;
	memcpy(h->addr, ev->daddr, sizeof(h->addr));
	return h;
}

void ct_summary_add(struct ct_summary *s, const struct ct_tcp_ev *ev)
{
	struct ct_lat_host *h;

	if (ev->kind != CT_TEV_CONNECT_LAT)
		return;
	h = host_of(s, ev);
	if (!h) {
		s->untracked++;
		return;
	}
	h->count++;
	h->buckets[ct_hist_bucket(ev->value)]++;
}

/* The buckets worth printing: from the first to the last non-empty one. */
static void span(const struct ct_lat_host *h, int *lo, int *hi, uint64_t *max)
{
	*lo = CT_HIST_BUCKETS;
	*hi = -1;
	*max = 0;
	for (int b = 0; b < CT_HIST_BUCKETS; b++) {
		if (!h->buckets[b])
			continue;
		if (b < *lo)
			*lo = b;
		*hi = b;
		if (h->buckets[b] > *max)
			*max = h->buckets[b];
	}
}

static uint64_t bucket_low(int b)
{
	return b ? 1ULL << b : 0;
}

static void print_text(const struct ct_lat_host *h, FILE *f)
{
	char a[CT_ADDR_STR_LEN];
	uint64_t max;
	int lo, hi;

	span(h, &lo, &hi, &max);
	fprintf(f, "\nconnect latency to %s (%llu connects)\n",
		ct_addr_str(h->family, h->addr, a, sizeof(a)),
		(unsigned long long)h->count);
	fprintf(f, "%21s : %-8s distribution\n", "usecs", "count");
	for (int b = lo; b <= hi; b++) {
		int bar = (int)(h->buckets[b] * BAR_WIDTH / max);

		fprintf(f, "%10llu -> %-8llu : %-8llu |%-*.*s|\n",
			(unsigned long long)bucket_low(b),
			(unsigned long long)((1ULL << (b + 1)) - 1),
			(unsigned long long)h->buckets[b], BAR_WIDTH, bar,
			"****************************************");
	}
}

static void print_json(const struct ct_lat_host *h, FILE *f)
{
	struct json_writer j;
	char a[CT_ADDR_STR_LEN];
	uint64_t max;
	int lo, hi;

	span(h, &lo, &hi, &max);
	json_init(&j, f);
	json_obj_begin(&j, NULL);
	json_str(&j, "event", "summary");
	json_str(&j, "what", "connect_latency");
	json_str(&j, "raddr", ct_addr_str(h->family, h->addr, a, sizeof(a)));
	json_u64(&j, "count", h->count);
	json_arr_begin(&j, "buckets");
	for (int b = lo; b <= hi; b++) {
		json_obj_begin(&j, NULL);
		json_u64(&j, "lo_us", bucket_low(b));
		json_u64(&j, "hi_us", (1ULL << (b + 1)) - 1);
		json_u64(&j, "count", h->buckets[b]);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
}

void ct_summary_print(const struct ct_summary *s, FILE *f, bool json)
{
	for (size_t i = 0; i < s->n; i++) {
		if (json)
			print_json(&s->hosts[i], f);
		else
			print_text(&s->hosts[i], f);
	}
	if (s->untracked)
		fprintf(stderr,
			"conntrace: %llu connect latencies not in the summary (out of memory)\n",
			(unsigned long long)s->untracked);
}
