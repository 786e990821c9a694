// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/cgroup_out.h"

#include <stdio.h>

#include "engine/cgroup.h"
#include "engine/netns.h"
#include "engine/nsname.h"

const char *ct_container_cell(uint64_t cgroup)
{
	const struct ct_cgroup *cg = ct_cgroup_get(cgroup);

	return cg ? ct_cgroup_label(cg) : "?";
}

bool ct_cgroup_json(struct json_writer *j, uint64_t cgroup)
{
	const struct ct_cgroup *cg = ct_cgroup_get(cgroup);

	if (!cg) {
		json_null(j, "cgroup");
		json_null(j, "container");
		return false;
	}
	json_str(j, "cgroup", cg->path);
	if (cg->ctr.name[0])
		json_str(j, "container", cg->ctr.name);
	else
		json_null(j, "container");
	return true;
}

void ct_netns_name_json(struct json_writer *j, uint32_t netns)
{
	const char *name = ct_netns_name(netns);

	if (name)
		json_str(j, "netns_name", name);
	else
		json_null(j, "netns_name");
}

const char *ct_netns_cell(uint32_t netns, char *buf, size_t len)
{
	const char *name;

	if (!netns || netns == ct_netns_self())
		return "-";
	name = ct_netns_name(netns);
	if (name)
		return name;
	snprintf(buf, len, "%u", netns);
	return buf;
}
