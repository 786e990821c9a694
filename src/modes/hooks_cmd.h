/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_HOOKS_CMD_H
#define CT_HOOKS_CMD_H

#include "modes/options.h"

/*
 * `conntrace hooks`: what the running kernel offers, and whether each
 * variant of the kernel programs loads through the verifier and attaches.
 */
int ct_hooks_main(int argc, char **argv);

extern const struct ct_cmd ct_hooks_cmd;

#endif
