// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A model of the kernel's process, session and group rules, enough to run
 * a plan: pstree_plan_verify() runs it on a plan, the scheduler of
 * pstree_plan_build() (pstree.c) runs it to find out which step may come
 * next. See pstree-kernel.h for the rules it enforces.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "pstree-kernel: "
#include "log.h"
#include "pstree-kernel.h"

/* The restarter's session and group, as ids of the image (0: none). */
void outside_ids(const struct pidmap *tasks, const struct pstree_env *env, pid_t *sid, pid_t *pgid)
{
	*sid = 0;
	*pgid = 0;
	if (env->outside_sid > 0 && pidmap_get(tasks, env->outside_sid) < 0)
		*sid = env->outside_sid;
	if (*sid && env->outside_pgid > 0 && pidmap_get(tasks, env->outside_pgid) < 0)
		*pgid = env->outside_pgid;
}

static int map_tasks(struct pidmap *m, const struct pstree_task *tasks, size_t ntasks)
{
	size_t i;
	int ret;

	ret = pidmap_init(m, ntasks);
	if (ret)
		return ret;
	for (i = 0; i < ntasks; i++) {
		if (tasks[i].pid <= 0) {
			pr_err("pid %d: not a valid pid\n", tasks[i].pid);
			return -EINVAL;
		}
		if (pidmap_get(m, tasks[i].pid) >= 0) {
			pr_err("pid %d: appears twice in the image\n", tasks[i].pid);
			return -EINVAL;
		}
		ret = pidmap_put(m, tasks[i].pid, (int)i);
		if (ret)
			return ret;
	}
	return 0;
}

void sim_fini(struct sim *s)
{
	pidmap_fini(&s->tmap);
	pidmap_fini(&s->pmap);
	pidmap_fini(&s->gmap);
	free(s->v);
	free(s->g);
	s->v = NULL;
	s->g = NULL;
}

static int sim_join(struct sim *s, pid_t pgid, pid_t sid)
{
	int i = pidmap_get(&s->gmap, pgid);

	if (i < 0) {
		if (s->ng > s->cap)
			return -ENOSPC;
		i = s->ng++;
		s->g[i].count = 0;
		if (pidmap_put(&s->gmap, pgid, i))
			return -ENOSPC;
	}
	s->g[i].count++;
	s->g[i].sid = sid;
	return 0;
}

static void sim_leave(struct sim *s, pid_t pgid)
{
	int i = pidmap_get(&s->gmap, pgid);

	if (i >= 0)
		s->g[i].count--;
}

static const struct sim_group *sim_group(const struct sim *s, pid_t pgid)
{
	int i = pidmap_get(&s->gmap, pgid);

	if (i < 0 || s->g[i].count <= 0)
		return NULL;
	return &s->g[i];
}

struct sim_proc *sim_find(const struct sim *s, pid_t pid)
{
	int i = pidmap_get(&s->pmap, pid);

	return i < 0 ? NULL : &s->v[i];
}

/* @cap: how many processes the plan may fork. */
int sim_init(struct sim *s, const struct pstree_task *tasks, size_t ntasks,
	     const struct pstree_env *env, int cap)
{
	pid_t sid, pgid;
	int ret;

	memset(s, 0, sizeof(*s));
	s->tasks = tasks;
	s->ntasks = ntasks;
	s->cap = cap + 1;
	s->root = tasks[0].pid;
	s->init_root = env->new_pidns && tasks[0].pid == 1;
	ret = map_tasks(&s->tmap, tasks, ntasks);
	if (!ret)
		ret = pidmap_init(&s->pmap, s->cap);
	if (!ret)
		ret = pidmap_init(&s->gmap, s->cap + 1);
	if (ret)
		return ret;
	s->v = calloc(s->cap, sizeof(*s->v));
	s->g = calloc(s->cap + 1, sizeof(*s->g));
	if (!s->v || !s->g) {
		pr_err("Can't allocate a model of %d processes\n", s->cap);
		return -ENOMEM;
	}
	outside_ids(&s->tmap, env, &sid, &pgid);
	s->v[0] = (struct sim_proc){.pid = 0, .ppid = -1, .sid = sid, .pgid = pgid};
	s->n = 1;
	ret = pidmap_put(&s->pmap, 0, 0);
	return ret ? ret : sim_join(s, pgid, sid);
}

#define sim_err(quiet, fmt, ...)                                                                   \
	({                                                                                         \
		if (!(quiet))                                                                      \
			pr_err(fmt, ##__VA_ARGS__);                                                \
		-EINVAL;                                                                           \
	})

const char *const pstree_step_names[] = {
	[PSTREE_FORK] = "fork", [PSTREE_SETSID] = "setsid", [PSTREE_SETPGID] = "setpgid",
	[PSTREE_EXIT] = "exit", [PSTREE_REAP] = "reap",
};

static int sim_fork(struct sim *s, size_t i, struct sim_proc *a, const struct pstree_step *st,
		    bool q)
{
	struct sim_proc *n;
	int t;

	if (a->zombie)
		return sim_err(q, "step %zu: zombie %d cannot fork %d\n", i, a->pid, st->pid);
	if (st->pid <= 0 || sim_find(s, st->pid))
		return sim_err(q, "step %zu: pid %d is not free\n", i, st->pid);
	t = pidmap_get(&s->tmap, st->pid);
	if (st->ghost != (t < 0))
		return sim_err(q, "step %zu: pid %d is %s task of the image\n", i, st->pid,
			       st->ghost ? "a ghost but also a" : "not a");
	if (st->clone_parent && (a->pid == 0 || (s->init_root && a->pid == s->root)))
		return sim_err(q, "step %zu: %d cannot fork %d with CLONE_PARENT\n", i, a->pid,
			       st->pid);
	if (s->init_root && st->pid != s->root && !sim_find(s, s->root))
		return sim_err(q, "step %zu: pid %d forked before the namespace init %d\n", i,
			       st->pid, s->root);
	if (s->n >= s->cap)
		return sim_err(q, "step %zu: too many processes\n", i);
	n = &s->v[s->n];
	*n = (struct sim_proc){.pid = st->pid,
			       .ppid = st->clone_parent ? a->ppid : a->pid,
			       .sid = a->sid,
			       .pgid = a->pgid,
			       .ghost = st->ghost,
			       .zombie = t >= 0 && s->tasks[t].zombie};
	if (pidmap_put(&s->pmap, st->pid, s->n))
		return -ENOSPC;
	s->n++;
	return sim_join(s, n->pgid, n->sid);
}

static int sim_setsid(struct sim *s, size_t i, struct sim_proc *a, bool q)
{
	if (sim_group(s, a->pid))
		return sim_err(q, "step %zu: %d leads a process group, setsid fails\n", i, a->pid);
	sim_leave(s, a->pgid);
	a->sid = a->pid;
	a->pgid = a->pid;
	return sim_join(s, a->pgid, a->sid);
}

static int sim_setpgid(struct sim *s, size_t i, struct sim_proc *a, pid_t pgid, bool q)
{
	const struct sim_group *g;

	if (a->sid == a->pid)
		return sim_err(q, "step %zu: session leader %d cannot change its group\n", i,
			       a->pid);
	if (pgid <= 0)
		return sim_err(q, "step %zu: %d: bad pgid %d\n", i, a->pid, pgid);
	if (pgid != a->pid) {
		g = sim_group(s, pgid);
		if (!g)
			return sim_err(q, "step %zu: %d joins group %d, which does not exist\n", i,
				       a->pid, pgid);
		if (g->sid != a->sid)
			return sim_err(q, "step %zu: %d joins group %d of session %d from %d\n", i,
				       a->pid, pgid, g->sid, a->sid);
	}
	sim_leave(s, a->pgid);
	a->pgid = pgid;
	return sim_join(s, pgid, a->sid);
}

static pid_t sim_reaper(const struct sim *s)
{
	const struct sim_proc *r = sim_find(s, s->root);

	return s->init_root && r && !r->exited ? s->root : 0;
}

static int sim_exit(struct sim *s, size_t i, struct sim_proc *a, bool q)
{
	pid_t reaper = sim_reaper(s);
	int k;

	if (!a->ghost)
		return sim_err(q, "step %zu: %d is not a ghost, it cannot exit\n", i, a->pid);
	a->exited = true;
	for (k = 0; k < s->n; k++)
		if (s->v[k].ppid == a->pid && !s->v[k].reaped)
			s->v[k].ppid = reaper;
	return 0;
}

static int sim_reap(struct sim *s, size_t i, struct sim_proc *a, pid_t pid, bool q)
{
	struct sim_proc *c = sim_find(s, pid);

	if (a->zombie)
		return sim_err(q, "step %zu: zombie %d cannot reap\n", i, a->pid);
	if (!c || c->ppid != a->pid || !c->exited || c->reaped)
		return sim_err(q, "step %zu: %d has no exited child %d to reap\n", i, a->pid, pid);
	c->reaped = true;
	sim_leave(s, c->pgid);
	return 0;
}

/* Apply step @i; @q: quiet, the scheduler only asks whether it is legal. */
int sim_step(struct sim *s, size_t i, const struct pstree_step *st, bool q)
{
	struct sim_proc *a = sim_find(s, st->actor);

	if (!a || a->exited)
		return sim_err(q, "step %zu: actor %d does not exist or has exited\n", i,
			       st->actor);
	if (a->pid == 0 && st->kind != PSTREE_FORK && st->kind != PSTREE_REAP)
		return sim_err(q, "step %zu: actor 0 cannot %s\n", i,
			       st->kind <= PSTREE_REAP ? pstree_step_names[st->kind] : "do that");
	switch (st->kind) {
	case PSTREE_FORK:
		return sim_fork(s, i, a, st, q);
	case PSTREE_SETSID:
		return sim_setsid(s, i, a, q);
	case PSTREE_SETPGID:
		return sim_setpgid(s, i, a, st->pgid, q);
	case PSTREE_EXIT:
		return sim_exit(s, i, a, q);
	case PSTREE_REAP:
		return sim_reap(s, i, a, st->pid, q);
	}
	return sim_err(q, "step %zu: unknown kind %d\n", i, (int)st->kind);
}

/* The parent @tasks[@i] must have at the end; -1 for a refused orphan. */
static pid_t want_ppid(const struct sim *s, const struct pstree_env *env, size_t i)
{
	if (i == 0)
		return 0;
	if (pidmap_get(&s->tmap, s->tasks[i].ppid) >= 0)
		return s->tasks[i].ppid;
	if (!env->new_pidns)
		return -1;
	return s->init_root ? s->root : 0;
}

static int sim_check_end(const struct sim *s, const struct pstree_env *env)
{
	const struct sim_proc *v;
	pid_t ppid;
	size_t i;
	int k;

	for (k = 1; k < s->n; k++)
		if (s->v[k].ghost && !s->v[k].reaped) {
			pr_err("ghost %d is still there at the end\n", s->v[k].pid);
			return -EINVAL;
		}
	for (i = 0; i < s->ntasks; i++) {
		const struct pstree_task *t = &s->tasks[i];

		v = sim_find(s, t->pid);
		ppid = want_ppid(s, env, i);
		if (ppid < 0) {
			pr_err("pid %d: parent %d is not in the image (orphan)\n", t->pid, t->ppid);
			return -EINVAL;
		}
		if (!v) {
			pr_err("pid %d: never created\n", t->pid);
			return -EINVAL;
		}
		if (v->ppid != ppid || v->sid != t->sid || v->pgid != t->pgid) {
			pr_err("pid %d: ends with ppid %d sid %d pgid %d, want %d %d %d\n", t->pid,
			       v->ppid, v->sid, v->pgid, ppid, t->sid, t->pgid);
			return -EINVAL;
		}
	}
	return 0;
}

int pstree_plan_verify(const struct pstree_task *tasks, size_t ntasks, const struct pstree_env *env,
		       const struct pstree_plan *plan)
{
	struct sim s;
	size_t i, nforks = 0;
	int ret;

	if (!tasks || !ntasks || !env || !plan || (plan->nsteps && !plan->steps) ||
	    ntasks > INT_MAX / 8 || plan->nsteps > INT_MAX / 2) {
		pr_err("verify: bad arguments (%zu tasks)\n", ntasks);
		return -EINVAL;
	}
	for (i = 0; i < plan->nsteps; i++)
		nforks += plan->steps[i].kind == PSTREE_FORK;
	ret = sim_init(&s, tasks, ntasks, env, (int)nforks);
	for (i = 0; !ret && i < plan->nsteps; i++)
		ret = sim_step(&s, i, &plan->steps[i], false);
	if (!ret)
		ret = sim_check_end(&s, env);
	sim_fini(&s);
	return ret;
}
