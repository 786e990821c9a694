/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_LS_OUT_H
#define CT_LS_OUT_H

#include <stdio.h>

#include "modes/ls_opts.h"
#include "engine/owners.h"
#include "engine/sockdump.h"

/* Counts for --summary: per TCP state, and totals per protocol/family. */
struct ct_ls_summary {
	uint64_t tcp_states[16];
	uint64_t udp_states[16];
	uint64_t total[2][2];	/* [tcp, udp][ipv4, ipv6] */
};

void ct_ls_header(FILE *f, const struct ct_ls_opts *o, bool show_netns);
/*
 * One socket is its body, then its end: the owner (holder may be NULL,
 * unknown or not asked for) comes last, so a body can be written before
 * the owners are known.
 */
void ct_ls_body(FILE *f, const struct ct_ls_opts *o, const struct ct_sockrec *r,
		bool show_netns);
void ct_ls_end(FILE *f, const struct ct_ls_opts *o, const struct ct_holder *holder);
void ct_ls_count(struct ct_ls_summary *s, const struct ct_sockrec *r);
void ct_ls_print_summary(FILE *f, const struct ct_ls_summary *s, bool json);

/* "ESTABLISHED", or "UNCONN" for an unconnected UDP socket. */
const char *ct_ls_state_name(const struct ct_sockrec *r);

#endif
