/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* crctl restart: a new Slurm job that resumes an ended one from its checkpoint (restart.c). */
#ifndef CR_RESTART_H
#define CR_RESTART_H

#include <jansson.h>
#include <stdint.h>

#include "ctx.h"
#include "userfs.h"

/*
 * Submit a job described as the ended job jobid was (its newest checkpoint
 * that verifies and is bound to user u and job jobid, read as u, in jobfd:
 * its directory under the user directory ckdir), which resumes from that
 * checkpoint; opts: "exclude", "StickToNodes". Answers on fd.
 */
void restart_job(const struct crd_ctx *ctx, int fd, int jobfd, uint32_t jobid, const char *ckdir,
		 const struct job_user *u, json_t *opts);

#endif
