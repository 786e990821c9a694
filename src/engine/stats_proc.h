/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_STATS_PROC_H
#define CT_STATS_PROC_H

#include <stddef.h>
#include <stdio.h>

#include "engine/stats_data.h"

#define CT_PROCNET_DIR "/proc/net"
#define CT_SYSNET_DIR "/sys/class/net"

/*
 * Parsers append what they read to out and return 0, -ENOMEM, -EIO, or
 * -EBADMSG with *line set to the first line they could not read.
 */

/* /proc/net/snmp or /proc/net/netstat: "Tcp: names" then "Tcp: values". */
int ct_parse_snmp(FILE *f, struct ct_counters *out, int *line);
/* /proc/net/snmp6: "Ip6InReceives  28" lines. */
int ct_parse_snmp6(FILE *f, struct ct_counters *out, int *line);
/* /proc/net/dev; the MTUs are left unknown. */
int ct_parse_netdev(FILE *f, struct ct_ifaces *out, int *line);

/* MTU of ifname from sysnet/IFNAME/mtu, or -1. */
int ct_read_mtu(const char *sysnet, const char *ifname);

/*
 * Reads snmp, snmp6 and netstat of procnet (normally CT_PROCNET_DIR) into
 * out, in nstat's order. A missing file is skipped: no IPv6, no counters.
 * Returns 0 or -errno with a one-line message in err.
 */
int ct_read_counters(const char *procnet, struct ct_counters *out, char *err,
		     size_t errlen);
/* Reads procnet/dev, and the MTUs under sysnet, into out. */
int ct_read_ifaces(const char *procnet, const char *sysnet,
		   struct ct_ifaces *out, char *err, size_t errlen);

#endif
