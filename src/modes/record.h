/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_RECORD_H
#define CT_RECORD_H

/* `conntrace record`: the flight recorder. Returns an exit code. */
int ct_record_main(int argc, char **argv);

#endif
