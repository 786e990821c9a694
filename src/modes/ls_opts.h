/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_LS_OPTS_H
#define CT_LS_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include "modes/options.h"

struct ctf_filter;

#define CT_LS_MAX_NETNS 64

/* states --by: what sockets are counted per. */
enum ct_ls_by {
	CT_BY_NONE = 0, CT_BY_RADDR, CT_BY_RPORT, CT_BY_LPORT, CT_BY_COMM,
	CT_BY_STATE, CT_BY_CONTAINER, CT_BY_PROCESS, CT_BY_MAX,
};

struct ct_ls_opts {
	bool tcp, udp;		/* neither given: both */
	bool listening;		/* -l: only listening (UDP: unconnected) */
	bool all;		/* -a: every state */
	bool procs;		/* -p: owners */
	bool ext;		/* -e: uid, inode, cookie */
	bool timers;		/* -o */
	bool info;		/* -i: TCP internals */
	bool mem;		/* -m: socket memory */
	bool json;
	bool summary;		/* state histogram and totals */
	uint16_t family;	/* AF_INET, AF_INET6 or 0 */
	bool netns_all;
	int nnetns;
	const char *netns[CT_LS_MAX_NETNS];	/* names or paths */
	struct ctf_filter *filter;		/* NULL: everything */
	bool human;		/* -H: Sent and Received in binary units */
	bool resolve;		/* -r: host and service names */
	double interval_s;	/* --interval: list again; 0: once */
	uint32_t count;		/* --count: listings with --interval; 0: no end */
	enum ct_ls_by by;	/* states --by */
	const char *cgroup;	/* --cgroup: the owner's cgroup, or below */
	const char *container;	/* --container */
	bool by_container;	/* states --by-container */
	bool trouble;		/* -T: retransmits and drops so far */
};

extern const struct ct_cmd ct_ls_cmd, ct_states_cmd;

/*
 * argv[0] is the mode name: "states" parses by ct_states_cmd (and sets
 * summary), anything else by ct_ls_cmd. On success the caller frees
 * o->filter.
 */
enum ct_parse_result ct_ls_parse(int argc, char **argv, struct ct_ls_opts *o,
				 char *err, size_t errlen);

/* "raddr" -> CT_BY_RADDR ...; CT_BY_NONE if unknown. */
enum ct_ls_by ct_ls_by_parse(const char *name);
const char *ct_ls_by_name(enum ct_ls_by by);

/* The states to ask the kernel for, for TCP and for UDP. */
uint32_t ct_ls_tcp_states(const struct ct_ls_opts *o);
uint32_t ct_ls_udp_states(const struct ct_ls_opts *o);

#endif
