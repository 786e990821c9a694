// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/ls_opts.h"

#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/filter.h"

enum { OPT_NETNS = 300, OPT_SUMMARY };

static const struct option long_opts[] = {
	{ "tcp", no_argument, NULL, 't' },
	{ "udp", no_argument, NULL, 'u' },
	{ "listening", no_argument, NULL, 'l' },
	{ "all", no_argument, NULL, 'a' },
	{ "numeric", no_argument, NULL, 'n' },
	{ "processes", no_argument, NULL, 'p' },
	{ "extended", no_argument, NULL, 'e' },
	{ "options", no_argument, NULL, 'o' },
	{ "info", no_argument, NULL, 'i' },
	{ "memory", no_argument, NULL, 'm' },
	{ "ipv4", no_argument, NULL, '4' },
	{ "ipv6", no_argument, NULL, '6' },
	{ "json", no_argument, NULL, 'j' },
	{ "filter", required_argument, NULL, 'F' },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "summary", no_argument, NULL, OPT_SUMMARY },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void ct_ls_usage(FILE *f)
{
	fputs("Usage: conntrace ls [OPTIONS] [FILTER]\n"
	      "       conntrace states [OPTIONS] [FILTER]   (same as ls --summary)\n"
	      "List TCP and UDP sockets, like ss and netstat, with their owners and\n"
	      "the bytes each TCP connection moved.\n"
	      "\n"
	      "  -t, --tcp            TCP sockets\n"
	      "  -u, --udp            UDP sockets (neither -t nor -u: both)\n"
	      "  -l, --listening      only listening (UDP: unconnected) sockets\n"
	      "  -a, --all            sockets in every state\n"
	      "  -n, --numeric        numeric addresses (always; for netstat habits)\n"
	      "  -p, --processes      the process holding each socket\n"
	      "  -e, --extended       uid, inode and cookie\n"
	      "  -o, --options        timers\n"
	      "  -i, --info           TCP internals: rtt, cwnd, retransmits, delivery rate\n"
	      "  -m, --memory         socket memory\n"
	      "  -4, --ipv4 / -6, --ipv6  one address family\n"
	      "  -j, --json           one JSON object per socket\n"
	      "  -F, --filter FILE    read the filter from FILE\n"
	      "      --netns NS       list namespace NS (a name in /run/netns or a\n"
	      "                       path); repeatable; 'all' for every namespace\n"
	      "      --summary        state histogram and totals instead of sockets\n"
	      "  -h, --help           show this help\n"
	      "\n"
	      "FILTER is ss's language, e.g. 'state established and dport = :443',\n"
	      "'dst 10.0.0.0/8 or dst 192.168.0.0/16', 'sport >= 1024'.\n",
	      f);
}

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
	default: return 0;
	}
	return 1;
}

static int add_netns(struct ct_ls_opts *o, const char *arg, char *err,
		     size_t len)
{
	if (!strcmp(arg, "all")) {
		o->netns_all = true;
		return 0;
	}
	if (o->nnetns == CT_LS_MAX_NETNS) {
		snprintf(err, len, "too many --netns (at most %d)", CT_LS_MAX_NETNS);
		return -1;
	}
	o->netns[o->nnetns++] = arg;
	return 0;
}

enum ct_parse_result ct_ls_parse(int argc, char **argv, struct ct_ls_opts *o,
				 char *err, size_t errlen)
{
	bool v4 = false, v6 = false;
	const char *file = NULL;
	int c;

	memset(o, 0, sizeof(*o));
	ct_cli_reset();
	/* '+': options end at the filter's first word, as in ss. */
	while ((c = getopt_long(argc, argv, "+:tulanpeoim46jF:h", long_opts,
				NULL)) != -1) {
		if (c == '?' || c == ':') {
			ct_cli_getopt_error(c, argv, long_opts, err, errlen);
			return CT_PARSE_ERROR;
		}
		if (set_flag(o, c))
			continue;
		if (c == '4' || c == '6')
			*(c == '4' ? &v4 : &v6) = true;
		else if (c == 'F')
			file = optarg;
		else if (c == OPT_NETNS && add_netns(o, optarg, err, errlen))
			return CT_PARSE_ERROR;
		else if (c == 'h')
			return CT_PARSE_HELP;
	}
	if (v4 != v6)
		o->family = v4 ? AF_INET : AF_INET6;
	if (!o->tcp && !o->udp)
		o->tcp = o->udp = true;
	/* A histogram is of every state, unless asked for listeners only. */
	if (o->summary && !o->listening)
		o->all = true;
	if (ct_cli_parse_expr(argc - optind, argv + optind, file, &o->filter,
			      err, errlen))
		return CT_PARSE_ERROR;
	return CT_PARSE_OK;
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
