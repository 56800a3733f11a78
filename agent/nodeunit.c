// SPDX-License-Identifier: LGPL-2.1-or-later
/* A job's extra containers on a node, made for a restore onto fewer nodes (nodeunit.h). */
#include <errno.h>
#include <string.h>

#include "errmsg.h"
#include "jobstat.h"
#include "log.h"
#include "monitor.h"
#include "nodeunit.h"

int node_unit_make(const struct crd_ctx *ctx, uint32_t jobid, uint32_t unit, uint32_t slot,
		   uint32_t addr, char *err, size_t errlen)
{
	const char *node = ctx->conf.node_name;
	struct job_status st;
	struct cr_job ji;
	pid_t holder = 0;
	int ret;

	if (unit == 0 || unit >= CR_MAX_UNITS || unit >= ctx->conf.max_slots_per_node)
		return err_set(err, errlen, -ENOSPC,
			       "node %s takes at most %u slot(s) of a job (MaxSlotsPerNode)", node,
			       ctx->conf.max_slots_per_node);
	if (jobstat_get(ctx, jobid, unit, &st) == 0)
		return 0;
	if (jobstat_get(ctx, jobid, 0, &st))
		return err_set(err, errlen, -ENOENT, "job %u has no container on node %s", jobid,
			       node);
	/* a previous run's container of this unit may still be going (its epilog) */
	ret = jobstat_wait_gone(ctx, jobid, unit, 15000, &holder);
	if (ret)
		return err_set(err, errlen, ret,
			       "job %u: unit %u of a previous run is not removed (monitor %d)",
			       jobid, unit, (int)holder);
	ji = st.ji;
	ji.unit = unit;
	ji.slot = slot;
	ji.batch = 0;
	ji.addr = addr;
	ji.placement[0] = '\0';
	ret = monitor_spawn(ctx, &ji, err, errlen);
	if (ret)
		return ret;
	log_info("job %u: container unit %u made for slot %u", jobid, unit, slot);
	return 0;
}
