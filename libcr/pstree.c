// SPDX-License-Identifier: LGPL-2.1-or-later
/* Placeholder until the planner lands. */
#include <errno.h>
#include <stdlib.h>

#include "pstree.h"

int pstree_plan_build(const struct pstree_task *tasks, size_t ntasks,
		      const struct pstree_env *env, struct pstree_plan *plan)
{
	(void)tasks;
	(void)ntasks;
	(void)env;
	plan->steps = NULL;
	plan->nsteps = 0;
	return -ENOSYS;
}

void pstree_plan_free(struct pstree_plan *plan)
{
	free(plan->steps);
	plan->steps = NULL;
	plan->nsteps = 0;
}

int pstree_plan_verify(const struct pstree_task *tasks, size_t ntasks,
		       const struct pstree_env *env, const struct pstree_plan *plan)
{
	(void)tasks;
	(void)ntasks;
	(void)env;
	(void)plan;
	return -ENOSYS;
}
