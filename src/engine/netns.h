/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_NETNS_H
#define CT_NETNS_H

#include <errno.h>
#include <stdint.h>

/* Inode number of our own network namespace, 0 on error. */
uint32_t ct_netns_self(void);

/*
 * Opens a file descriptor for the network namespace with this inode
 * number, looking in /run/netns (named namespaces) and then at every
 * process. Returns the fd or -errno.
 */
int ct_netns_open(uint32_t ino);

/*
 * Runs fn(arg) inside the network namespace ino and returns its result,
 * or -errno if the namespace cannot be entered. Sockets fn opens stay in
 * that namespace after we return to ours.
 */
int ct_netns_run(uint32_t ino, int (*fn)(void *arg), void *arg);

/* The path named something that is not a network namespace. */
#define CT_NETNS_ENOTNET (-EMEDIUMTYPE)

/*
 * The inode of a namespace given as a name in /run/netns or as a path
 * (such as /proc/PID/ns/net, or any bind mount of one). The namespace is
 * held open, so ct_netns_open() finds it even if no process is in it.
 * Returns 0, -errno, or CT_NETNS_ENOTNET.
 */
int ct_netns_resolve(const char *name, uint32_t *ino);

/* What a return value of ct_netns_resolve() or ct_netns_open() means. */
const char *ct_netns_strerror(int rc);

/*
 * Every network namespace in use: ours, the named ones, and those of all
 * processes (containers), each once. Returns how many (at most max).
 */
int ct_netns_all(uint32_t *out, int max);

#endif
