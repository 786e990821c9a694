// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/cgroup_out.h"

#include "engine/cgroup.h"

const char *ct_container_cell(uint64_t cgroup)
{
	const struct ct_cgroup *cg = ct_cgroup_get(cgroup);

	return cg ? ct_cgroup_label(cg) : "?";
}

void ct_cgroup_json(struct json_writer *j, uint64_t cgroup)
{
	const struct ct_cgroup *cg = ct_cgroup_get(cgroup);

	if (!cg) {
		json_null(j, "cgroup");
		json_null(j, "container");
		return;
	}
	json_str(j, "cgroup", cg->path);
	if (cg->ctr.name[0])
		json_str(j, "container", cg->ctr.name);
	else
		json_null(j, "container");
}
