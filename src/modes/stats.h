/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_STATS_H
#define CT_STATS_H

/* `conntrace stats`: protocol and interface counters. Returns an exit code. */
int ct_stats_main(int argc, char **argv);

#endif
