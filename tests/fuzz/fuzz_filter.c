// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * libFuzzer target for the filter parser. Besides not crashing, it checks
 * what the callers rely on: a failed parse leaves a one-line message and a
 * NULL filter; a good one never matches a socket that ctf_states() or
 * ctf_port() say it cannot match.
 * Built and run by tests/fuzz/run.sh.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/filter.h"

#define NSOCKS 8

static void must(int cond, const char *what, const char *text)
{
	if (cond)
		return;
	fprintf(stderr, "fuzz_filter: %s for filter \"%s\"\n", what, text);
	abort();
}

static void set_sock(struct ctf_sockinfo *s, int family, int state,
		     const char *saddr, uint16_t sport, const char *daddr,
		     uint16_t dport)
{
	memset(s, 0, sizeof(*s));
	s->family = family;
	s->state = (uint8_t)state;
	s->sport = sport;
	s->dport = dport;
	if (family == AF_INET || family == AF_INET6) {
		inet_pton(family, saddr, s->saddr);
		inet_pton(family, daddr, s->daddr);
	}
}

/* Rebuilt per input, so the target keeps no state between runs. */
static void make_socks(struct ctf_sockinfo *s)
{
	set_sock(&s[0], AF_INET, 1, "10.0.0.5", 43210, "52.92.53.10", 443);
	set_sock(&s[1], AF_INET, 10, "0.0.0.0", 8080, "0.0.0.0", 0);
	set_sock(&s[2], AF_INET6, 1, "2001:db8::5", 22, "2001:db8:1::9", 51000);
	set_sock(&s[3], AF_INET6, 6, "::ffff:192.168.1.10", 80,
		 "::ffff:52.95.130.1", 80);
	set_sock(&s[4], AF_INET6, 12, "::1", 65535, "::1", 1);
	set_sock(&s[5], AF_INET, 0, "255.255.255.255", 0, "127.0.0.1", 0);
	set_sock(&s[6], AF_INET, 255, "1.2.3.4", 1, "5.6.7.8", 2);
	set_sock(&s[7], AF_UNIX, 7, "", 22, "", 22);
}

static void check_filter(const struct ctf_filter *f, const char *text)
{
	struct ctf_sockinfo socks[NSOCKS];
	uint32_t states = ctf_states(f);
	int sport = ctf_port(f, CTF_SRC);
	int dport = ctf_port(f, CTF_DST);
	int either = ctf_port(f, CTF_EITHER);

	make_socks(socks);
	must(!(states & ~CTF_STATES_ALL), "states outside the mask", text);
	must(sport >= -1 && sport <= 65535 && dport >= -1 && dport <= 65535 &&
		     either >= -1 && either <= 65535,
	     "port out of range", text);
	for (int i = 0; i < NSOCKS; i++) {
		const struct ctf_sockinfo *s = &socks[i];

		if (!ctf_match(f, s))
			continue;
		if (s->state < 32 && CTF_STATES_ALL >> s->state & 1)
			must(states >> s->state & 1, "state excluded", text);
		must(sport < 0 || sport == s->sport, "sport excluded", text);
		must(dport < 0 || dport == s->dport, "dport excluded", text);
		must(either < 0 || either == s->sport || either == s->dport,
		     "port excluded", text);
	}
}

static void check_error(int rc, const struct ctf_filter *f,
			const struct ctf_error *err, const char *text)
{
	must(rc < 0 && !f, "failed parse left a filter", text);
	must(!strncmp(err->msg, "filter: ", 8), "message prefix", text);
	must(!strchr(err->msg, '\n'), "message has a newline", text);
	must(strlen(err->msg) < sizeof(err->msg), "message not terminated",
	     text);
}

static void try_text(const char *text)
{
	struct ctf_filter *f = NULL;
	struct ctf_error err;
	int rc;

	rc = ctf_parse(text, &f, &err);
	if (rc == 0)
		check_filter(f, text);
	else
		check_error(rc, f, &err, text);
	ctf_free(f);
}

/* The same bytes split at NULs, as words of argv. */
static void try_argv(char *buf, size_t size)
{
	struct ctf_filter *f = NULL;
	struct ctf_error err;
	char *argv[64];
	int argc = 0, rc;

	for (size_t off = 0; off <= size && argc < 64; ) {
		argv[argc++] = buf + off;
		off += strlen(buf + off) + 1;
	}
	rc = ctf_parse_argv(argc, argv, &f, &err);
	if (rc == 0)
		check_filter(f, "(argv)");
	else
		check_error(rc, f, &err, "(argv)");
	ctf_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	try_text(text);
	if (memchr(data, '\0', size))
		try_argv(text, size);
	free(text);
	return 0;
}
