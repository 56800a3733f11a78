/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The coordinator of job-wide checkpoints and restores (coord.c). */
#ifndef CR_COORD_H
#define CR_COORD_H

#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctx.h"
#include "jobstat.h"

enum coord_op {
	COORD_CREATE,	/* checkpoint, the job runs on */
	COORD_VACATE,	/* checkpoint, then end the job */
	COORD_REQUEUE,	/* checkpoint, then requeue the job: it resumes from it */
	COORD_PERIODIC, /* as create, at the job's interval */
};

typedef void (*coord_progress_fn)(const char *text, void *arg);

struct coord_opts {
	enum coord_op op;
	char image_dir[PATH_MAX]; /* ImageDir=: instead of the job's checkpoint directory */
	int max_wait;		  /* MaxWait=: seconds per step; 0: cr.conf's */
	const char *why;	  /* NULL, or why it was taken (crctl evacuate): in AdminComment */
	unsigned note_set, note_clear; /* slurmjob flags changed with the commit's note */
	coord_progress_fn progress;
	void *arg;
};

/*
 * A job-wide checkpoint of the job st describes (its status on this node, its
 * batch host). *result: JSON with the seq, bytes and the time of each phase.
 * Returns 0 or -errno, err says why.
 */
int coord_checkpoint(const struct crd_ctx *ctx, const struct job_status *st,
		     const struct coord_opts *o, json_t **result, char *err, size_t errlen);

/* A checkpoint not taken (op, why) into the job's directory, for `crctl error`. */
void coord_record_error(const struct cr_job *ji, const char *op, const char *msg);

#define COORD_FRESH 1 /* coord_restore: nothing to resume, start the script from the top */

struct coord_restore_opts {
	const char *ckdir;  /* where the checkpoints are */
	uint32_t src_jobid; /* crctl restart: the ended job's; 0: this job's own (requeue) */
	uid_t uid;
	gid_t gid;
};

/*
 * At the start of a requeued or restarted job, on its batch host: resume it
 * on its new nodes from the newest checkpoint that can be restored (a
 * failure that may pass is tried again; only one that does not verify is
 * set aside as <seq>.bad). Returns 0 (running from a checkpoint, msg says
 * which), COORD_FRESH (a job that never committed a checkpoint, a first
 * start, or crctl restart --from-scratch), or -errno (msg says why: a
 * missing checkpoint directory, or none could be restored; the caller holds
 * or fails the job, slurmjob.h).
 */
int coord_restore(const struct crd_ctx *ctx, uint32_t jobid, const struct coord_restore_opts *o,
		  char *msg, size_t msglen);

#endif
