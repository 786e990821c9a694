/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_LS_H
#define CT_LS_H

/* `conntrace ls`: a snapshot of TCP and UDP sockets, like ss and netstat. */
int ct_ls_main(int argc, char **argv);
/* `conntrace states`: the state histogram, as ls --summary. */
int ct_states_main(int argc, char **argv);

#endif
