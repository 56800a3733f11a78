/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Process-tree reconstruction planning, after user-cr's restart
 * (ckpt_build_tree / ckpt_set_creator): given the tasks of an image, decide
 * who creates whom, which ghost tasks stand in for dead session and process
 * group leaders, and the exact order of fork/setsid/setpgid/exit/reap steps
 * that rebuilds every pid, ppid, sid and pgid. Pure logic: no syscalls.
 *
 * The restore code runs the steps one at a time, in order, each by its actor.
 *
 * The rules the planner follows (and pstree_plan_verify() checks):
 *
 *  - Actor 0 is the restarter, pid 0 in the steps. It is in the "outside"
 *    session and group (env->outside_sid/outside_pgid, when no task of the
 *    image has that pid), never changes them, never uses CLONE_PARENT and
 *    reaps the ghosts it forks. SETPGID to env->outside_pgid means "the
 *    restarter's own group" (the restore code substitutes the real id).
 *  - The reaper: when a process exits, its children go to the root when
 *    env->new_pidns and the root's pid is 1 (it is the namespace init);
 *    otherwise to actor 0 (the namespace init, or a child subreaper). The
 *    plan only ever relies on this in a new pid namespace.
 *  - Orphans (a task whose ppid is not in the image) are refused without a
 *    new pid namespace (seed 004). With one, an orphan is restored as a
 *    child of the reaper above: its ppid becomes the root when the root is
 *    pid 1, else actor 0. Such tasks, and children of the reaper that are
 *    not in its session, may be forked by a ghost that then exits.
 *  - When the root is the namespace init (new_pidns, pid 1) it is forked
 *    first and never uses CLONE_PARENT; a root that is not a session leader
 *    must then be in the outside session.
 *  - Zombies are forked like any task and only ever call setsid/setpgid:
 *    they fork, reap and clone nothing. So a task whose parent is a zombie
 *    is refused (the kernel reparents a task's children when it exits), and
 *    so is a zombie session leader with other members in its session (only
 *    it could have created the first one).
 *  - Ghosts: a session whose leader is not in the image gets a ghost with
 *    pid = sid (setsid); a process group whose leader is not in the image
 *    gets a ghost with pid = pgid in the group's session (setpgid(0, 0)).
 *    A ghost leaves (EXIT) only once every member has joined its group and
 *    its own ghost children are reaped; its parent then REAPs it.
 *    Placeholder ghosts (@placeholder) get pids above every id of the
 *    image: "helpers" that fork children of the reaper in a session, and
 *    "keepers" that hold a group alive while its leader moves to another
 *    group. Any free pid does for them, used consistently in the steps.
 *  - Creators: a task is forked by its parent, or, with CLONE_PARENT, by
 *    its session's leader when the leader is a sibling, or before setsid by
 *    a parent that is a session leader born in that session (user-cr's
 *    "fork children with the old session first"); which of these applies
 *    is decided per session, walking up from each member's parent.
 */
#ifndef CR_PSTREE_H
#define CR_PSTREE_H

#include <stddef.h>

#include "pstree-kernel.h"

/*
 * Build the plan for @tasks (@tasks[0] is the root). Returns 0, or -EINVAL
 * with a message naming the task when the tree cannot be rebuilt (orphans
 * without a pid namespace, a pgid in another session, a cycle, duplicate
 * pids). @plan->steps is malloc'ed; free it with pstree_plan_free().
 */
int pstree_plan_build(const struct pstree_task *tasks, size_t ntasks, const struct pstree_env *env,
		      struct pstree_plan *plan);
void pstree_plan_free(struct pstree_plan *plan);

#endif /* CR_PSTREE_H */
