/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_REPLAY_H
#define CT_REPLAY_H

/* `conntrace replay`: a recording shown as the live modes would. */
int ct_replay_main(int argc, char **argv);

#endif
