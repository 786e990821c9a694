/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_EXPORT_H
#define CT_EXPORT_H

/* `conntrace export`: Prometheus metrics over HTTP. Exit code. */
int ct_export_main(int argc, char **argv);

#endif
