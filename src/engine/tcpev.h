/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * What goes wrong on a connection, and what takes long: retransmits,
 * resets, failed connects, drops and latency (struct ct_tcp_ev). Takes
 * the kernel's records, gives each its owner where the kernel had none,
 * turns rises of the listeners' drop counters into drop events, filters
 * them, and hands them on.
 */
#ifndef CT_TCPEV_H
#define CT_TCPEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conntrace.h"
#include "engine/diag.h"
#include "engine/filter.h"
#include "engine/tevkind.h"
#include "lib/u64map.h"

struct ct_owners;
struct ct_evsource;
struct ct_session;

struct ct_tev_line {
	struct ct_tcp_ev ev;	/* owner fields hold the resolved owner */
	/* Not accepted yet: the listener's holder, said as such. */
	uint32_t listener_pid;
	char listener_comm[CT_COMM_LEN];
	uint64_t listener_cgroup;
};

/* The process an event counts for; pid 0: nobody's we are sure of. */
struct ct_tev_party {
	uint32_t pid;
	const char *comm;	/* CT_COMM_LEN bytes, not always terminated */
	uint64_t cgroup;
};

/*
 * The one rule for whom an event counts: its owner, else, for a
 * connection still in a listener's accept queue, the listener's holder,
 * who is the one to accept it (top's tally, export's labels). Never a
 * guess: with neither, nobody's.
 */
struct ct_tev_party ct_tev_party(const struct ct_tev_line *l);

/* One listener's drop counter (sk_drops, as sock_diag's meminfo says). */
struct ct_listen_drops {
	struct ct_listen_key key;
	struct ct_listener l;	/* from ct_listeners: its owner */
	uint64_t drops;		/* every drop tcp_listendrop() counts */
	uint64_t cookie;
	uint64_t ino;
};

typedef void (*ct_tev_fn)(const struct ct_tev_line *l, void *ctx);

struct ct_tcpev {
	struct ct_owners *owners;	/* NULL: no owner resolution */
	const struct ct_session *session; /* NULL: no listener walk */
	struct ct_kfilter filter;
	unsigned int mask;		/* kinds to hand on */
	ct_tev_fn emit;
	void *emit_ctx;
	struct u64map listen_drops;	/* listener cookie -> struct ct_listen_seen */
	uint64_t next_walk_ns;
	uint64_t walk_every_ns;
	int walk_err;			/* the last walk's error, told once */
	struct ct_diag diag;		/* sock_diag, per namespace of a listener */
	uint64_t handled[CT_TEV_KINDS];	/* handed on, per kind */
	/* Reason names, read from the kernel's BTF at load or first need. */
	char **drop_names, **rst_names;
	size_t ndrop, nrst;
	bool drop_tried, rst_tried;
	uint64_t walks;			/* walks of the listeners begun */
};

/* What the last walks told of one listener. */
struct ct_listen_seen {
	uint64_t drops;		/* its sk_drops at the last walk, plus one */
	uint64_t walk;		/* the last walk that saw it */
};

int ct_tcpev_init(struct ct_tcpev *t, struct ct_owners *owners,
		  const struct ct_session *session,
		  const struct ct_kfilter *filter, unsigned int mask,
		  ct_tev_fn emit, void *ctx);
void ct_tcpev_free(struct ct_tcpev *t);

/* Takes the CT_MSG_TCP_EV records of s; 0 or -errno. */
int ct_tcpev_register(struct ct_tcpev *t, struct ct_evsource *s);

/* One record from the kernel, or made up by a test. */
void ct_tcpev_handle(struct ct_tcpev *t, const struct ct_tcp_ev *ev);

/*
 * Walks the listeners' drop counters when due, and hands on a drop event
 * for every rise (the first walk only takes the counts). Returns the ms
 * until the next walk is due, at most max_ms.
 */
int ct_tcpev_tick(struct ct_tcpev *t, uint64_t now_ns, int max_ms);

/*
 * One listener's count from a walk: a drop event for the rise since the
 * last walk, as ct_tcpev_tick() does for each. Exposed for tests.
 */
void ct_tcpev_listener(struct ct_tcpev *t, const struct ct_listen_drops *d,
		       uint64_t now_ns);

/*
 * The end of a walk that saw every namespace of a known listener: the
 * listeners it did not see are gone, and their counts are forgotten (a
 * host that opens and closes listeners must not grow this memory).
 * Exposed for tests, as ct_tcpev_listener(); 0 or -ENOMEM.
 */
int ct_tcpev_forget_gone(struct ct_tcpev *t);

/*
 * Reads the reason names now, if drops or sent resets are wanted: else
 * the first such event pays for a parse of the kernel's BTF (about 40 ms
 * of CPU, hundreds of ms on a loaded machine), maybe just as Ctrl-C came.
 */
void ct_tcpev_load_reasons(struct ct_tcpev *t);

/* The reason's name for a drop or a sent reset, or NULL if unknown. */
const char *ct_tcpev_reason(struct ct_tcpev *t, const struct ct_tcp_ev *ev);

/* One warning line to f for each kind asked for that this kernel cannot give. */
void ct_tcpev_warn_missing(const struct ct_session *s, FILE *f);

/*
 * Parses an --events list ("retrans,reset", "all", with "state" for
 * transitions) into a mask of kinds and whether transitions are wanted.
 * 0, or -EINVAL with a one-line reason in err.
 */
int ct_tev_parse_list(const char *list, unsigned int *mask, bool *states,
		      char *err, size_t errlen);

/*
 * The exit report's line on one kind: records written and lost. Returns
 * false (buf empty) when none was lost, unless `all` asks for it anyway.
 */
bool ct_tev_loss_line(int kind, const struct ct_tev_count *c, bool all,
		      char *buf, size_t len);

/*
 * One "conntrace: ..." line to f per kind that lost records, and with
 * verbose one per kind of mask whatever it lost.
 */
void ct_tev_report_losses(const struct ct_session *s, unsigned int mask,
			  bool verbose, FILE *f);

/* Whether an event with its owner resolved passes the filters of f. */
bool ct_tcpev_match(const struct ct_kfilter *f, const struct ct_tcp_ev *ev);

/*
 * --events as replay takes it, as watch does: LIST (NULL: not given) into
 * the kinds to print and whether transitions are. By default every kind
 * of trouble and the transitions; with --lifetime, a connection's summary
 * line stands alone. 0, or -EINVAL with a one-line reason in err.
 */
int ct_tev_select(const char *list, bool lifetime, unsigned int *mask,
		  bool *states, char *err, size_t errlen);

#endif
