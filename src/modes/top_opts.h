/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_TOP_OPTS_H
#define CT_TOP_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "modes/options.h"
#include "modes/top_view.h"

struct ct_top_opts {
	struct ct_top_state st;
	bool json;
	bool verbose;
	bool batch;		/* plain snapshots even on a terminal */
	double interval_s;
	uint32_t count;		/* snapshots to print; 0: until interrupted */
	uint32_t max_conns;	/* 0: the kernel map's own size */
	uint32_t ring_bytes;	/* --ring-size; 0: the default */
	bool shares;		/* per-call hooks: shares of shared sockets */
	bool udp;		/* per-call hooks for UDP */
};

extern const struct ct_cmd ct_top_cmd;

/* argv[0] is the mode name. */
enum ct_parse_result ct_top_parse(int argc, char **argv,
				  struct ct_top_opts *o, char *err,
				  size_t errlen);

#endif
