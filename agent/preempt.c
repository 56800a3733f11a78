// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Preemption. When slurmctld preempts a job with a grace time, it sets the
 * job's preempt_time and moves its end_time to preempt_time + GraceTime; the
 * batch script hears nothing until then (the first SIGTERM goes to the
 * tasks of steps, which a checkpointable job has none of). So the batch
 * host's monitor asks slurmctld every quarter of the grace time (2 to 30 s),
 * only for a job whose partition can be preempted with a grace time, and
 * checkpoints the job as soon as it is preempted. Slurm's own end of the job
 * at the grace time's end stays the bound: a checkpoint not committed by
 * then is aborted with the job, and the last committed one stands.
 */
#include <errno.h>
#include <slurm/slurm.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "preempt.h"
#include "slurmjob.h"

/* Seconds of grace time a checkpoint needs at least to be worth beginning. */
#define MIN_LEFT 3

/* The job's partition's GraceTime and PreemptMode (NO_VAL16: the cluster's). */
static int _partition(const char *name, uint32_t *grace, uint16_t *mode)
{
	partition_info_msg_t *pm = NULL;
	int ret = -ENOENT;

	if (slurm_load_partitions(0, &pm, SHOW_ALL) != 0 || !pm)
		return -EIO;
	for (uint32_t i = 0; i < pm->record_count; i++) {
		partition_info_t *pi = &pm->partition_array[i];
		if (!pi->name || !name || strcmp(pi->name, name))
			continue;
		*grace = pi->grace_time;
		*mode = pi->preempt_mode;
		ret = 0;
	}
	slurm_free_partition_info_msg(pm);
	return ret;
}

/* Can the job be preempted with a grace time, and how does Slurm end it then? */
static void _setup(uint32_t jobid, const job_info_t *ji, struct preempt *p)
{
	slurm_conf_t *conf = NULL;
	uint16_t mode = NO_VAL16;

	p->state = -1;
	if (slurm_load_ctl_conf(0, &conf) != 0 || !conf)
		return;
	if (conf->preempt_type && strcmp(conf->preempt_type, "preempt/none") &&
	    _partition(ji->partition, &p->grace, &mode) == 0) {
		if (mode == NO_VAL16)
			mode = conf->preempt_mode;
		p->mode = mode & ~(PREEMPT_MODE_GANG | PREEMPT_MODE_WITHIN);
	}
	slurm_free_ctl_conf(conf);
	if ((p->mode != PREEMPT_MODE_REQUEUE && p->mode != PREEMPT_MODE_CANCEL) || !p->grace)
		return;
	p->every = p->grace / 4 < 2 ? 2 : p->grace / 4 > 30 ? 30 : (int)(p->grace / 4);
	p->state = 1;
	log_info("job %u: watching for preemption (partition %s, GraceTime %u s, %s)", jobid,
		 ji->partition, p->grace, p->mode == PREEMPT_MODE_CANCEL ? "cancel" : "requeue");
}

/* Ask slurmctld: 1 preempted (p->end set), 0 not, -EIO. */
static int _ask(uint32_t jobid, struct preempt *p, time_t now)
{
	job_info_msg_t *jm = NULL;
	job_info_t *ji;
	int ret = 0;

	p->asked = now;
	if (slurm_load_job(&jm, jobid, SHOW_ALL) != 0 || !jm || jm->record_count != 1) {
		if (jm)
			slurm_free_job_info_msg(jm);
		return -EIO;
	}
	ji = &jm->job_array[0];
	if (!p->state)
		_setup(jobid, ji, p);
	if (p->state == 1 && ji->preempt_time) {
		p->end = ji->preempt_time + p->grace;
		ret = 1;
	}
	slurm_free_job_info_msg(jm);
	return ret;
}

/* A note for the AdminComment and `crctl error`. */
static void _note(const struct cr_job *ji, const char *note)
{
	log_warnx("job %u: %s", ji->jobid, note);
	slurmjob_note(ji->jobid, 0, 0, note);
	coord_record_error(ji, "preempt", note);
}

/* The grace time is over, or too short to begin: the AdminComment says so. */
static void _too_late(const struct cr_job *ji, const struct preempt *p, time_t now)
{
	char note[SLURMJOB_MSG_MAX];

	snprintf(note, sizeof(note),
		 "preempted: the grace time (%u s) left %lld s, too short for a checkpoint; the "
		 "last committed checkpoint stands",
		 p->grace, (long long)(p->end > now ? p->end - now : 0));
	_note(ji, note);
}

void preempt_on_term(const struct crd_ctx *ctx, const struct cr_job *ji, struct preempt *p)
{
	time_t now = time(NULL);

	if (p->state != 1 || !ctx->slurm_ok || _ask(ji->jobid, p, now) != 1)
		return;
	p->state = -1;
	_too_late(ji, p, now);
}

int preempt_wait(const struct crd_ctx *ctx, const struct cr_job *ji, struct preempt *p, time_t now)
{
	uint32_t jobid = ji->jobid;
	int ret;

	if (p->state < 0 || !ctx->slurm_ok)
		return -1;
	if (p->state && now - p->asked < p->every)
		return (int)(p->every - (now - p->asked));
	ret = _ask(jobid, p, now);
	if (ret < 0)
		return p->state ? p->every : 30;
	if (p->state < 0)
		return -1;
	if (!ret)
		return p->every;
	p->state = -1;
	if (p->end - now < MIN_LEFT) {
		_too_late(ji, p, now);
		return -1;
	}
	snprintf(p->why, sizeof(p->why),
		 "preempted: checkpoint within the grace time (%u s), then %s", p->grace,
		 p->mode == PREEMPT_MODE_CANCEL ? "the job ends" : "requeued");
	log_info("job %u: %s", jobid, p->why);
	return 0;
}

void preempt_opts(const struct preempt *p, struct coord_opts *o)
{
	time_t left = p->end - time(NULL);

	o->op = p->mode == PREEMPT_MODE_CANCEL ? COORD_VACATE : COORD_REQUEUE;
	o->why = p->why;
	/* Each step within what is left of the grace time: Slurm ends the job then anyway. */
	o->max_wait = left > 4 ? (int)(left - 2) : 2;
}

void preempt_failed(const struct cr_job *ji, const struct preempt *p, const char *msg)
{
	char note[SLURMJOB_MSG_MAX];

	if (time(NULL) >= p->end)
		snprintf(note, sizeof(note),
			 "preempted: the checkpoint did not end within the grace time (%u s): "
			 "%.700s; "
			 "the last committed checkpoint stands",
			 p->grace, *msg ? msg : "the job was ended first");
	else
		snprintf(note, sizeof(note),
			 "preempted: the checkpoint failed: %.800s; the last committed checkpoint "
			 "stands",
			 msg);
	_note(ji, note);
}
