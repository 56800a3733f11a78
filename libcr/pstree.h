/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Process-tree reconstruction planning, after user-cr's restart
 * (ckpt_build_tree / ckpt_set_creator): given the tasks of an image, decide
 * who creates whom, which ghost tasks stand in for dead session and process
 * group leaders, and the exact order of fork/setsid/setpgid/exit/reap steps
 * that rebuilds every pid, ppid, sid and pgid. Pure logic: no syscalls.
 *
 * The restore code runs the steps one at a time, in order, each by its actor.
 */
#ifndef CR_PSTREE_H
#define CR_PSTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* One task of the image, as dumped. */
struct pstree_task {
	pid_t pid;
	pid_t ppid; /* parent's pid; for the root: whatever it was (outside) */
	pid_t pgid;
	pid_t sid;
	bool zombie;
};

enum pstree_step_kind {
	/*
	 * actor forks a new process with pid @pid. With @clone_parent the new
	 * process's parent is the actor's parent (CLONE_PARENT), which lets a
	 * session leader or ghost create a task that belongs to someone else.
	 */
	PSTREE_FORK,
	PSTREE_SETSID,	/* actor calls setsid() */
	PSTREE_SETPGID, /* actor calls setpgid(0, @pgid) (@pgid == actor: new group) */
	PSTREE_EXIT,	/* actor (a ghost) exits: it has done its work */
	PSTREE_REAP,	/* actor waits for its child @pid (an exited ghost) */
};

/* Actor 0 is the restarting process itself (the parent of the root). */
struct pstree_step {
	enum pstree_step_kind kind;
	pid_t actor;
	pid_t pid;  /* FORK: the new pid; REAP: the ghost reaped */
	pid_t pgid; /* SETPGID */
	bool clone_parent;
	bool ghost; /* FORK: the new process is a ghost, not an image task */
};

struct pstree_plan {
	struct pstree_step *steps;
	size_t nsteps;
};

/* What the restart may inherit from the process that restarts the tree. */
struct pstree_env {
	/*
	 * The root task's sid and pgid at checkpoint. Tasks whose sid/pgid is
	 * one of these and whose leader is not in the image keep the
	 * restarter's session/group (a "shell job"): no ghost is made.
	 */
	pid_t outside_sid;
	pid_t outside_pgid;
	/*
	 * true: tasks are restored into a new pid namespace whose init is the
	 * root task or the restarter's init; an orphan (a task whose parent is
	 * not in the image) may then be reparented to it. false: orphans are
	 * refused (seed 004: impossible in a subtree image).
	 */
	bool new_pidns;
};

/*
 * Build the plan for @tasks (@tasks[0] is the root). Returns 0, or -EINVAL
 * with a message naming the task when the tree cannot be rebuilt (orphans
 * without a pid namespace, a pgid in another session, a cycle, duplicate
 * pids). @plan->steps is malloc'ed; free it with pstree_plan_free().
 */
int pstree_plan_build(const struct pstree_task *tasks, size_t ntasks,
		      const struct pstree_env *env, struct pstree_plan *plan);
void pstree_plan_free(struct pstree_plan *plan);

/*
 * Check a plan by simulating it: returns 0 when running @plan from an
 * empty tree yields exactly @tasks (pid, ppid, pgid, sid; ghosts gone,
 * the root's parent being actor 0). Used by the unit tests and, cheaply,
 * before every restore.
 */
int pstree_plan_verify(const struct pstree_task *tasks, size_t ntasks,
		       const struct pstree_env *env, const struct pstree_plan *plan);

#endif /* CR_PSTREE_H */
