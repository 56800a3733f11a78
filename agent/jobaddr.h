/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A job's block of job network addresses, as crd claims and gives it back:
 * the registry (jobnetreg.h) at JobNetworkRegistry, a job in use while
 * Slurm still has it queued or running or its checkpoint directory is there.
 */
#ifndef CR_JOBADDR_H
#define CR_JOBADDR_H

#include <stddef.h>
#include <stdint.h>

#include "ctx.h"
#include "jobstat.h"

/* @ji's first block (jobpeers_slot_addr), and ji->addr, its slot's address: 0 or -errno. */
int jobaddr_claim(const struct crd_ctx *ctx, struct cr_job *ji, uint32_t *block, char *err,
		  size_t errlen);
/* The job's checkpoints (and its restart_from's) are gone: its blocks go back. */
void jobaddr_release(const struct crd_ctx *ctx, uint32_t jobid, uint32_t restart_from);

#endif /* CR_JOBADDR_H */
