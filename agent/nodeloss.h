/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A job across nodes that loses a node other than its batch host (nodeloss.c):
 * its launcher (mpirun) sees its daemon there go and ends the script with an
 * error, seconds before slurmctld sees the node down and would requeue the
 * job. The batch host's monitor tells the two apart and requeues the job
 * itself, so that it resumes from its last checkpoint instead of failing.
 */
#ifndef CR_NODELOSS_H
#define CR_NODELOSS_H

#include "ctx.h"
#include "jobstat.h"

/*
 * The script ended with status (non-zero): when another node of the job
 * cannot be reached, requeue the job (its AdminComment says why). 1 when
 * requeued: the script's end is not the job's; 0 otherwise.
 */
int nodeloss_requeue(const struct crd_ctx *ctx, const struct cr_job *ji, int status);

#endif
