/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_EXPORT_OPTS_H
#define CT_EXPORT_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "engine/filter.h"
#include "modes/options.h"

/*
 * Outside Prometheus's exporter range (9100-9999, every number of it taken
 * since 2023), not in the services list, below the ephemeral ports: see
 * the README.
 */
#define CT_EXPORT_PORT 8745

/* Extra label sets, each asked for by name with --by. */
struct ct_export_by {
	bool remote_net;	/* remote_net="10.1.2.0/24" */
	uint8_t prefix4, prefix6;	/* its prefix lengths */
	bool local_port;	/* local_port="443", for accepted connections only */
};

struct ct_export_opts {
	struct ct_kfilter filter;
	struct sockaddr_storage listen;
	socklen_t listen_len;
	double interval_s;	/* how often the counters are read */
	uint32_t max_series;
	struct ct_export_by by;
	bool verbose;
	uint32_t ring_bytes;	/* --ring-size; 0: the default */
};

extern const struct ct_cmd ct_export_cmd;

/* argv[0] is the mode name. */
enum ct_parse_result ct_export_parse(int argc, char **argv,
				     struct ct_export_opts *o, char *err,
				     size_t errlen);

/*
 * "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT" (loopback) into sa; port 0
 * asks the kernel for a free one. 0 or -EINVAL.
 */
int ct_export_parse_listen(const char *text, struct sockaddr_storage *sa,
			   socklen_t *len);

/* One --by word: "remote-net[/LEN[,LEN6]]" or "local-port". 0 or -EINVAL. */
int ct_export_parse_by(const char *text, struct ct_export_by *by);

#endif
