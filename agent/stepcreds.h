/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The batch step's credentials, CPUs and limits for the init's SPAWN (stepcreds.c). */
#ifndef CR_STEPCREDS_H
#define CR_STEPCREDS_H

#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

/*
 * Pack what the kernel says about @pid (the relay; the truth, not its claims):
 * uid, gid, umask, groups, CPU affinity, limits. -EPERM when it does not run
 * as @job_uid, the job's user.
 */
int stepcreds_pack(uint32_t jobid, uid_t job_uid, pid_t pid, struct cr_buf *b);

#endif
