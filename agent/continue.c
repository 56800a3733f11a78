// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sbatch --checkpoint-continue. slurmctld knows when it will end a job (its
 * end_time, which a requeue renews with the next allocation and which
 * `scontrol update TimeLimit=` moves), so the batch host's monitor asks it,
 * then again every minute, and checkpoints and requeues the job ContinueLead
 * seconds before that end. The admin's limits are this node's cr.conf
 * (AllowContinue, MaxContinues): the submit host's check is only an early
 * word. The count of continuations lives among slurm-cr's flags in the
 * AdminComment, which only admins can write.
 */
#include <errno.h>
#include <slurm/slurm.h>
#include <stdio.h>
#include <string.h>

#include "continue.h"
#include "log.h"
#include "slurmjob.h"

#define RECHECK 60 /* seconds between two questions to slurmctld */

/* end_time (0: none) and the continuations used, from slurmctld. */
static int _ask(uint32_t jobid, struct cont *c, time_t now)
{
	job_info_msg_t *jm = NULL;
	job_info_t *ji;
	unsigned flags;

	c->asked = now;
	if (slurm_load_job(&jm, jobid, SHOW_ALL) != 0 || !jm || jm->record_count != 1) {
		if (jm)
			slurm_free_job_info_msg(jm);
		return -EIO;
	}
	ji = &jm->job_array[0];
	c->end = ji->time_limit == INFINITE || ji->time_limit == NO_VAL ? 0 : ji->end_time;
	c->start = ji->start_time;
	slurmjob_note_parse(ji->admin_comment, &flags, NULL, 0);
	c->used = SLURMJOB_CONTINUES(flags);
	slurm_free_job_info_msg(jm);
	return 0;
}

static void _refuse(const struct cr_job *ji, struct cont *c, const char *why)
{
	char note[SLURMJOB_MSG_MAX];

	c->done = 1;
	snprintf(note, sizeof(note), "time limit: not continued: %s; the job ends at its limit",
		 why);
	log_info("job %u: %s", ji->jobid, note);
	slurmjob_note(ji->jobid, 0, 0, note);
	coord_record_error(ji, "continue", note);
}

int continue_wait(const struct crd_ctx *ctx, const struct cr_job *ji, struct cont *c, time_t now)
{
	uint32_t jobid = ji->jobid;
	const struct cr_conf *conf = &ctx->conf;
	time_t lead, due;
	char why[128];

	if (c->done || !ctx->slurm_ok)
		return -1;
	if ((!c->asked || now - c->asked >= RECHECK) && _ask(jobid, c, now))
		return RECHECK;
	if (!c->end)
		return RECHECK;
	/* Never more than half the allocation: a lead beyond it would continue at once, forever. */
	lead = conf->continue_lead;
	if (c->start && lead > (c->end - c->start) / 2)
		lead = (c->end - c->start) / 2;
	due = c->end - lead;
	if (now < due)
		return due - now < RECHECK ? (int)(due - now) : RECHECK;
	if (strcmp(conf->allow_continue, "yes")) {
		snprintf(why, sizeof(why), "AllowContinue=no on node %.64s", conf->node_name);
		_refuse(ji, c, why);
		return -1;
	}
	if (c->used >= conf->max_continues) {
		snprintf(why, sizeof(why), "MaxContinues=%u used", conf->max_continues);
		_refuse(ji, c, why);
		return -1;
	}
	c->done = 1;
	snprintf(c->why, sizeof(c->why), "time limit in %lld s: continuation %u of at most %u",
		 (long long)(c->end - now), c->used + 1, conf->max_continues);
	log_info("job %u: %s", jobid, c->why);
	return 0;
}

void continue_opts(const struct cont *c, struct coord_opts *o)
{
	unsigned was = c->used << SLURMJOB_CONT_SHIFT, now = (c->used + 1) << SLURMJOB_CONT_SHIFT;

	o->op = COORD_REQUEUE;
	o->why = c->why;
	o->note_set = now;
	o->note_clear = was & ~now;
}

void continue_failed(const struct cr_job *ji, struct cont *c, const char *msg)
{
	char note[SLURMJOB_MSG_MAX];

	c->done = 1;
	snprintf(note, sizeof(note),
		 "time limit: the continuation checkpoint failed: %.900s; the job ends at its "
		 "limit",
		 msg);
	log_warnx("job %u: %s", ji->jobid, note);
	slurmjob_note(ji->jobid, 0, 0, note);
	coord_record_error(ji, "continue", note);
}
