// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/tevkind.h"

static const struct ct_tev_kind_info kinds[CT_TEV_KINDS] = {
	[CT_TEV_RETRANS] = { "retrans", "retransmit", "RETRANS",
			     CT_TALLY_RETRANS, true, false },
	[CT_TEV_SYNACK_RETRANS] = { "retrans", "SYN-ACK retransmit", "RETRANS",
				    CT_TALLY_RETRANS, true, false },
	[CT_TEV_RESET_SENT] = { "reset", "reset sent", "RST_SENT",
				CT_TALLY_RESETS, true, false },
	[CT_TEV_RESET_RECV] = { "reset", "reset received", "RST_RECV",
				CT_TALLY_RESETS, true, false },
	[CT_TEV_CONNECT_FAIL] = { "fail", "failed connect", "CONN_FAIL",
				  -1, true, true },
	[CT_TEV_DROP] = { "drop", "drop", "DROP", CT_TALLY_DROPS, true, false },
	/* Latency is not trouble: on by default it would be a line per connect. */
	[CT_TEV_CONNECT_LAT] = { "latency", "connect latency", "CONN_LAT",
				 -1, false, true },
	[CT_TEV_ACCEPT_LAT] = { "latency", "accept latency", "ACCEPT_LAT",
				-1, false, true },
};

static const struct ct_tev_kind_info unknown = {
	"unknown", "unknown", "UNKNOWN", -1, false, false,
};

const struct ct_tev_kind_info *ct_tev_kind(int kind)
{
	/* A row left out above would be all zeros: no name. */
	if (kind < 0 || kind >= CT_TEV_KINDS || !kinds[kind].name)
		return &unknown;
	return &kinds[kind];
}

unsigned int ct_tev_trouble_kinds(void)
{
	unsigned int mask = 0;

	for (int k = 0; k < CT_TEV_KINDS; k++)
		if (ct_tev_kind(k)->trouble)
			mask |= CT_TEV_BIT(k);
	return mask;
}

unsigned int ct_tev_tally_kinds(void)
{
	unsigned int mask = 0;

	for (int k = 0; k < CT_TEV_KINDS; k++)
		if (ct_tev_kind(k)->tally >= 0)
			mask |= CT_TEV_BIT(k);
	return mask;
}
