// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/ls_opts.h"

#include <netinet/tcp.h>
#include <string.h>

#include "engine/filter.h"
#include "engine/resolve.h"
#include "lib/macros.h"

enum { OPT_NETNS = CT_OPT_MODE_FIRST, OPT_SUMMARY, OPT_BY, OPT_BY_CONTAINER };

/* What ls and states share: which sockets, and how to print them. */
#define SOCKET_OPTS							\
	CT_FLAG("tcp", 't', "TCP sockets"),				\
	CT_FLAG("udp", 'u', "UDP sockets (neither -t nor -u: both)"),	\
	CT_FLAG("listening", 'l',					\
		"only listening (UDP: unconnected) sockets"),		\
	CT_FLAG("all", 'a', "sockets in every state"),			\
	CT_FLAG("numeric", 'n',						\
		"numeric addresses (always; for netstat habits)"),	\
	CT_FLAG("ipv4", '4', "only IPv4"),				\
	CT_FLAG("ipv6", '6', "only IPv6"),				\
	CT_TEXT("filter", 'F', "FILE",					\
		"read the filter from FILE ('-': stdin)", NULL),	\
	CT_TEXT("netns", OPT_NETNS, "NS",				\
		"list namespace NS (a name in /run/netns or a path); "	\
		"'all' for every namespace; up to "			\
		CT_STR(CT_LS_MAX_NETNS) " times", NULL),			\
	CT_OWNER_CGROUP_OPTS

/*
 * Resets end a connection, so a listing of live sockets has none to show:
 * top counts them as they come.
 */
#define TROUBLE_HELP							\
	"Retrans and Drops columns: each socket's retransmitted segments "	\
	"(tcpi_total_retrans, as ss -i) and dropped packets (sk_drops, as " \
	"ss -m) so far"

static const struct ct_opt ls_opts[] = {
	SOCKET_OPTS,
	CT_FLAG("processes", 'p', "the process holding each socket"),
	CT_FLAG("extended", 'e', "uid, inode and cookie"),
	CT_FLAG("options", 'o', "timers"),
	CT_FLAG("info", 'i',
		"TCP internals: rtt, cwnd, retransmits, delivery rate"),
	CT_FLAG("memory", 'm', "socket memory"),
	CT_FLAG("json", 'j', "one JSON object per socket"),
	CT_FLAG("summary", OPT_SUMMARY,
		"state histogram and totals instead of sockets (as states)"),
	CT_FLAG("help", 'h', "show this help"),
	CT_FLAG("human", 'H', "Sent and Received in KiB, MiB, ... (JSON stays "
		"in bytes)"),
	/* ss's letter. Names come from the system's resolver, so bounded. */
	CT_FLAG("resolve", 'r', "host and service names instead of addresses "
		"and ports; each address is looked up once, and waited for at "
		"most " CT_STR(CT_RESOLVE_WAIT_MS) " ms (numeric if slower)"),
	/* top's letter for its refresh */
	CT_SECS("interval", 'd', "SECS", "list again every SECS seconds, each "
		"listing after a line with its time, until Ctrl-C or --count",
		0.1, 86400, NULL),
	CT_UINT("count", CT_OPT_COUNT, "N", "with --interval: N listings, then "
		"exit", 1, 1000000000, NULL),
	CT_UTC_OPT,
	CT_FLAG("trouble", 'T', TROUBLE_HELP),
	CT_OPT_END,
};

static const struct ct_opt states_opts[] = {
	SOCKET_OPTS,
	CT_FLAG("json", 'j', "one JSON object"),
	CT_FLAG("help", 'h', "show this help"),
	CT_TEXT("by", OPT_BY, "KEY", "count sockets per KEY instead: raddr, "
		"rport, lport, comm, state, container or process; container "
		"by the owners' cgroups, process as pid/comm; most frequent "
		"first (as sort | uniq -c)", NULL),
	CT_FLAG("by-container", OPT_BY_CONTAINER,
		"then each container's histogram (by the owners' cgroups)"),
	CT_FLAG("trouble", 'T', "with --by: each KEY's retransmits and drops "
		"so far, summed over its sockets"),
	CT_OPT_END,
};

#define FILTER_NOTE							\
	"FILTER is ss's language, e.g. 'state established and dport = :443',\n" \
	"'dst 10.0.0.0/8 or dst 192.168.0.0/16', 'sport >= 1024'."

const struct ct_cmd ct_ls_cmd = {
	.name = "ls",
	.synopsis = "ls [OPTIONS] [FILTER]",
	.about = "List TCP and UDP sockets, like ss and netstat, with their owners and\n"
		 "the bytes each TCP connection moved.",
	.opts = ls_opts,
	.notes = FILTER_NOTE,
};

const struct ct_cmd ct_states_cmd = {
	.name = "states",
	.synopsis = "states [OPTIONS] [FILTER]",
	.about = "Count TCP sockets per state, most frequent first, then the totals\n"
		 "per protocol and family, like ss -s (the same as ls --summary).\n"
		 "Every state is counted unless -l asks for listeners only.",
	.opts = states_opts,
	.notes = FILTER_NOTE,
};

struct parse_ctx {
	struct ct_ls_opts *o;
	struct ct_family_file ff;
};

static int set_flag(struct ct_ls_opts *o, int c)
{
	switch (c) {
	case 't': o->tcp = true; break;
	case 'u': o->udp = true; break;
	case 'l': o->listening = true; break;
	case 'a': o->all = true; break;
	case 'n': break;
	case 'p': o->procs = true; break;
	case 'e': o->ext = true; break;
	case 'o': o->timers = true; break;
	case 'i': o->info = true; break;
	case 'm': o->mem = true; break;
	case 'j': o->json = true; break;
	case OPT_SUMMARY: o->summary = true; break;
	case 'H': o->human = true; break;
	case 'r': o->resolve = true; break;
	case OPT_BY_CONTAINER: o->by_container = true; break;
	case 'T': o->trouble = true; break;
	default: return 0;
	}
	return 1;
}

static int add_netns(struct ct_ls_opts *o, const char *arg, char *err,
		     size_t len)
{
	if (!strcmp(arg, "all")) {
		o->netns_all = true;
		return CT_PARSE_OK;
	}
	if (o->nnetns == CT_LS_MAX_NETNS) {
		snprintf(err, len, "too many --netns (at most %d)", CT_LS_MAX_NETNS);
		return CT_PARSE_ERROR;
	}
	o->netns[o->nnetns++] = arg;
	return CT_PARSE_OK;
}

static int apply(void *ctx, const struct ct_opt *opt,
		 const struct ct_optval *v, char *err, size_t len)
{
	struct parse_ctx *p = ctx;

	if (set_flag(p->o, opt->key) || ct_family_file_opt(&p->ff, opt->key, v))
		return CT_PARSE_OK;
	switch (opt->key) {
	case OPT_NETNS:
		return add_netns(p->o, v->text, err, len);
	case 'd':
		p->o->interval_s = v->secs;
		break;
	case CT_OPT_COUNT:
		p->o->count = v->u;
		break;
	case OPT_BY:
		if ((p->o->by = ct_ls_by_parse(v->text)) == CT_BY_NONE) {
			snprintf(err, len, "invalid --by '%s' (raddr, rport, lport, "
				 "comm, state, container or process)", v->text);
			return CT_PARSE_ERROR;
		}
		break;
	}
	if (ct_owner_cgroup_opt(opt->key, v, &p->o->cgroup, &p->o->container,
				err, len) < 0)
		return CT_PARSE_ERROR;
	return CT_PARSE_OK;
}

enum ct_parse_result ct_ls_parse(int argc, char **argv, struct ct_ls_opts *o,
				 char *err, size_t errlen)
{
	bool states = argc > 0 && !strcmp(argv[0], "states");
	struct parse_ctx p = { .o = o };
	int rest, rc;

	memset(o, 0, sizeof(*o));
	rc = ct_opts_parse(states ? &ct_states_cmd : &ct_ls_cmd, argc, argv,
			   apply, &p, &rest, err, errlen);
	if (rc != CT_PARSE_OK)
		return rc;
	o->summary |= states;
	if (o->count && !o->interval_s) {
		snprintf(err, errlen, "--count needs --interval");
		return CT_PARSE_ERROR;
	}
	o->family = ct_family_of(&p.ff);
	if (!o->tcp && !o->udp)
		o->tcp = o->udp = true;
	/* A histogram is of every state, unless asked for listeners only. */
	if (o->summary && !o->listening)
		o->all = true;
	if (ct_parse_expr(argc - rest, argv + rest, p.ff.file, &o->filter, err,
			  errlen))
		return CT_PARSE_ERROR;
	return CT_PARSE_OK;
}

static const char *const by_names[CT_BY_MAX] = {
	[CT_BY_RADDR] = "raddr", [CT_BY_RPORT] = "rport",
	[CT_BY_LPORT] = "lport", [CT_BY_COMM] = "comm",
	[CT_BY_STATE] = "state", [CT_BY_CONTAINER] = "container",
	[CT_BY_PROCESS] = "process",
};

enum ct_ls_by ct_ls_by_parse(const char *name)
{
	for (int i = CT_BY_NONE + 1; i < CT_BY_MAX; i++)
		if (!strcmp(name, by_names[i]))
			return (enum ct_ls_by)i;
	return CT_BY_NONE;
}

const char *ct_ls_by_name(enum ct_ls_by by)
{
	return by > CT_BY_NONE && by < CT_BY_MAX ? by_names[by] : "?";
}

#define BIT(s) (1u << (s))

uint32_t ct_ls_tcp_states(const struct ct_ls_opts *o)
{
	uint32_t s;

	if (o->all)
		s = CTF_STATES_ALL;
	else if (o->listening)
		s = BIT(TCP_LISTEN);
	else
		s = CTF_STATES_ALL & ~(BIT(TCP_LISTEN) | BIT(TCP_CLOSE));
	return s & ctf_states(o->filter);
}

uint32_t ct_ls_udp_states(const struct ct_ls_opts *o)
{
	/* An unconnected UDP socket is in CLOSE: it "listens". */
	uint32_t s = o->all ? BIT(TCP_CLOSE) | BIT(TCP_ESTABLISHED) :
		     o->listening ? BIT(TCP_CLOSE) : BIT(TCP_ESTABLISHED);

	return s & ctf_states(o->filter);
}
