/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The relay: the batch task that slurmstepd waits on, for a --checkpoint job.
 * It proves to crd who it is (crd checks its credentials, cgroups and parent),
 * hands argv, env, stdio, the script and the working directory to the job's
 * container, forwards every signal it gets, and ends exactly as the script
 * did: same exit code, or death by the same signal.
 */
#ifndef CR_RELAY_H
#define CR_RELAY_H

#include <stddef.h>
#include <stdint.h>

/* Returns only on failure before the script started (-errno, reason in err). */
int cr_relay_run(const char *sock, uint32_t jobid, uint32_t stepid, char **argv, char **envp,
		 char *err, size_t errlen);

/* cr_job_notify's flags: --checkpoint-continue (continue.c); create only
 * if there is none, never replace one (a step's JOB_START, spank_cr.c). */
#define CR_JOB_CONTINUE 0x1u
#define CR_JOB_ENSURE	0x2u

/*
 * Ask crd to create (start) or remove (!start) the job's container here;
 * restart_from: the ended job a `crctl restart` job resumes (0: none);
 * flags: CR_JOB_*, sent after the rest and only when not 0 (a crd that
 * knows no flags still parses every other job's start).
 */
int cr_job_notify(const char *sock, int start, uint32_t jobid, uint32_t uid, uint32_t gid,
		  long interval, const char *dir, const char *node, const char *nodelist,
		  uint32_t restart_from, uint32_t flags, char *err, size_t errlen);

#endif
