// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/export_opts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/acct.h"
#include "lib/macros.h"

enum { OPT_LISTEN = CT_OPT_MODE_FIRST, OPT_BY, OPT_MAX_SERIES };

static const struct ct_opt opts[] = {
	CT_FILTER_OPTS,
	CT_TEXT("listen", OPT_LISTEN, "ADDR:PORT",
		"serve on ADDR:PORT ([ADDR]:PORT for IPv6; port 0: any free "
		"one, said on stderr)", "127.0.0.1:" CT_STR(CT_EXPORT_PORT)),
	CT_SECS("interval", 'd', "SECS",
		"read the kernel's counters when scraped, at most every SECS "
		"seconds", CT_MIN_INTERVAL_S, 3600, "1"),
	CT_TEXT("by", OPT_BY, "LABELS",
		"extra labels, comma-separated: remote-net[/LEN] (the "
		"remote address's network, /24 and /64 unless LEN; IPv6: "
		"remote-net6/LEN) or local-port (of accepted connections)", NULL),
	/*
	 * Prometheus keeps every series it has seen for hours; a cap keeps a
	 * host that makes many processes or talks to many peers from filling
	 * it. 5,000 holds the nstat counters (about 200) with ample room.
	 */
	CT_UINT("max-series", OPT_MAX_SERIES, "N",
		"series at most; past it, new label sets are counted under "
		"\"other\"", 300, 1000000, "5000"),
	CT_FLAG("verbose", 'v', "libbpf's messages and each request on stderr"),
	CT_FLAG("help", 'h', "show this help"),
	CT_RING_OPT(CT_STR(CT_RINGBUF_MIB)),
	CT_OPT_END,
};

const struct ct_cmd ct_export_cmd = {
	.name = "export",
	.synopsis = "export [OPTIONS] [FILTER]",
	.about = "Serves Prometheus metrics over HTTP: GET /metrics (OpenMetrics when\n"
		 "the scraper asks for it) and / (a short page), until stopped.\n"
		 "Bytes per process name, state transitions, connections by state,\n"
		 "connect latency and failures, retransmits, resets and drops, nstat's\n"
		 "TCP and UDP counters and conntrace's own losses; no address, port\n"
		 "or pid labels unless --by asks.\n"
		 "FILTER is an ss-style expression (see 'conntrace ls --help').",
	.opts = opts,
	.needs_root = true,
};

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int ct_export_parse_listen(const char *text, struct sockaddr_storage *sa,
			   socklen_t *len)
{
	const char *colon = strrchr(text, ':');
	char host[INET6_ADDRSTRLEN + 2];
	size_t hlen;
	uint16_t port;

	if (!colon || parse_port(colon + 1, &port))
		return -EINVAL;
	hlen = (size_t)(colon - text);
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	memset(sa, 0, sizeof(*sa));
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;

		host[hlen - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)sa;

	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	*len = sizeof(*s4);
	/* No host: loopback, the closed default, never every address. */
	if (!hlen)
		return inet_pton(AF_INET, "127.0.0.1", &s4->sin_addr) == 1 ? 0 : -EINVAL;
	return inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : -EINVAL;
}

static int parse_prefix(const char *s, unsigned max, uint8_t *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	v = strtoul(s, &end, 10);
	if (*end || v > max)
		return -EINVAL;
	*out = (uint8_t)v;
	return 0;
}

int ct_export_parse_by(const char *text, struct ct_export_by *by)
{
	char word[64];
	const char *p = text;

	while (*p) {
		size_t n = strcspn(p, ",");

		if (!n || n >= sizeof(word))
			return -EINVAL;
		memcpy(word, p, n);
		word[n] = '\0';
		p += n + (p[n] == ',');
		if (!strcmp(word, "local-port")) {
			by->local_port = true;
		} else if (!strcmp(word, "remote-net")) {
			by->remote_net = true;
		} else if (!strncmp(word, "remote-net/", 11)) {
			by->remote_net = true;
			if (parse_prefix(word + 11, 32, &by->prefix4))
				return -EINVAL;
		} else if (!strncmp(word, "remote-net6/", 12)) {
			by->remote_net = true;
			if (parse_prefix(word + 12, 128, &by->prefix6))
				return -EINVAL;
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

static int fail(char *err, size_t len, const char *what, const char *arg)
{
	snprintf(err, len, "invalid %s '%s'", what, arg);
	return CT_PARSE_ERROR;
}

static int apply(void *ctx, const struct ct_opt *opt,
		 const struct ct_optval *v, char *err, size_t len)
{
	struct ct_export_opts *o = ctx;

	switch (opt->key) {
	case OPT_LISTEN:
		if (ct_export_parse_listen(v->text, &o->listen, &o->listen_len))
			return fail(err, len, "listen address (ADDR:PORT)", v->text);
		break;
	case 'd':
		o->interval_s = v->secs;
		break;
	case OPT_BY:
		if (ct_export_parse_by(v->text, &o->by))
			return fail(err, len, "--by label set", v->text);
		break;
	case OPT_MAX_SERIES:
		o->max_series = v->u;
		break;
	case CT_OPT_RING:
		o->ring_bytes = ct_ring_bytes(v->u);
		break;
	case 'v':
		o->verbose = true;
		break;
	}
	return CT_PARSE_OK;
}

enum ct_parse_result ct_export_parse(int argc, char **argv,
				     struct ct_export_opts *o, char *err,
				     size_t errlen)
{
	memset(o, 0, sizeof(*o));
	o->interval_s = 1.0;
	o->max_series = 5000;
	o->by.prefix4 = 24;
	o->by.prefix6 = 64;
	ct_export_parse_listen("127.0.0.1:" CT_STR(CT_EXPORT_PORT), &o->listen,
			       &o->listen_len);
	return ct_opts_parse_filtered(&ct_export_cmd, argc, argv, &o->filter,
				      apply, o, err, errlen);
}
