// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/evsource.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <string.h>

#include "conntrace.skel.h"
#include "engine/session.h"
#include "output/format.h"

_Static_assert(CT_MSG_MAX <= CT_EV_MAX_TYPES, "raise CT_EV_MAX_TYPES");

/*
 * What the callback returns to end a call early. libbpf (1.1 and later)
 * stops reading at a negative return and hands it back to the caller,
 * having consumed the record in hand; `paused` tells this one apart from
 * a real error.
 */
#define PAUSE (-ECANCELED)

void ct_evsource_init(struct ct_evsource *s, const volatile sig_atomic_t *stop)
{
	memset(s, 0, sizeof(*s));
	s->stop = stop;
}

int ct_evsource_register(struct ct_evsource *s, uint32_t type,
			 size_t min_size, ct_ev_fn fn, void *ctx)
{
	struct ct_ev_handler *h;

	if (type >= CT_EV_MAX_TYPES || !fn || min_size < sizeof(__u32))
		return -EINVAL;
	h = &s->by_type[type];
	if (h->fn)
		return -EINVAL;
	*h = (struct ct_ev_handler){ .fn = fn, .ctx = ctx, .min_size = min_size };
	return 0;
}

static void dispatch_one(struct ct_evsource *s, const void *data, size_t size)
{
	const struct ct_ev_handler *h;
	__u32 type;

	if (size < sizeof(type)) {
		s->short_recs++;
		return;
	}
	memcpy(&type, data, sizeof(type));
	h = type < CT_EV_MAX_TYPES ? &s->by_type[type] : NULL;
	if (!h || !h->fn) {
		if (type > 0 && type < CT_MSG_MAX)
			s->skipped++;
		else
			s->unknown++;
		return;
	}
	if (size < h->min_size) {
		s->short_recs++;
		return;
	}
	h->fn(h->ctx, data, size);
	s->handled++;
}

static void count_skipped(struct ct_evsource *s, const void *data, size_t size)
{
	__u32 type = 0;

	if (size >= sizeof(type))
		memcpy(&type, data, sizeof(type));
	s->skipped_by_type[type < CT_EV_MAX_TYPES ? type : 0]++;
}

int ct_evsource_dispatch(void *ctx, void *data, size_t size)
{
	struct ct_evsource *s = ctx;

	if (s->tap && !s->skipping)
		s->tap(s->tap_ctx, data, size);
	if (!s->skipping)
		dispatch_one(s, data, size);
	else
		count_skipped(s, data, size);
	s->seen++;
	if (s->left)
		s->left--;
	if (!s->left || (s->stop && *s->stop) ||
	    (s->until_ns && ct_monotonic_ns() >= s->until_ns)) {
		s->paused = true;
		return PAUSE;
	}
	return 0;
}

void ct_evsource_tap(struct ct_evsource *s, ct_ev_fn fn, void *ctx)
{
	s->tap = fn;
	s->tap_ctx = ctx;
}

int ct_evsource_open(struct ct_evsource *s, const struct ct_session *l,
		     char *err, size_t errlen)
{
	int fd = bpf_map__fd(l->skel->maps.ct_events), rc;

	s->rb = ring_buffer__new(fd, ct_evsource_dispatch, s, NULL);
	if (!s->rb) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the ring buffer: %s",
			 strerror(-rc));
		return rc;
	}
	return 0;
}

void ct_evsource_close(struct ct_evsource *s)
{
	ring_buffer__free(s->rb);
	s->rb = NULL;
}

/* A signal, or our own pause, ends a libbpf call early: not an error. */
static int settled(const struct ct_evsource *s, int rc)
{
	return rc == -EINTR || (rc == PAUSE && s->paused) ? 0 : rc;
}

/* One bounded call into libbpf: the number of records handled, or -errno. */
static int bounded(struct ct_evsource *s, size_t max, int timeout_ms, bool wait)
{
	uint64_t before = s->seen;
	int rc;

	if (!max || (s->stop && *s->stop))
		return 0;
	s->left = max;
	s->paused = false;
	rc = settled(s, wait ? ring_buffer__poll(s->rb, timeout_ms)
			     : ring_buffer__consume(s->rb));
	/*
	 * The kernel side wakes us for batches only: what came since without
	 * a wake-up is read when the wait is over, else a quiet host's few
	 * records would wait for a batch that never comes.
	 */
	if (wait && rc >= 0 && !s->paused && s->left &&
	    !(s->stop && *s->stop))
		rc = settled(s, ring_buffer__consume(s->rb));
	if (rc < 0)
		return rc;
	return (int)(s->seen - before);
}

int ct_evsource_poll(struct ct_evsource *s, int timeout_ms, size_t max)
{
	return bounded(s, max, timeout_ms, true);
}

int ct_evsource_consume(struct ct_evsource *s, size_t max)
{
	return bounded(s, max, 0, false);
}

int ct_evsource_skip(struct ct_evsource *s, size_t max)
{
	int n;

	s->skipping = true;
	n = bounded(s, max, 0, false);
	s->skipping = false;
	return n;
}

/*
 * Time is checked after every record, not every batch: at a quarter of a
 * CPU a batch of 256 records took 80 ms of a 10 ms budget.
 */
int ct_evsource_drain(struct ct_evsource *s, uint64_t budget_ns, size_t max)
{
	int n;

	s->stop = NULL;
	s->until_ns = ct_monotonic_ns() + budget_ns;
	n = ct_evsource_consume(s, max);
	s->until_ns = 0;
	if (n < 0)
		return n;
	return ct_evsource_skip(s, max);
}

int ct_evsource_stop(struct ct_evsource *s, struct ct_session *l,
		     uint64_t drain_ns, void (*flush)(void *ctx), void *ctx)
{
	/* Records are 8 bytes at least: a whole ring holds no more. */
	size_t max = (l->ring_bytes ? l->ring_bytes : CT_RINGBUF_BYTES) / 8;
	int n, more;

	ct_session_detach(l);
	n = ct_evsource_drain(s, drain_ns, max);
	if (flush)
		flush(ctx);
	ct_session_detach_wait(l);
	if (n < 0)
		return n;
	more = ct_evsource_skip(s, max);
	return more < 0 ? more : n + more;
}

void ct_evsource_report(const struct ct_evsource *s, FILE *f)
{
	if (s->unknown || s->short_recs)
		fprintf(f,
			"conntrace: %llu kernel records of an unknown type and %llu too short for their type, ignored\n",
			(unsigned long long)s->unknown,
			(unsigned long long)s->short_recs);
}
