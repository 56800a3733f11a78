/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What crd keeps about a checkpointable job in slurmctld, which outlives any
 * node and any checkpoint directory (slurmjob.c): one segment of the job's
 * AdminComment (only admins may write it, users may read it), after whatever
 * the site keeps there,
 *
 *	[site text; ]slurm-cr[(flag,...)]: message
 *
 * and the requeue-hold of a job whose checkpoints cannot be restored.
 */
#ifndef CR_SLURMJOB_H
#define CR_SLURMJOB_H

#include <stddef.h>
#include <stdint.h>

#include "ctx.h"

/* A checkpoint of the job was committed: a requeued job that finds none lost its storage. */
#define SLURMJOB_CHECKPOINTED 0x1u
/* crctl restart --from-scratch: the next start runs the script from the top. */
#define SLURMJOB_FROM_SCRATCH 0x2u

/* Continuations at the time limit (--checkpoint-continue), "continues=N" among the flags. */
#define SLURMJOB_CONT_SHIFT	  16
#define SLURMJOB_CONTINUES(flags) ((flags) >> SLURMJOB_CONT_SHIFT)

#define SLURMJOB_MSG_MAX 1024

struct slurmjob {
	uint32_t uid;
	uint32_t state; /* JOB_STATE_BASE bits */
	uint32_t priority;
	uint32_t restart_cnt;
	unsigned flags;		    /* SLURMJOB_* */
	char msg[SLURMJOB_MSG_MAX]; /* our message ("" when none) */
};

/* Our flags and message in an AdminComment (NULL or without ours: 0 and ""). */
void slurmjob_note_parse(const char *comment, unsigned *flags, char *msg, size_t msglen);
/* comment with our segment replaced by flags and msg (the site's text kept) into out. */
void slurmjob_note_format(const char *comment, unsigned flags, const char *msg, char *out,
			  size_t outlen);

/* The job as slurmctld has it: 0, -ENOENT (no such job) or -EIO. */
int slurmjob_get(uint32_t jobid, struct slurmjob *j);
/* Set and clear flags; msg replaces the message (NULL: keep it). 0 or -EIO (logged). */
int slurmjob_note(uint32_t jobid, unsigned set, unsigned clear, const char *msg);
/* Release a held job (as `scontrol release`); 0 or -EIO with err. */
int slurmjob_release(uint32_t jobid, char *err, size_t errlen);

/*
 * After a restore that failed (why): RestoreFailure=hold requeues the job
 * held, fail (or a hold slurmctld refused) lets it fail; either way why goes
 * into its AdminComment. Returns 1 when the job is held, 0 when it is to
 * fail; line: what to tell the job's stderr.
 */
int slurmjob_restore_failed(const struct crd_ctx *ctx, uint32_t jobid, const char *why, char *line,
			    size_t linelen);

#endif
