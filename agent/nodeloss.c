// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A node of the job lost, as the batch host sees it: its crd's host does not
 * answer a TCP connection within PROBE_S seconds (a refused connection is a
 * host that answers). Only asked when the script ended with an error, so a
 * running job pays nothing; a job whose nodes all answer ends as its script
 * did.
 */
#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordio.h"
#include "log.h"
#include "nodeloss.h"
#include "slurmjob.h"

#define PROBE_S 3

/* The first other node of the job that cannot be reached, into lost; 1 if one. */
static int _find_lost(const struct crd_ctx *ctx, const char *nodelist, char *lost, size_t len)
{
	hostlist_t hl = slurm_hostlist_create(nodelist);
	int found = 0;
	char *h;

	if (!hl)
		return 0;
	while (!found && (h = slurm_hostlist_shift(hl))) {
		if (strcmp(h, ctx->conf.node_name) && !coordio_node_alive(ctx, h, PROBE_S)) {
			snprintf(lost, len, "%s", h);
			found = 1;
		}
		free(h);
	}
	slurm_hostlist_destroy(hl);
	return found;
}

int nodeloss_requeue(const struct crd_ctx *ctx, const struct cr_job *ji, int status)
{
	char lost[128], note[SLURMJOB_MSG_MAX];

	if (!status || !ji->batch || !ctx->slurm_ok || !strpbrk(ji->nodelist, ",[") ||
	    !_find_lost(ctx, ji->nodelist, lost, sizeof(lost)))
		return 0;
	snprintf(note, sizeof(note),
		 "node %.100s lost: the script ended (status %#x) with it; requeued, to resume "
		 "from the last committed checkpoint",
		 lost, (unsigned)status);
	slurmjob_note(ji->jobid, 0, 0, note);
	/* Pending: slurmctld saw the node down first and requeued the job itself. */
	if (slurm_requeue(ji->jobid, 0) != 0 && slurm_get_errno() != ESLURM_JOB_PENDING) {
		log_warnx("job %u: node %s lost, but the requeue failed: %s; the job ends as its "
			  "script did",
			  ji->jobid, lost, slurm_strerror(slurm_get_errno()));
		return 0;
	}
	log_warnx("job %u: %s", ji->jobid, note);
	return 1;
}
