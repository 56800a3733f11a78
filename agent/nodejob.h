/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A job's container on this node, as the node door's helpers see it (node.c, nodedump.c). */
#ifndef CR_NODEJOB_H
#define CR_NODEJOB_H

#include <stdint.h>
#include <sys/types.h>

#include "jobstat.h"

/* What the job's monitor says about its container here. */
struct node_job {
	uint32_t jobid, slot, unit, uid, gid;
	pid_t init, relay, script; /* host pids; script 0 when none runs */
	int batch;
	enum job_state state;
	char hostname[64];
};

#endif
