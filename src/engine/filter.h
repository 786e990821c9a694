/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The ss filter language, shared by every mode. A filter is parsed once
 * into a tree, then matched against each socket without allocating.
 *
 *   expr  := expr or expr | expr [and] expr | not expr | ( expr ) | pred
 *   pred  := state NAME | exclude NAME
 *          | sport [OP] PORT | dport [OP] PORT | port [OP] PORT
 *          | src [= | !=] HOST | dst [= | !=] HOST
 *          | cgroup [=] PATH | container [=] NAME
 *   OP    := = == != < <= > >= eq neq ne lt le gt ge
 *   PORT  := N | :N
 *   HOST  := * | ADDR[/LEN] | ADDR[/LEN]:PORT | *:PORT | :PORT
 *          | [V6ADDR[/LEN]]:PORT | [V6ADDR]/LEN:PORT
 *
 * and is also "&&" or "&", or is "||" or "|", not is "!"; two predicates
 * side by side mean and. Precedence: not, then and, then or. Keywords are
 * case-insensitive; "#" starts a comment that runs to the end of the line.
 *
 * NAME is a TCP state (ESTABLISHED, SYN-SENT, SYN-RECV, FIN-WAIT-1,
 * FIN-WAIT-2, TIME-WAIT, CLOSED, CLOSE-WAIT, LAST-ACK, LISTENING, CLOSING;
 * '-' and '_' alike, the kernel's spellings too) or one of ss's groups:
 * all, connected, synchronized, bucket, big. As in ss, a run of state and
 * exclude words forms one set: it starts empty (from all if the first word
 * is exclude), each state adds and each exclude removes. SYN-RECV also
 * covers the kernel's NEW_SYN_RECV request sockets.
 *
 * "src" is the local end, "dst" the remote one. An IPv4 address or prefix
 * also matches IPv4-mapped IPv6 sockets (::ffff:a.b.c.d), and a mapped
 * IPv6 prefix (::ffff:a.b.c.d/96 or longer) also matches IPv4 sockets.
 * "port OP N" holds if either end's port does, except that "port != N"
 * means neither end is N.
 *
 * "cgroup PATH" holds for an owner whose cgroup is PATH or below it, by
 * whole components, PATH relative to the cgroup2 mount as ss prints it
 * ("/system.slice"). "container NAME" holds for an owner in that
 * container: its name as shown, its runtime id or a prefix of 4 or more,
 * a pod's UID, a service with or without ".service" (engine/cgroup.h).
 * Neither holds where the cgroup is not known (ls gives a socket no
 * process holds its own cgroup, as sock_diag reports it).
 */
#ifndef CT_FILTER_H
#define CT_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parentheses and nots nested deeper than this are an error. */
#define CTF_MAX_DEPTH 64

/* Every TCP state, ESTABLISHED (1) to NEW_SYN_RECV (12), as 1 << state. */
#define CTF_STATES_ALL 0x1ffeu

/* What a filter is matched against; ports in host byte order. */
struct ctf_sockinfo {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t state;		/* TCP state, numbered as in the kernel */
	uint8_t saddr[16];	/* local address; IPv4 in the first 4 bytes */
	uint8_t daddr[16];	/* remote address */
	uint16_t sport, dport;
	uint64_t cgroup;	/* the owner's cgroup v2 id; 0: unknown */
};

/*
 * Why a parse failed. msg is one line, ready to print, such as
 * "filter: unexpected 'foo' at column 12". line and column (1-based, in
 * bytes) point at the offending word; both are 0 when the error has no
 * position (a file that cannot be read, no memory).
 */
struct ctf_error {
	int line;
	int column;
	char msg[256];
};

enum ctf_side {
	CTF_SRC,	/* local port */
	CTF_DST,	/* remote port */
	CTF_EITHER,	/* either end's port */
};

struct ctf_filter;

/*
 * Parses text (NULL or blank: match everything). Returns 0 and sets *out,
 * or a negative errno (-EINVAL for a bad filter, -ENOMEM) with *out NULL
 * and err (if not NULL) filled in.
 */
int ctf_parse(const char *text, struct ctf_filter **out, struct ctf_error *err);
/* Parses argv[0..argc) joined with spaces, as ss does. */
int ctf_parse_argv(int argc, char *const argv[], struct ctf_filter **out,
		   struct ctf_error *err);
/*
 * Parses a whole regular file ("-" is stdin); errors name it and give the
 * line and column, never the words, which may be a secret. A FIFO or
 * device is refused (-EINVAL) without waiting for a writer; a file that
 * cannot be read gives its errno (-ENOENT, -EFBIG past 16 MiB).
 */
int ctf_parse_file(const char *path, struct ctf_filter **out,
		   struct ctf_error *err);

/*
 * Whether text begins as a filter does: with a predicate's keyword, "not",
 * "!" or "(". Tells a filter from a mistyped word where either may come.
 */
bool ctf_begins_filter(const char *text);

/*
 * True if s passes f. A NULL filter matches everything. Never allocates;
 * the src (or dst) prefixes of one "or" list are a single binary search.
 */
bool ctf_match(const struct ctf_filter *f, const struct ctf_sockinfo *s);

/* ctf_match() for a socket given field by field, as callers hold them. */
bool ctf_match_tuple(const struct ctf_filter *f, int family, uint8_t state,
		     const uint8_t saddr[16], uint16_t sport,
		     const uint8_t daddr[16], uint16_t dport, uint64_t cgroup);

/*
 * The TCP states (1 to 12) in which f can possibly match, as 1 << state: a
 * socket in another of these states never matches. Conservative: it may
 * be a superset, CTF_STATES_ALL if unsure. Says nothing of other values.
 */
uint32_t ctf_states(const struct ctf_filter *f);

/*
 * The port that every socket matching f has on the given side, or -1 if
 * there is none (or it cannot be told cheaply).
 */
int ctf_port(const struct ctf_filter *f, enum ctf_side side);

/*
 * Whether f has a cgroup or container predicate: then it cannot be
 * matched before the owners' cgroups are known.
 */
bool ctf_needs_cgroup(const struct ctf_filter *f);

void ctf_free(struct ctf_filter *f);

/*
 * The user's filters. The kernel side applies pid, port, family and comm;
 * expr, an ss-style expression, is applied in user space.
 */
struct ct_kfilter {
	uint32_t pid;
	uint16_t port;
	uint16_t family;	/* AF_INET, AF_INET6 or 0 */
	char comm[16];
	struct ctf_filter *expr;	/* NULL: no expression */
	const char *cgroup;	/* --cgroup PATH, NULL: any */
	const char *container;	/* --container NAME, NULL: any */
	uint32_t netns;		/* --netns: its inode number; 0: every one */
};

/*
 * Whether a socket with this owner passes every filter of f, the
 * expression seeing it in `state`. pid 0 is an owner not known, which no
 * -c COMM matches.
 */
bool ct_kfilter_match(const struct ct_kfilter *f, int family, uint8_t state,
		      const uint8_t saddr[16], uint16_t sport,
		      const uint8_t daddr[16], uint16_t dport, uint32_t pid,
		      const char comm[16], uint64_t cgroup);

/* Whether f's answer can change with a socket's owner (pid, comm, cgroup). */
bool ct_kfilter_on_owner(const struct ct_kfilter *f);

#endif
