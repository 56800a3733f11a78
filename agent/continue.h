/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sbatch --checkpoint-continue (continue.c): the batch host's monitor
 * checkpoints the job ContinueLead seconds before its time limit and
 * requeues it; it continues from that checkpoint in its next allocation.
 */
#ifndef CR_CONTINUE_H
#define CR_CONTINUE_H

#include <stdint.h>
#include <time.h>

#include "coord.h"
#include "ctx.h"
#include "jobstat.h"

/* One allocation's view of the job's time limit. */
struct cont {
	time_t end;    /* when slurmctld ends the job (0: no limit, or not asked yet) */
	time_t asked;  /* when slurmctld was last asked */
	time_t start;  /* the allocation's start */
	int done;      /* taken, failed or refused: once per allocation */
	unsigned used; /* continuations before this allocation (AdminComment) */
	char why[256]; /* the AdminComment's reason of the one taken */
};

/*
 * Seconds until the job's continuation checkpoint is due (0: now), or -1:
 * none in this allocation (a refusal, AllowContinue=no or MaxContinues
 * reached, goes into the job's AdminComment once).
 */
int continue_wait(const struct crd_ctx *ctx, const struct cr_job *ji, struct cont *c, time_t now);

/* The checkpoint continue_wait made due: a requeue, counted in the AdminComment. */
void continue_opts(const struct cont *c, struct coord_opts *o);

/* It failed (msg): the job ends at its time limit, and its AdminComment says why. */
void continue_failed(const struct cr_job *ji, struct cont *c, const char *msg);

#endif
