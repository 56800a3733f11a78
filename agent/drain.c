// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * EvacuateOnDrain. The batch host's monitor looks at slurmctld's node table
 * every EVERY seconds, asking only for a table newer than the one it has
 * (slurmctld answers "no change" otherwise); when a node of the job is
 * drained (DRAIN or DRAINING) for a reason that is not crctl evacuate's, the
 * job is checkpointed and requeued, once per allocation: its next
 * allocation has no drained node.
 */
#include <errno.h>
#include <slurm/slurm.h>
#include <stdio.h>
#include <string.h>

#include "drain.h"
#include "log.h"
#include "slurmjob.h"

#define EVERY 10 /* seconds between two looks */

/* Is a node of nodelist drained, not by crctl evacuate? Its name and reason into d->why. */
static int _drained(const node_info_msg_t *nm, const char *nodelist, struct drain *d)
{
	hostlist_t hl = slurm_hostlist_create(nodelist);
	size_t mark = strlen(DRAIN_EVACUATE_MARK);
	int found = 0;

	if (!hl)
		return 0;
	for (uint32_t i = 0; i < nm->record_count && !found; i++) {
		const node_info_t *n = &nm->node_array[i];
		const char *r = n->reason ? n->reason : "";
		size_t rl = strlen(r);

		if (!n->name || !(n->node_state & NODE_STATE_DRAIN) ||
		    slurm_hostlist_find(hl, n->name) < 0)
			continue;
		if (rl >= mark && !strcmp(r + rl - mark, DRAIN_EVACUATE_MARK))
			continue;
		snprintf(d->why, sizeof(d->why), "node %.64s drained (%.120s): requeued off it",
			 n->name, r);
		found = 1;
	}
	slurm_hostlist_destroy(hl);
	return found;
}

int drain_wait(const struct crd_ctx *ctx, const struct cr_job *ji, struct drain *d, time_t now)
{
	node_info_msg_t *nm = NULL;
	int found;

	if (d->state < 0 || !ctx->slurm_ok || strcmp(ctx->conf.evacuate_on_drain, "yes"))
		return -1;
	if (d->asked && now - d->asked < EVERY)
		return (int)(EVERY - (now - d->asked));
	d->asked = now;
	if (slurm_load_node(d->node_update, &nm, SHOW_ALL) != 0 || !nm)
		return EVERY; /* SLURM_NO_CHANGE_IN_DATA, or slurmctld away: later */
	d->node_update = nm->last_update;
	found = _drained(nm, ji->nodelist, d);
	slurm_free_node_info_msg(nm);
	if (!found)
		return EVERY;
	d->state = -1;
	log_info("job %u: %s", ji->jobid, d->why);
	return 0;
}

void drain_opts(const struct drain *d, struct coord_opts *o)
{
	o->op = COORD_REQUEUE;
	o->why = d->why;
}

void drain_failed(const struct cr_job *ji, const struct drain *d, const char *msg)
{
	char note[SLURMJOB_MSG_MAX];

	snprintf(note, sizeof(note), "%.300s: the checkpoint failed: %.600s; the job runs on",
		 d->why, msg);
	log_warnx("job %u: %s", ji->jobid, note);
	slurmjob_note(ji->jobid, 0, 0, note);
	coord_record_error(ji, "drain", note);
}
