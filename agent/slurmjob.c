// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What crd keeps about a checkpointable job in slurmctld (layout in
 * slurmjob.h). The checkpoint directory cannot say that it is missing: a
 * requeued job that finds no <jobid>/ either never committed a checkpoint
 * (it starts from the top, as any requeued Slurm job) or lost its storage
 * (it must not). The "checkpointed" flag, set at the first commit in a
 * record no user and no storage failure can touch, tells them apart.
 */
#include <errno.h>
#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "slurmjob.h"

#define TAG "slurm-cr"

static const struct {
	unsigned bit;
	const char *name;
} flag_names[] = {
	{SLURMJOB_CHECKPOINTED, "checkpointed"},
	{SLURMJOB_FROM_SCRATCH, "from-scratch"},
};

#define NFLAGS (sizeof(flag_names) / sizeof(flag_names[0]))

/* Our segment: "slurm-cr:" or "slurm-cr(" at the start or after "; "; it runs to the end. */
static const char *_ours(const char *comment)
{
	size_t n = strlen(TAG);

	for (const char *p = comment; (p = strstr(p, TAG)); p += n)
		if ((p == comment || (p - comment >= 2 && !strncmp(p - 2, "; ", 2))) &&
		    (p[n] == ':' || p[n] == '('))
			return p;
	return NULL;
}

void slurmjob_note_parse(const char *comment, unsigned *flags, char *msg, size_t msglen)
{
	const char *p = comment ? _ours(comment) : NULL, *e;

	*flags = 0;
	if (msglen)
		msg[0] = '\0';
	if (!p)
		return;
	p += strlen(TAG);
	if (*p == '(') {
		for (p++; *p && *p != ')'; p = *e == ',' ? e + 1 : e) {
			e = p + strcspn(p, ",)");
			for (size_t i = 0; i < NFLAGS; i++)
				if (strlen(flag_names[i].name) == (size_t)(e - p) &&
				    !strncmp(p, flag_names[i].name, e - p))
					*flags |= flag_names[i].bit;
			if (!strncmp(p, "continues=", 10) && e - p > 10)
				*flags |= (unsigned)(strtoul(p + 10, NULL, 10) & 0xffff)
					  << SLURMJOB_CONT_SHIFT;
		}
		p += *p == ')';
	}
	p += *p == ':';
	p += *p == ' ';
	if (msglen)
		snprintf(msg, msglen, "%s", p);
}

void slurmjob_note_format(const char *comment, unsigned flags, const char *msg, char *out,
			  size_t outlen)
{
	const char *ours = comment ? _ours(comment) : NULL;
	size_t keep = !comment ? 0 : ours ? (size_t)(ours - comment) : strlen(comment);
	char fl[64] = "";
	size_t n = 0;

	/* The site's text, without the "; " that joined ours to it. */
	if (ours && keep >= 2)
		keep -= 2;
	for (size_t i = 0; i < NFLAGS; i++)
		if (flags & flag_names[i].bit)
			n += snprintf(fl + n, sizeof(fl) - n, "%s%s", n ? "," : "(",
				      flag_names[i].name);
	if (SLURMJOB_CONTINUES(flags))
		n += snprintf(fl + n, sizeof(fl) - n, "%scontinues=%u", n ? "," : "(",
			      SLURMJOB_CONTINUES(flags));
	if (n)
		snprintf(fl + n, sizeof(fl) - n, ")");
	snprintf(out, outlen, "%.*s%s" TAG "%s: %.*s", (int)keep, comment ? comment : "",
		 keep ? "; " : "", fl, SLURMJOB_MSG_MAX - 1, msg);
}

/* The job's record; *comment: its AdminComment (malloc'ed, "" when none). */
static int _load(uint32_t jobid, struct slurmjob *j, char **comment)
{
	job_info_msg_t *jm = NULL;
	job_info_t *ji;
	int ret = -EIO;

	memset(j, 0, sizeof(*j));
	*comment = NULL;
	if (slurm_load_job(&jm, jobid, SHOW_ALL) != 0)
		ret = slurm_get_errno() == ESLURM_INVALID_JOB_ID ? -ENOENT : -EIO;
	else if (jm && jm->record_count == 1) {
		ji = &jm->job_array[0];
		j->uid = ji->user_id;
		j->state = ji->job_state & JOB_STATE_BASE;
		j->priority = ji->priority;
		j->restart_cnt = ji->restart_cnt;
		*comment = strdup(ji->admin_comment ? ji->admin_comment : "");
		ret = *comment ? 0 : -ENOMEM;
		if (*comment)
			slurmjob_note_parse(*comment, &j->flags, j->msg, sizeof(j->msg));
	}
	if (jm)
		slurm_free_job_info_msg(jm);
	return ret;
}

int slurmjob_get(uint32_t jobid, struct slurmjob *j)
{
	char *comment;
	int ret = _load(jobid, j, &comment);

	free(comment);
	return ret;
}

int slurmjob_note(uint32_t jobid, unsigned set, unsigned clear, const char *msg)
{
	struct slurmjob j;
	job_desc_msg_t d;
	size_t len;
	char *cur, *out;
	int ret;

	ret = _load(jobid, &j, &cur);
	if (ret) {
		log_warnx("job %u: cannot read its AdminComment: %s", jobid,
			  slurm_strerror(slurm_get_errno()));
		free(cur);
		return -EIO;
	}
	len = strlen(cur) + SLURMJOB_MSG_MAX + 128;
	out = malloc(len);
	if (!out) {
		free(cur);
		return -ENOMEM;
	}
	slurmjob_note_format(cur, (j.flags | set) & ~clear, msg ? msg : j.msg, out, len);
	ret = 0;
	if (strcmp(out, cur)) {
		slurm_init_job_desc_msg(&d);
		d.job_id = jobid;
		d.admin_comment = out;
		if (slurm_update_job(&d) != 0) {
			log_warnx("job %u: cannot write its AdminComment: %s", jobid,
				  slurm_strerror(slurm_get_errno()));
			ret = -EIO;
		}
	}
	free(out);
	free(cur);
	return ret;
}

int slurmjob_release(uint32_t jobid, char *err, size_t errlen)
{
	job_desc_msg_t d;

	slurm_init_job_desc_msg(&d);
	d.job_id = jobid;
	d.priority = INFINITE; /* what `scontrol release` asks */
	if (slurm_update_job(&d) == 0)
		return 0;
	snprintf(err, errlen, "cannot release job %u: %s", jobid,
		 slurm_strerror(slurm_get_errno()));
	return -EIO;
}

int slurmjob_restore_failed(const struct crd_ctx *ctx, uint32_t jobid, const char *why, char *line,
			    size_t linelen)
{
	int hold = !strcmp(ctx->conf.restore_failure, "hold"), held = 0;
	char note[SLURMJOB_MSG_MAX], refused[160] = "";

	/*
	 * The reason first (the requeue has the step killed within KillWait),
	 * then the requeue: from then on, however the batch step ends, the job
	 * is not FAILED.
	 */
	snprintf(note, sizeof(note), "%s: %s", hold ? "held" : "failed", why);
	slurmjob_note(jobid, 0, 0, note);
	if (hold) {
		held = slurm_requeue(jobid, JOB_REQUEUE_HOLD) == 0;
		if (!held) {
			snprintf(refused, sizeof(refused),
				 " (slurmctld refused to requeue it held: %s)",
				 slurm_strerror(slurm_get_errno()));
			snprintf(note, sizeof(note), "failed: %s%s", why, refused);
			slurmjob_note(jobid, 0, 0, note);
		}
	}
	if (held) {
		log_warnx("job %u: requeued held: %s", jobid, why);
		snprintf(line, linelen,
			 "slurm-cr: job %u could not be resumed from its checkpoint and is held: "
			 "%s\nslurm-cr: `crctl error %u` tells why; `scontrol release %u` tries "
			 "again, `crctl restart --from-scratch %u` starts it from the top\n",
			 jobid, why, jobid, jobid, jobid);
	} else {
		log_warnx("job %u: fails: %s%s", jobid, why, refused);
		snprintf(line, linelen,
			 "slurm-cr: job %u could not be resumed from its checkpoint: %s%s\n", jobid,
			 why, refused);
	}
	return held;
}
