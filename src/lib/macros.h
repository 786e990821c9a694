/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/* Small preprocessor helpers that several layers use. */
#ifndef CT_MACROS_H
#define CT_MACROS_H

/* A macro's value as a string literal, for help and messages built at compile time. */
#define CT_STR_(x) #x
#define CT_STR(x) CT_STR_(x)

#endif
