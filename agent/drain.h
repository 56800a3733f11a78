/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * EvacuateOnDrain=yes (drain.c): a node of a checkpointable job drained by
 * any means but crctl evacuate (`scontrol update State=DRAIN`, a health
 * check) gets the job checkpointed and requeued off it, as crctl evacuate
 * does.
 */
#ifndef CR_DRAIN_H
#define CR_DRAIN_H

#include <stdint.h>
#include <time.h>

#include "coord.h"
#include "ctx.h"
#include "jobstat.h"

/* The end of the reason crctl evacuate drains a node with: its jobs are crctl's to requeue. */
#define DRAIN_EVACUATE_MARK "(crctl evacuate)"

/* One allocation's watch of its nodes' drain state. */
struct drain {
	int state;	    /* 0: watching; -1: off, or taken */
	time_t asked;	    /* when slurmctld was last asked */
	time_t node_update; /* slurmctld's node table time of that answer */
	char why[256];	    /* the AdminComment's reason */
};

/*
 * Seconds until slurmctld's node table is looked at again (unchanged tables
 * cost slurmctld next to nothing), 0: a node of the job is drained, requeue
 * the job now; -1: never (EvacuateOnDrain=no, or taken).
 */
int drain_wait(const struct crd_ctx *ctx, const struct cr_job *ji, struct drain *d, time_t now);

/* The checkpoint drain_wait made due: then a requeue off the drained node. */
void drain_opts(const struct drain *d, struct coord_opts *o);

/* It failed (msg): the job runs on, its AdminComment and `crctl error` say why. */
void drain_failed(const struct cr_job *ji, const struct drain *d, const char *msg);

#endif
