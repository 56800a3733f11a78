/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Cgroup membership of job step tasks and of a job's container (cgroup.c). */
#ifndef CR_CGROUP_H
#define CR_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Is pid in job jobid's step (e.g. "batch") of node's Slurm cgroups? 0 or -EPERM, why says. */
int cgroup_check_step(pid_t pid, uint32_t jobid, const char *node, const char *step, char *why,
		      size_t len);
/* Move pid into every cgroup ref is in. */
int cgroup_move_like(pid_t pid, pid_t ref);
/* Move pid into the step's cgroups, rel below each hierarchy's root. */
int cgroup_move_to_step(pid_t pid, const char *rel);
/*
 * Move a container's init and its children into the job's extern step
 * (node's Slurm cgroups): 0, -ENOENT while slurmd has not made it, -errno.
 */
int cgroup_join_extern(const char *node, uint32_t uid, uint32_t jobid, pid_t init);
/* Does Slurm still have the job on this node (its freezer cgroup)? 1 when it cannot tell. */
int cgroup_job_alive(const char *node, uint32_t uid, uint32_t jobid);

#endif
