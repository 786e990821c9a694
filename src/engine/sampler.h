/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The byte sampler any front end can call: at each refresh it reads what
 * the kernel counted and hands it to the accounting model (acct.h).
 *
 * By default nothing runs per send or receive. TCP bytes are the kernel's
 * own per-socket counters, read by the iter/tcp program in every network
 * namespace, and a connection's last counts come with its CLOSE
 * transition, so one that lives shorter than a refresh is exact too.
 * A socket several processes hold is counted for its owner and marked
 * shared (the file walk sees its holders).
 *
 * What a socket's counters cannot tell needs the per-call hooks, on
 * request: `shares` splits each socket's bytes among the processes that
 * moved them, and `udp` counts UDP, which has no per-socket counters.
 */
#ifndef CT_SAMPLER_H
#define CT_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/acct.h"
#include "engine/evsource.h"
#include "engine/session.h"
#include "engine/owners.h"
#include "engine/tcpev.h"
#include "engine/tevtally.h"

struct bpf_link;

struct ct_sampler_opts {
	bool shares;		/* per-call hooks: exact shares of shared sockets */
	bool udp;		/* per-call hooks for UDP */
	uint32_t max_conns;	/* size of the per-call byte map; 0: default */
	bool all_states;	/* every transition and every socket to the hooks */
	/*
	 * Kinds of ct_tcp_ev to load hooks for, and to count in `tally`
	 * (tevtally.h) unless tev_elsewhere; 0: none.
	 */
	unsigned int tev_mask;
	/* The caller handles the events itself (export): no tally here. */
	bool tev_elsewhere;
	/* With all_states: idle sockets only counted by state (walk_states). */
	bool count_walk_states;
	/*
	 * No share is marked shared: the file walk, which costs a pass over
	 * every open file, runs only when a socket's owner is not known.
	 */
	bool owners_only;
	bool accept_hook;	/* owners of accepted sockets at accept(), if it can */
	uint32_t max_socks;	/* size of the socket map; 0: the default */
	uint32_t ring_bytes;	/* size of the ring buffer; 0: the default */
};

/* Why counts may be missing, each named for what the user can change. */
struct ct_sampler_loss {
	uint64_t ring_drops;	/* close records lost: the ring buffer was full */
	uint64_t map_full;	/* sends/receives not counted: byte map full */
	uint64_t evicted;	/* per-call entries the LRU map dropped */
	uint64_t unclosed;	/* sockets gone whose close record was lost */
	uint64_t sharers_full;	/* shares no CLOSE ends: too many sharers */
};

#define CT_SAMPLER_MAX_NETNS 1024

struct ct_sampler {
	struct ct_sampler_opts opts;
	struct ct_session session;
	struct ct_acct acct;
	struct ct_owners owners;
	struct ct_evsource source;	/* closes, with their last counts */
	struct bpf_link *tcp_iter;	/* ct_tcp_counters, made once */
	int conns_fd;			/* ct_conns, per-call path only */
	size_t nhash;			/* ct_conns entries at the last read */
	uint64_t evicted;
	uint64_t shared_walk_ns;	/* last file walk for the shared marks */
	int cb_err;			/* first error inside a ring callback */
	/* The namespaces whose sockets a refresh reads, as last listed. */
	uint32_t netns[CT_SAMPLER_MAX_NETNS];
	int nnetns;
	uint64_t netns_listed_ns;	/* when; 0: list again */
	int64_t named_netns_mtime;	/* of the named namespaces' folder */
	/*
	 * Optional, set after start (which clears them): every state record
	 * read, and every socket a refresh's walk finds, listeners included,
	 * for a front end that counts them (export).
	 */
	void (*on_event)(void *ctx, const struct ct_event *ev);
	void (*on_sock)(void *ctx, const struct ct_tcp_rec *r);
	void *hook_ctx;
	/* With opts.tev_mask: the events, and what they counted so far. */
	struct ct_tcpev tev;
	struct ct_tally tally;
	bool tev_on;
	/* count_walk_states: the last refresh's sockets by TCP state. */
	uint32_t walk_states[CT_WALK_STATES];
};

/* Loads and attaches; on failure one line in err and -errno. */
int ct_sampler_start(struct ct_sampler *s, const struct ct_sampler_opts *o,
		     char *err, size_t errlen);

/*
 * One refresh: counters, closes, owners, then the model. 0 or -errno.
 * Once ct_stop is set it ends at the next record and leaves the model as
 * it was (0): callers check ct_stop before they print.
 */
int ct_sampler_sample(struct ct_sampler *s);

void ct_sampler_loss(const struct ct_sampler *s, struct ct_sampler_loss *out);

/* Whether any program runs per send or receive. */
bool ct_sampler_per_call(const struct ct_sampler *s);

void ct_sampler_stop(struct ct_sampler *s);

/*
 * A socket's share from its iter/tcp record, as the model counts it;
 * false if it holds no bytes either way. Exposed for the unit tests.
 */
bool ct_sampler_rec_share(const struct ct_tcp_rec *r, bool passive,
			  struct ct_share *out);

/* The same from a CLOSE transition; false if it moved nothing. */
bool ct_sampler_close_share(const struct ct_event *ev, struct ct_share *out);

/*
 * The kernel's count of retransmits a share carries, into t (see
 * ct_tally_kernel()), if a's views keep the share: those they never
 * show are not kept in t either.
 */
void ct_sampler_tally_kernel(struct ct_tally *t, const struct ct_acct *a,
			     const struct ct_share *sh);

/*
 * After an update of a: the event counts of the sockets its views still
 * show are kept, those gone from them for a while forgotten. 0 or -ENOMEM.
 */
int ct_sampler_keep_tally(struct ct_tally *t, const struct ct_acct *a);

#endif
