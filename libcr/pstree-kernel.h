/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The steps a tree plan is made of, and a model of the kernel's rules for
 * them (pstree-kernel.c): setsid fails for a group leader, setpgid(0, g)
 * needs group g in the caller's session and fails for a session leader,
 * CLONE_PARENT is refused to actor 0 and to the namespace init, a child
 * whose parent exits goes to the reaper. Pure logic: no syscalls. The
 * planner (pstree.h) runs the model to order its steps; the restore code
 * runs it on every plan before it forks anything.
 */
#ifndef CR_PSTREE_KERNEL_H
#define CR_PSTREE_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "pidmap.h"

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
	bool ghost;	  /* FORK: the new process is a ghost, not an image task */
	bool placeholder; /* FORK of a ghost whose pid is no id of the image */
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

/* The model: the processes a plan made so far, and their groups. */
struct sim_proc {
	pid_t pid, ppid, sid, pgid;
	bool ghost, zombie, exited, reaped;
};

struct sim_group {
	pid_t sid;
	int count; /* processes with this pgid that are not reaped */
};

struct sim {
	const struct pstree_task *tasks;
	size_t ntasks;
	struct pidmap tmap; /* task pid -> index in tasks */
	struct pidmap pmap; /* pid -> index in v */
	struct pidmap gmap; /* pgid -> index in g */
	struct sim_proc *v;
	struct sim_group *g;
	int n, cap, ng;
	pid_t root;
	bool init_root; /* the root is the new pid namespace's init */
};

/* @cap: how many processes the plan may fork. */
int sim_init(struct sim *s, const struct pstree_task *tasks, size_t ntasks,
	     const struct pstree_env *env, int cap);
void sim_fini(struct sim *s);
/* Apply step @i; @q: quiet, the scheduler only asks whether it is legal. */
int sim_step(struct sim *s, size_t i, const struct pstree_step *st, bool q);
struct sim_proc *sim_find(const struct sim *s, pid_t pid);
/* The restarter's session and group, as ids of the image (0: none). */
void outside_ids(const struct pidmap *tasks, const struct pstree_env *env, pid_t *sid, pid_t *pgid);
extern const char *const pstree_step_names[];

/*
 * Check a plan by simulating it: returns 0 when running @plan from an
 * empty tree yields exactly @tasks (pid, ppid, pgid, sid; ghosts gone,
 * the root's parent being actor 0, orphans' parent the reaper). Every step
 * must be legal under the kernel's rules: setsid fails for a group leader,
 * setpgid(0, g) needs group g in the caller's session and fails for a
 * session leader, CLONE_PARENT is refused to actor 0 and to the namespace
 * init, zombies only setsid/setpgid. Returns -EINVAL and logs the first
 * illegal step or mismatch. Used by the unit tests, by pstree_plan_build()
 * on its own result and, cheaply, before every restore.
 */
int pstree_plan_verify(const struct pstree_task *tasks, size_t ntasks, const struct pstree_env *env,
		       const struct pstree_plan *plan);

#endif /* CR_PSTREE_KERNEL_H */
