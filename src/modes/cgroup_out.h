/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/* An owner's cgroup and container, as every mode prints them. */
#ifndef CT_CGROUP_OUT_H
#define CT_CGROUP_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "output/json.h"

/* The container column: its name, else the cgroup's path; "?" if unknown. */
const char *ct_container_cell(uint64_t cgroup);

/*
 * "cgroup" (the path, as ss prints it) and "container" (the name of a
 * known layout), each null when not known. Whether the cgroup is known.
 */
bool ct_cgroup_json(struct json_writer *j, uint64_t cgroup);

/* "netns_name": a network namespace's name (engine/nsname.h), or null. */
void ct_netns_name_json(struct json_writer *j, uint32_t netns);

/*
 * The namespace column: "-" for ours, else its name, else its inode
 * number, in buf.
 */
const char *ct_netns_cell(uint32_t netns, char *buf, size_t len);

#endif
