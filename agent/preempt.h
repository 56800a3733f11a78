/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Preemption (preempt.c): a job that a higher-tier partition's job preempts
 * is checkpointed within its partition's GraceTime, then requeued
 * (PreemptMode=REQUEUE: it resumes from that checkpoint) or ended
 * (PreemptMode=CANCEL: `crctl restart` brings it back).
 */
#ifndef CR_PREEMPT_H
#define CR_PREEMPT_H

#include <stdint.h>
#include <time.h>

#include "coord.h"
#include "ctx.h"
#include "jobstat.h"

/* One allocation's view of the job's preemption. */
struct preempt {
	int state;	/* 0: not set up; 1: watching; -1: nothing to watch, or done */
	uint16_t mode;	/* PREEMPT_MODE_REQUEUE or PREEMPT_MODE_CANCEL */
	uint32_t grace; /* the partition's GraceTime, seconds */
	int every;	/* seconds between two questions to slurmctld */
	time_t asked;	/* when slurmctld was last asked */
	time_t end;	/* preempted: when Slurm ends the job (the grace time's end) */
	char why[256];	/* the AdminComment's reason */
};

/*
 * Seconds until slurmctld is asked again whether the job is preempted, 0:
 * it is, checkpoint now; -1: never in this allocation (no preemption
 * configured, a partition without GraceTime, or already taken). Slurm signals
 * no batch script when the grace time starts, so the monitor asks.
 */
int preempt_wait(const struct crd_ctx *ctx, const struct cr_job *ji, struct preempt *p, time_t now);

/*
 * The batch script is sent SIGTERM: if that is Slurm ending a preempted job
 * (a grace time too short for the poll), the AdminComment says why no
 * checkpoint was taken. The signal is forwarded all the same.
 */
void preempt_on_term(const struct crd_ctx *ctx, const struct cr_job *ji, struct preempt *p);

/* The checkpoint preempt_wait made due: then a requeue, or the end of the job. */
void preempt_opts(const struct preempt *p, struct coord_opts *o);

/* It failed (msg), or did not end within the grace time: the AdminComment says so. */
void preempt_failed(const struct cr_job *ji, const struct preempt *p, const char *msg);

#endif
