/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The event source: the one ring buffer the kernel side writes to, read in
 * bounded batches and dispatched by each record's type (enum ct_msg_type)
 * to the engine part that registered for it.
 */
#ifndef CT_EVSOURCE_H
#define CT_EVSOURCE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conntrace.h"

struct ring_buffer;
struct ct_session;

/* Types are small integers: the table is indexed by them. */
#define CT_EV_MAX_TYPES 16

/*
 * Records handled per call by default: a live mode gets back to its timers
 * and its stop flag after at most this many.
 */
#define CT_EV_BATCH 1024

/* About one full ring of the smallest records: a drain that never chases. */
#define CT_EV_RING_RECORDS (CT_RINGBUF_BYTES / (8 + sizeof(struct ct_event)))

/* Gets a record at least as long as its type's min_size. */
typedef void (*ct_ev_fn)(void *ctx, const void *rec, size_t size);

struct ct_ev_handler {
	ct_ev_fn fn;		/* NULL: nobody in this mode wants the type */
	void *ctx;
	size_t min_size;
};

struct ct_evsource {
	struct ring_buffer *rb;
	struct ct_ev_handler by_type[CT_EV_MAX_TYPES];
	/* Set by a signal: a batch ends after the record in hand. */
	const volatile sig_atomic_t *stop;
	size_t left;		/* records this call may still take */
	bool paused;		/* the callback ended the call, not an error */
	uint64_t seen;		/* every record read */
	uint64_t handled;
	uint64_t skipped;	/* a known type this mode does not consume */
	uint64_t unknown;	/* a type no handler was registered for */
	uint64_t short_recs;	/* shorter than their type's record */
	/* Sees every record before dispatch, of any type (the recorder). */
	ct_ev_fn tap;
	void *tap_ctx;
	bool skipping;		/* ct_evsource_skip(): count, do not handle */
	/* What ct_evsource_skip() read, by type (other types at 0). */
	uint64_t skipped_by_type[CT_EV_MAX_TYPES];
	/* Non-zero: a call ends after the record that finds this time past. */
	uint64_t until_ns;
};

/* An empty table; stop is the flag that ends batches (may be NULL). */
void ct_evsource_init(struct ct_evsource *s, const volatile sig_atomic_t *stop);

/*
 * Registers the handler of one record type. A known type nobody handles is
 * passed over quietly; -EINVAL for a type out of range or taken twice.
 */
int ct_evsource_register(struct ct_evsource *s, uint32_t type,
			 size_t min_size, ct_ev_fn fn, void *ctx);

/*
 * Opens the session's ring buffer. On failure, writes one line to err and
 * returns -errno.
 */
int ct_evsource_open(struct ct_evsource *s, const struct ct_session *l,
		     char *err, size_t errlen);
void ct_evsource_close(struct ct_evsource *s);

/*
 * Waits up to timeout_ms for records, then handles at most max of them, or
 * fewer if the stop flag is set. Returns the number read (0 on a signal)
 * or -errno.
 */
int ct_evsource_poll(struct ct_evsource *s, int timeout_ms, size_t max);

/* The same without waiting. */
int ct_evsource_consume(struct ct_evsource *s, size_t max);

/*
 * Reads up to max records without handling them (those a stopping mode
 * has no time left for): the number read, or -errno.
 */
int ct_evsource_skip(struct ct_evsource *s, size_t max);

/*
 * At a stop: handles what the ring holds for up to budget_ns, then reads
 * the rest (up to max records) unhandled, counted in skipped_by_type.
 * Ignores the stop flag, which is set by then. The records skipped, or
 * -errno.
 */
int ct_evsource_drain(struct ct_evsource *s, uint64_t budget_ns, size_t max);

/*
 * The end of a mode that streams from the ring. While l's programs are
 * detached (in a thread: the kernel's grace periods take tens of ms), what
 * the ring holds is handled for drain_ns and the rest read and counted;
 * flush(ctx) then says what the mode still holds; what came until the last
 * program was gone is read and counted too, so that the loss reported is
 * exact. Returns the records read unhandled (by type in skipped_by_type),
 * or -errno.
 */
int ct_evsource_stop(struct ct_evsource *s, struct ct_session *l,
		     uint64_t drain_ns, void (*flush)(void *ctx), void *ctx);

/*
 * The ring buffer's callback, one record: dispatches it, and returns a
 * negative value to end the call once the batch is full, the stop flag is
 * set or until_ns is past. Exposed for tests, which feed it fabricated
 * records.
 */
int ct_evsource_dispatch(void *ctx, void *data, size_t size);

/* Sets the function that sees every record first; NULL for none. */
void ct_evsource_tap(struct ct_evsource *s, ct_ev_fn fn, void *ctx);

/* Records we could not read: one line on f, or nothing if there were none. */
void ct_evsource_report(const struct ct_evsource *s, FILE *f);

#endif
