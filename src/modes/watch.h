/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_WATCH_H
#define CT_WATCH_H

/* `conntrace watch`: streams TCP state transitions. Returns an exit code. */
int ct_watch_main(int argc, char **argv);

#endif
