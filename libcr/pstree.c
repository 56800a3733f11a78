// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Process-tree reconstruction planning (see pstree.h for the rules).
 *
 * pstree_plan_build() works in three stages:
 *  1. check the image (pids, parents, sessions, groups, zombies) and add the
 *     ghosts that stand in for dead session and group leaders;
 *  2. pick a creator for every process, one session at a time: a member is
 *     forked by its parent when the parent is (or, before its setsid, was) in
 *     the member's session, else by the session leader with CLONE_PARENT when
 *     the leader is its sibling, else by a ghost that exits so that the
 *     reaper adopts it; a parent that is a session leader may be made to be
 *     born in the member's session, which moves the question one level up;
 *  3. order the steps by running them in a model of the kernel (the same one
 *     pstree_plan_verify() uses), each as soon as its preconditions hold.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "pstree: "
#include "log.h"
#include "pstree.h"

/* pid -> int, open addressing; sized once for the most keys it will get. */
struct pidmap {
	size_t mask;
	size_t count;
	pid_t *keys;
	int *vals; /* -1: empty slot */
};

static int pidmap_init(struct pidmap *m, size_t n)
{
	size_t cap = 16, i;

	while (cap < 2 * n + 2) {
		if (cap > SIZE_MAX / 4 / sizeof(pid_t))
			return -ENOMEM;
		cap <<= 1;
	}
	m->keys = malloc(cap * sizeof(*m->keys));
	m->vals = malloc(cap * sizeof(*m->vals));
	if (!m->keys || !m->vals) {
		free(m->keys);
		free(m->vals);
		m->keys = NULL;
		m->vals = NULL;
		pr_err("Can't allocate a pid table of %zu entries\n", cap);
		return -ENOMEM;
	}
	for (i = 0; i < cap; i++)
		m->vals[i] = -1;
	m->mask = cap - 1;
	m->count = 0;
	return 0;
}

static void pidmap_fini(struct pidmap *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
}

static size_t pidmap_slot(const struct pidmap *m, pid_t key)
{
	size_t i = ((uint32_t)key * 2654435761u) & m->mask;

	while (m->vals[i] >= 0 && m->keys[i] != key)
		i = (i + 1) & m->mask;
	return i;
}

static int pidmap_get(const struct pidmap *m, pid_t key)
{
	return m->vals[pidmap_slot(m, key)];
}

static int pidmap_put(struct pidmap *m, pid_t key, int val)
{
	size_t i = pidmap_slot(m, key);

	if (m->vals[i] < 0) {
		if (2 * (m->count + 1) > m->mask + 1) {
			pr_err("pid table full at pid %d\n", key);
			return -ENOSPC;
		}
		m->count++;
	}
	m->keys[i] = key;
	m->vals[i] = val;
	return 0;
}

/* The restarter's session and group, as ids of the image (0: none). */
static void outside_ids(const struct pidmap *tasks, const struct pstree_env *env, pid_t *sid,
			pid_t *pgid)
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

/*
 * A model of the kernel's process, session and group rules, enough to run
 * a plan: pstree_plan_verify() runs it on a plan, the scheduler of
 * pstree_plan_build() runs it to find out which step may come next.
 */
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

static void sim_fini(struct sim *s)
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

static struct sim_proc *sim_find(const struct sim *s, pid_t pid)
{
	int i = pidmap_get(&s->pmap, pid);

	return i < 0 ? NULL : &s->v[i];
}

/* @cap: how many processes the plan may fork. */
static int sim_init(struct sim *s, const struct pstree_task *tasks, size_t ntasks,
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

static const char *const step_names[] = {
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
static int sim_step(struct sim *s, size_t i, const struct pstree_step *st, bool q)
{
	struct sim_proc *a = sim_find(s, st->actor);

	if (!a || a->exited)
		return sim_err(q, "step %zu: actor %d does not exist or has exited\n", i,
			       st->actor);
	if (a->pid == 0 && st->kind != PSTREE_FORK && st->kind != PSTREE_REAP)
		return sim_err(q, "step %zu: actor 0 cannot %s\n", i,
			       st->kind <= PSTREE_REAP ? step_names[st->kind] : "do that");
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

void pstree_plan_free(struct pstree_plan *plan)
{
	free(plan->steps);
	plan->steps = NULL;
	plan->nsteps = 0;
}

/* ---- Building the plan ---- */

enum proc_kind {
	K_ACTOR0,
	K_TASK,
	K_GSESS,  /* ghost session leader, pid = sid */
	K_GGROUP, /* ghost group leader, pid = pgid */
	K_HELPER, /* placeholder forking children of the reaper in a session */
	K_KEEPER, /* placeholder keeping a group alive while its leader moves */
};

#define ROOT 1 /* proc index of tasks[0]; 0 is actor 0 */

struct proc {
	pid_t pid, sid, pgid; /* final ids; a keeper's pgid is the group it keeps */
	pid_t bs;	      /* the session it must be born in, when bs_set */
	enum proc_kind kind;
	int par;     /* parent at the end (tasks), the creator (ghosts) */
	int creator; /* proc that forks it; -1: not chosen yet */
	bool leader, zombie, bs_set, cp, mover;
	/* scheduling */
	bool created, exited, group_made;
	int pre_left;	/* forks it must do before its setsid */
	int forks_left; /* forks it must do */
	int own_left;	/* its setsid/setpgid steps still to do */
	int reaps_left; /* ghosts it forked that are not reaped */
	int joins_left; /* tasks still to join group @pid */
	int settled;	/* processes in group @pid for good */
	int nmovers;	/* members of group @pid that lead groups themselves */
};

struct sess {
	pid_t sid;
	int leader;	  /* proc index: task, ghost or actor 0 */
	int top;	  /* the leader's parent: CLONE_PARENT from the leader lands there */
	int helper;	  /* K_HELPER, made on demand */
	int first, count; /* members (non-leader tasks) in plan_ctx.memb */
};

enum act_kind { A_FORK, A_SETSID, A_SETPGID, A_JOIN, A_EXIT, A_REAP };

struct action {
	enum act_kind kind; /* A_SETPGID: make own group; A_JOIN: final group */
	bool done, pre;
	int x;
};

struct plan_ctx {
	const struct pstree_task *tasks;
	size_t ntasks;
	const struct pstree_env *env;
	struct proc *p;
	int np, cap;
	struct pidmap pmap; /* pid -> proc index */
	struct sess *s;
	int ns;
	struct pidmap smap; /* sid -> sess index */
	int *memb;
	int *cnt, *stamp; /* scratch, one per proc */
	pid_t a0_sid, a0_pgid, next_pid;
	int reaper; /* proc index of the reaper: ROOT or 0 */
	struct action *act;
	int nact;
	struct sim sim;
	struct pstree_step *steps;
	size_t nsteps;
};

static int add_proc(struct plan_ctx *c, enum proc_kind kind, pid_t pid, pid_t sid, pid_t pgid)
{
	struct proc *p;

	if (c->np >= c->cap) {
		pr_err("pid %d: too many processes\n", pid);
		return -ENOSPC;
	}
	p = &c->p[c->np];
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->pid = pid;
	p->sid = sid;
	p->pgid = pgid;
	p->leader = kind != K_ACTOR0 && pid == sid;
	p->par = -1;
	p->creator = -1;
	if (pidmap_put(&c->pmap, pid, c->np))
		return -ENOSPC;
	return c->np++;
}

static pid_t new_pid(struct plan_ctx *c)
{
	return c->next_pid < INT_MAX ? c->next_pid++ : -1;
}

static int ctx_init(struct plan_ctx *c)
{
	size_t i, n = c->ntasks;
	pid_t max = 0;
	int k;

	c->cap = 5 * (int)n + 4;
	c->p = calloc(c->cap, sizeof(*c->p));
	c->s = calloc(n + 1, sizeof(*c->s));
	c->memb = calloc(n + 1, sizeof(*c->memb));
	c->cnt = calloc(c->cap + 1, sizeof(*c->cnt));
	c->stamp = calloc(c->cap + 1, sizeof(*c->stamp));
	c->act = calloc(5 * (size_t)c->cap, sizeof(*c->act));
	if (!c->p || !c->s || !c->memb || !c->cnt || !c->stamp || !c->act) {
		pr_err("Can't allocate the planner for %zu tasks\n", n);
		return -ENOMEM;
	}
	if (pidmap_init(&c->pmap, c->cap) || pidmap_init(&c->smap, n))
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct pstree_task *t = &c->tasks[i];

		if (t->pid <= 0 || t->sid <= 0 || t->pgid <= 0) {
			pr_err("pid %d: bad ids (sid %d, pgid %d)\n", t->pid, t->sid, t->pgid);
			return -EINVAL;
		}
		if (pidmap_get(&c->pmap, t->pid) >= 0) {
			pr_err("pid %d: appears twice in the image\n", t->pid);
			return -EINVAL;
		}
		if (!i && add_proc(c, K_ACTOR0, 0, 0, 0) < 0)
			return -ENOSPC;
		k = add_proc(c, K_TASK, t->pid, t->sid, t->pgid);
		if (k < 0)
			return k;
		c->p[k].zombie = t->zombie;
		max = t->pid > max ? t->pid : max;
		max = t->sid > max ? t->sid : max;
		max = t->pgid > max ? t->pgid : max;
		max = t->ppid > max ? t->ppid : max;
	}
	max = c->env->outside_sid > max ? c->env->outside_sid : max;
	max = c->env->outside_pgid > max ? c->env->outside_pgid : max;
	c->next_pid = max < INT_MAX ? max + 1 : INT_MAX;
	return 0;
}

static void ctx_fini(struct plan_ctx *c)
{
	sim_fini(&c->sim);
	pidmap_fini(&c->pmap);
	pidmap_fini(&c->smap);
	free(c->p);
	free(c->s);
	free(c->memb);
	free(c->cnt);
	free(c->stamp);
	free(c->act);
	free(c->steps);
}

/* Parents: in the image, or the reaper for orphans; no cycles, no zombies. */
static int check_parents(struct plan_ctx *c)
{
	int k, u, *mark = c->cnt;

	c->p[ROOT].par = 0;
	for (k = ROOT + 1; k <= (int)c->ntasks; k++) {
		const struct pstree_task *t = &c->tasks[k - 1];

		u = pidmap_get(&c->pmap, t->ppid);
		if (u < 0 || t->ppid == 0) {
			if (!c->env->new_pidns) {
				pr_err("pid %d: parent %d is not in the image (an orphan); "
				       "refused without a new pid namespace\n",
				       t->pid, t->ppid);
				return -EINVAL;
			}
			u = c->reaper;
		}
		if (c->p[u].zombie) {
			pr_err("pid %d: parent %d is a zombie, and zombies have no children\n",
			       t->pid, c->p[u].pid);
			return -EINVAL;
		}
		c->p[k].par = u;
	}
	memset(mark, 0, c->cap * sizeof(*mark));
	mark[ROOT] = -1;
	for (k = ROOT + 1; k <= (int)c->ntasks; k++) {
		for (u = k; c->p[u].kind == K_TASK && !mark[u]; u = c->p[u].par)
			mark[u] = k;
		if (c->p[u].kind == K_TASK && mark[u] == k) {
			pr_err("pid %d: its parents form a cycle\n", c->p[k].pid);
			return -EINVAL;
		}
		for (u = k; c->p[u].kind == K_TASK && mark[u] == k; u = c->p[u].par)
			mark[u] = -1;
	}
	return 0;
}

static struct sess *sess_of(const struct plan_ctx *c, pid_t sid)
{
	int i = pidmap_get(&c->smap, sid);

	return i < 0 ? NULL : &c->s[i];
}

/* Sessions: leaders lead their group, a session id in the image is a leader. */
static int check_sessions(struct plan_ctx *c)
{
	int k, l;

	for (k = ROOT; k <= (int)c->ntasks; k++) {
		struct proc *p = &c->p[k];

		if (p->leader && p->pgid != p->pid) {
			pr_err("pid %d: session leader in group %d, not its own\n", p->pid,
			       p->pgid);
			return -EINVAL;
		}
		l = pidmap_get(&c->pmap, p->sid);
		if (l > 0 && c->p[l].sid != p->sid) {
			pr_err("pid %d: in session %d, but task %d is not that session's leader\n",
			       p->pid, p->sid, p->sid);
			return -EINVAL;
		}
		if (p->sid == c->a0_pgid && p->sid != c->a0_sid) {
			pr_err("pid %d: session %d is the restarter's group\n", p->pid, p->sid);
			return -EINVAL;
		}
		if (sess_of(c, p->sid))
			continue;
		/* c->s has a slot per task (ctx_init); the analyzer loses that. */
		// NOLINTNEXTLINE(clang-analyzer-core.NullDereference)
		c->s[c->ns] = (struct sess){.sid = p->sid, .top = -1, .helper = -1};
		c->s[c->ns].leader = l > 0 ? l : p->sid == c->a0_sid ? 0 : -1;
		if (pidmap_put(&c->smap, p->sid, c->ns++))
			return -ENOSPC;
	}
	return 0;
}

/* Where a non-leader member must be created, and what it needs. */
static int check_root(struct plan_ctx *c)
{
	const struct proc *r = &c->p[ROOT];
	const struct sess *s = sess_of(c, r->sid);

	if (r->leader || r->sid == c->a0_sid)
		return 0;
	if (s->leader > 0) {
		pr_err("root %d: in session %d, whose leader is a task of the image\n", r->pid,
		       r->sid);
		return -EINVAL;
	}
	if (c->reaper == ROOT) {
		pr_err("root %d: as the namespace init it cannot join session %d, whose "
		       "leader would have to be forked before it\n",
		       r->pid, r->sid);
		return -EINVAL;
	}
	return 0;
}

/* A group lives in one session; its leader, when alive, stays in it. */
static int check_one_group(struct plan_ctx *c, const struct proc *m, int first)
{
	const struct proc *f = &c->p[first];
	int l = pidmap_get(&c->pmap, m->pgid);

	if (m->sid != f->sid) {
		pr_err("pid %d: group %d lives in session %d (pid %d), not in %d\n", m->pid,
		       m->pgid, f->sid, f->pid, m->sid);
		return -EINVAL;
	}
	if (l > 0 && c->p[l].sid != m->sid) {
		pr_err("pid %d: in group %d of session %d, but task %d is in session %d\n", m->pid,
		       m->pgid, m->sid, m->pgid, c->p[l].sid);
		return -EINVAL;
	}
	if (sess_of(c, m->pgid) && m->sid != m->pgid) {
		pr_err("pid %d: in group %d, which is session %d's group, from session %d\n",
		       m->pid, m->pgid, m->pgid, m->sid);
		return -EINVAL;
	}
	if (m->pgid == c->a0_pgid && m->sid != c->a0_sid) {
		pr_err("pid %d: in the restarter's group %d but in session %d\n", m->pid, m->pgid,
		       m->sid);
		return -EINVAL;
	}
	if (l < 0 && m->pgid == c->a0_sid && m->pgid != c->a0_pgid) {
		pr_err("pid %d: group %d is led by the restarter's session leader\n", m->pid,
		       m->pgid);
		return -EINVAL;
	}
	return 0;
}

static int check_groups(struct plan_ctx *c)
{
	struct pidmap first;
	int k, f, ret;

	ret = pidmap_init(&first, c->ntasks);
	for (k = ROOT; !ret && k <= (int)c->ntasks; k++) {
		struct proc *p = &c->p[k];

		f = pidmap_get(&first, p->pgid);
		if (f < 0) {
			f = k;
			ret = pidmap_put(&first, p->pgid, k);
		}
		if (!ret)
			ret = check_one_group(c, p, f);
	}
	pidmap_fini(&first);
	return ret;
}

/* Members of each session; refuse a zombie leader that would have to fork them. */
static int collect_members(struct plan_ctx *c)
{
	int k, i, pos = 0;
	struct sess *s;

	for (k = ROOT; k <= (int)c->ntasks; k++)
		if (!c->p[k].leader)
			sess_of(c, c->p[k].sid)->count++;
	for (i = 0; i < c->ns; i++) {
		s = &c->s[i];
		s->first = pos;
		pos += s->count;
		s->count = 0;
	}
	for (k = ROOT; k <= (int)c->ntasks; k++) {
		if (c->p[k].leader)
			continue;
		c->p[k].bs = c->p[k].sid;
		c->p[k].bs_set = true;
		s = sess_of(c, c->p[k].sid);
		c->memb[s->first + s->count++] = k;
		if (s->leader > 0 && c->p[s->leader].zombie) {
			pr_err("pid %d: session leader %d is a zombie; a zombie cannot create "
			       "its session's members\n",
			       c->p[k].pid, c->p[s->leader].pid);
			return -EINVAL;
		}
	}
	return 0;
}

/* Ghosts for sessions and groups whose leader is gone. */
static int add_ghosts(struct plan_ctx *c)
{
	int i, k, g;

	for (i = 0; i < c->ns; i++) {
		struct sess *s = &c->s[i];

		if (s->leader >= 0)
			continue;
		g = add_proc(c, K_GSESS, s->sid, s->sid, s->sid);
		if (g < 0)
			return g;
		s->leader = g;
	}
	for (k = ROOT; k <= (int)c->ntasks; k++) {
		const struct proc *p = &c->p[k];

		if (p->pgid == c->a0_pgid || pidmap_get(&c->pmap, p->pgid) >= 0)
			continue;
		g = add_proc(c, K_GGROUP, p->pgid, p->sid, p->pgid);
		if (g < 0)
			return g;
		c->p[g].bs = p->sid;
		c->p[g].bs_set = true;
	}
	return 0;
}

/* ---- Choosing creators ---- */

static bool in_final(const struct plan_ctx *c, int q, pid_t sid)
{
	return c->p[q].kind == K_ACTOR0 ? c->a0_sid == sid : c->p[q].sid == sid;
}

/* @q could give its children session @sid: it is or was in it. */
static bool has_session(const struct plan_ctx *c, int q, pid_t sid)
{
	return in_final(c, q, sid) || (c->p[q].bs_set && c->p[q].bs == sid);
}

/* A child of @q can be forked by a ghost that exits: the reaper adopts it. */
static bool reaper_child(const struct plan_ctx *c, int q)
{
	return c->env->new_pidns && q == c->reaper;
}

/* @q is a session leader that may still be born in another session. */
static bool can_commit(const struct plan_ctx *c, int q)
{
	const struct proc *p = &c->p[q];

	return p->kind == K_TASK && p->leader && !p->zombie && !p->bs_set;
}

static void set_creator(struct plan_ctx *c, int x, int creator, bool cp)
{
	c->p[x].creator = creator;
	c->p[x].cp = cp;
	pr_debug("pid %d: created by %d%s\n", c->p[x].pid, c->p[creator].pid,
		 cp ? " with CLONE_PARENT" : "");
}

/* @x, a child of the reaper, is forked in @s by a ghost that then exits. */
static int via_reaper(struct plan_ctx *c, int x, struct sess *s)
{
	int h;

	if (c->p[s->leader].kind == K_GSESS) {
		set_creator(c, x, s->leader, false);
		return 0;
	}
	if (s->leader == 0) {
		pr_err("pid %d: no process of the restarter's session can adopt it\n", c->p[x].pid);
		return -EINVAL;
	}
	if (s->helper < 0) {
		h = add_proc(c, K_HELPER, new_pid(c), s->sid, c->p[s->leader].pgid);
		if (h < 0 || c->p[h].pid < 0)
			return -ENOSPC;
		c->p[h].bs = s->sid;
		c->p[h].bs_set = true;
		c->p[h].par = s->leader;
		set_creator(c, h, s->leader, false);
		s->helper = h;
	}
	set_creator(c, x, s->helper, false);
	return 0;
}

/* Choose the creator of @x, born in @s, and of the parents this commits. */
static int born_in(struct plan_ctx *c, int x, struct sess *s)
{
	int q, first = x;

	for (;;) {
		q = c->p[x].par;
		if (has_session(c, q, s->sid)) {
			set_creator(c, x, q, false);
			return 0;
		}
		if (q == s->top) {
			set_creator(c, x, s->leader, true);
			return 0;
		}
		if (reaper_child(c, q))
			return via_reaper(c, x, s);
		if (!can_commit(c, q)) {
			if (x == first)
				pr_err("pid %d: nothing in session %d can create it as a child "
				       "of %d\n",
				       c->p[x].pid, s->sid, c->p[q].pid);
			else
				pr_err("pid %d: nothing in session %d can create its ancestor %d "
				       "as a child of %d\n",
				       c->p[first].pid, s->sid, c->p[x].pid, c->p[q].pid);
			return -EINVAL;
		}
		c->p[q].bs = s->sid;
		c->p[q].bs_set = true;
		pr_debug("pid %d: born in session %d, setsid after forking\n", c->p[q].pid, s->sid);
		set_creator(c, x, q, false);
		x = q;
	}
}

/* The chain above @u cannot reach session @sid without a leader's help. */
static bool chain_blocked(const struct plan_ctx *c, int u, pid_t sid)
{
	for (;;) {
		if (has_session(c, u, sid) || reaper_child(c, u))
			return false;
		if (!can_commit(c, u))
			return true;
		u = c->p[u].par;
	}
}

/*
 * A dead leader's ghost goes where every blocked chain of parents can meet
 * it: the deepest process on all of them. It forks the members there with
 * CLONE_PARENT; parents below it are born in the session.
 */
static int choose_top(struct plan_ctx *c, struct sess *s, int stamp)
{
	int i, u, x, first = -1, nblocked = 0;

	for (i = 0; i < s->count; i++) {
		x = c->memb[s->first + i];
		if (c->p[x].creator >= 0 || !chain_blocked(c, c->p[x].par, s->sid))
			continue;
		if (first < 0)
			first = x;
		nblocked++;
		for (u = c->p[x].par;; u = c->p[u].par) {
			if (c->stamp[u] != stamp) {
				c->stamp[u] = stamp;
				c->cnt[u] = 0;
			}
			c->cnt[u]++;
			if (!can_commit(c, u))
				break;
		}
	}
	s->top = 0;
	for (u = first < 0 ? -1 : c->p[first].par; u >= 0; u = c->p[u].par) {
		if (c->stamp[u] == stamp && c->cnt[u] == nblocked) {
			s->top = u;
			break;
		}
		if (!can_commit(c, u)) {
			pr_err("pid %d: session %d's dead leader cannot be both a sibling of "
			       "its parent %d and of the other members' parents\n",
			       c->p[first].pid, s->sid, c->p[c->p[first].par].pid);
			return -EINVAL;
		}
	}
	c->p[s->leader].par = s->top;
	set_creator(c, s->leader, s->top, false);
	return 0;
}

static int assign_session(struct plan_ctx *c, struct sess *s)
{
	int i, x, ret;

	for (i = 0; i < s->count; i++) {
		x = c->memb[s->first + i];
		if (c->p[x].creator >= 0)
			continue;
		ret = born_in(c, x, s);
		if (ret)
			return ret;
	}
	return 0;
}

/* Sessions with a live leader first: their choices are forced. */
static int assign_sessions(struct plan_ctx *c)
{
	int i, ret;

	if (c->p[ROOT].leader) {
		c->p[ROOT].bs = c->a0_sid;
		c->p[ROOT].bs_set = true;
	}
	c->p[0].bs = c->a0_sid;
	c->p[0].bs_set = true;
	for (i = 0; i < c->ns; i++) {
		struct sess *s = &c->s[i];

		if (c->p[s->leader].kind == K_GSESS)
			continue;
		s->top = s->leader ? c->p[s->leader].par : -1;
		ret = assign_session(c, s);
		if (ret)
			return ret;
	}
	for (i = 0; i < c->ns; i++) {
		struct sess *s = &c->s[i];

		if (c->p[s->leader].kind != K_GSESS)
			continue;
		ret = choose_top(c, s, i + 1);
		if (!ret)
			ret = assign_session(c, s);
		if (ret)
			return ret;
	}
	return 0;
}

/* Movers lead a group with members but end in another; some need a keeper. */
static int add_keepers(struct plan_ctx *c)
{
	int k, g, n = c->np;

	for (k = ROOT; k <= (int)c->ntasks; k++) {
		g = pidmap_get(&c->pmap, c->p[k].pgid);
		if (g != k && g > 0)
			c->p[g].joins_left++;
	}
	for (k = ROOT; k <= (int)c->ntasks; k++) {
		struct proc *p = &c->p[k];

		p->mover = !p->leader && p->pgid != p->pid && p->joins_left > 0;
		g = pidmap_get(&c->pmap, p->pgid);
		if (p->mover && g > 0)
			c->p[g].nmovers++;
	}
	for (k = ROOT; k <= (int)c->ntasks && k < n; k++) {
		const struct proc *p = &c->p[k];
		int creator = p->zombie ? sess_of(c, p->sid)->leader : k;

		if (!p->mover || p->nmovers < p->joins_left)
			continue;
		g = add_proc(c, K_KEEPER, new_pid(c), p->sid, p->pid);
		if (g < 0 || c->p[g].pid < 0)
			return -ENOSPC;
		c->p[g].bs = p->sid;
		c->p[g].bs_set = true;
		c->p[g].par = creator;
		set_creator(c, g, creator, false);
	}
	return 0;
}

static int assign_rest(struct plan_ctx *c)
{
	int k;

	for (k = ROOT; k < c->np; k++) {
		struct proc *p = &c->p[k];

		if (p->creator >= 0)
			continue;
		if (p->kind == K_GGROUP)
			p->par = sess_of(c, p->sid)->leader;
		set_creator(c, k, p->par, false);
	}
	return add_keepers(c);
}

/* ---- Ordering the steps ---- */

static void add_action(struct plan_ctx *c, enum act_kind kind, int x, bool pre)
{
	c->act[c->nact++] = (struct action){.kind = kind, .x = x, .pre = pre};
	if (kind == A_SETSID || kind == A_SETPGID || kind == A_JOIN)
		c->p[x].own_left++;
}

static void add_proc_actions(struct plan_ctx *c, int x)
{
	struct proc *p = &c->p[x], *cr = &c->p[p->creator];
	bool pre = cr->leader && p->bs_set && p->bs != cr->sid;

	add_action(c, A_FORK, x, pre);
	cr->forks_left++;
	cr->pre_left += pre;
	if (p->kind != K_TASK && p->kind != K_ACTOR0)
		cr->reaps_left++;
	if (p->leader)
		add_action(c, A_SETSID, x, false);
	else if (p->kind == K_GGROUP || p->mover)
		add_action(c, A_SETPGID, x, false);
	if (p->kind == K_TASK && !p->leader)
		add_action(c, A_JOIN, x, false);
	if (p->kind == K_KEEPER)
		add_action(c, A_JOIN, x, false);
}

/* Actions in creation order: breadth first down the tree of creators. */
static int build_actions(struct plan_ctx *c)
{
	int *order = c->cnt, *e = c->stamp, *kids, head = 0, tail = 0, k, j;

	kids = calloc(c->np, sizeof(*kids));
	if (!kids) {
		pr_err("Can't allocate %d creator links\n", c->np);
		return -ENOMEM;
	}
	memset(e, 0, (c->np + 1) * sizeof(*e));
	for (k = 1; k < c->np; k++)
		e[c->p[k].creator]++;
	for (k = 1; k <= c->np; k++)
		e[k] += e[k - 1];
	for (k = c->np - 1; k > 0; k--)
		kids[--e[c->p[k].creator]] = k;
	order[tail++] = 0;
	while (head < tail) {
		int u = order[head++];

		for (j = e[u]; j < e[u + 1]; j++)
			order[tail++] = kids[j];
	}
	free(kids);
	if (tail != c->np) {
		pr_err("pid %d: its creators form a cycle\n", c->p[ROOT].pid);
		return -EINVAL;
	}
	for (j = 1; j < tail; j++)
		add_proc_actions(c, order[j]);
	for (j = tail - 1; j > 0; j--) {
		k = order[j];
		if (c->p[k].kind == K_TASK)
			continue;
		add_action(c, A_EXIT, k, false);
		add_action(c, A_REAP, k, false);
	}
	return 0;
}

/* The group a ghost must hold until every member has joined. */
static int held_group(const struct plan_ctx *c, int x)
{
	const struct proc *p = &c->p[x];

	if (p->kind == K_HELPER)
		return -1;
	return pidmap_get(&c->pmap, p->pgid);
}

/* Bookkeeping preconditions (the model checks the kernel's own). */
static bool act_ready(const struct plan_ctx *c, const struct action *a)
{
	const struct proc *p = &c->p[a->x], *cr;
	const struct sim_proc *sc;
	int g;

	switch (a->kind) {
	case A_FORK:
		cr = &c->p[p->creator];
		sc = sim_find(&c->sim, cr->pid);
		if (!sc || sc->exited || (a->x != ROOT && c->reaper == ROOT && !c->p[ROOT].created))
			return false;
		if (p->bs_set && sc->sid != p->bs)
			return false;
		return !p->cp || sc->ppid == c->p[p->par].pid;
	case A_SETSID:
		return p->created && !p->pre_left;
	case A_SETPGID:
		return p->created;
	case A_JOIN:
		if (!p->created || (p->mover && !p->group_made))
			return false;
		return !p->mover || p->settled > 0;
	case A_EXIT:
		if (!p->created || p->own_left || p->forks_left || p->reaps_left)
			return false;
		g = held_group(c, a->x);
		return g < 0 || !c->p[g].joins_left;
	case A_REAP:
		return p->exited;
	}
	return false;
}

static void act_step(const struct plan_ctx *c, const struct action *a, struct pstree_step *st)
{
	const struct proc *p = &c->p[a->x];
	const struct sim_proc *sp;

	memset(st, 0, sizeof(*st));
	st->actor = p->pid;
	switch (a->kind) {
	case A_FORK:
		st->kind = PSTREE_FORK;
		st->actor = c->p[p->creator].pid;
		st->pid = p->pid;
		st->clone_parent = p->cp;
		st->ghost = p->kind != K_TASK;
		st->placeholder = p->kind == K_HELPER || p->kind == K_KEEPER;
		break;
	case A_SETSID:
		st->kind = PSTREE_SETSID;
		break;
	case A_SETPGID:
		st->kind = PSTREE_SETPGID;
		st->pgid = p->pid;
		break;
	case A_JOIN:
		st->kind = PSTREE_SETPGID;
		st->pgid = p->pgid;
		break;
	case A_EXIT:
		st->kind = PSTREE_EXIT;
		break;
	case A_REAP:
		sp = sim_find(&c->sim, p->pid);
		st->kind = PSTREE_REAP;
		st->actor = sp ? sp->ppid : -1;
		st->pid = p->pid;
		break;
	}
}

static void act_done(struct plan_ctx *c, struct action *a)
{
	struct proc *p = &c->p[a->x];
	int g;

	a->done = true;
	switch (a->kind) {
	case A_FORK:
		p->created = true;
		c->p[p->creator].forks_left--;
		c->p[p->creator].pre_left -= a->pre;
		break;
	case A_SETPGID:
		p->group_made = true;
		/* fall through */
	case A_SETSID:
		p->own_left--;
		break;
	case A_JOIN:
		p->own_left--;
		g = pidmap_get(&c->pmap, p->pgid);
		if (g > 0) {
			c->p[g].settled++;
			c->p[g].joins_left -= p->kind == K_TASK;
		}
		break;
	case A_EXIT:
		p->exited = true;
		break;
	case A_REAP:
		c->p[p->creator].reaps_left--;
		break;
	}
}

/* Run action @a if it can go now; 1: done, 0: not yet, <0: error. */
static int try_action(struct plan_ctx *c, struct action *a)
{
	struct pstree_step st;
	const struct sim_proc *sp;

	if (!act_ready(c, a))
		return 0;
	if (a->kind == A_JOIN) {
		sp = sim_find(&c->sim, c->p[a->x].pid);
		if (sp && sp->pgid == c->p[a->x].pgid) {
			act_done(c, a); /* born in its group */
			return 1;
		}
	}
	act_step(c, a, &st);
	if (sim_step(&c->sim, c->nsteps, &st, true))
		return 0;
	c->steps[c->nsteps++] = st;
	act_done(c, a);
	return 1;
}

static void report_stuck(struct plan_ctx *c)
{
	struct pstree_step st;
	int i;

	for (i = 0; i < c->nact; i++) {
		const struct action *a = &c->act[i];

		if (a->done)
			continue;
		act_step(c, a, &st);
		/* When only the kernel's rules stop it, the model says which. */
		if (!act_ready(c, a) || !sim_step(&c->sim, c->nsteps, &st, false))
			pr_err("pid %d: no order of the steps lets its %s run\n", c->p[a->x].pid,
			       step_names[st.kind]);
		return;
	}
}

/* Sweep the actions until all ran; a sweep without progress is a dead end. */
static int schedule(struct plan_ctx *c)
{
	int i, ret, left = c->nact;
	bool progress = true;

	c->steps = calloc(c->nact ? c->nact : 1, sizeof(*c->steps));
	if (!c->steps) {
		pr_err("Can't allocate %d steps\n", c->nact);
		return -ENOMEM;
	}
	ret = sim_init(&c->sim, c->tasks, c->ntasks, c->env, c->np);
	if (ret)
		return ret;
	while (left && progress) {
		progress = false;
		for (i = 0; i < c->nact; i++) {
			if (c->act[i].done)
				continue;
			ret = try_action(c, &c->act[i]);
			if (ret < 0)
				return ret;
			left -= ret;
			progress |= ret;
		}
	}
	if (left) {
		report_stuck(c);
		return -EINVAL;
	}
	return 0;
}

static int plan_checks(struct plan_ctx *c)
{
	int ret;

	outside_ids(&c->pmap, c->env, &c->a0_sid, &c->a0_pgid);
	c->reaper = c->env->new_pidns && c->tasks[0].pid == 1 ? ROOT : 0;
	ret = check_parents(c);
	if (!ret)
		ret = check_sessions(c);
	if (!ret)
		ret = check_root(c);
	if (!ret)
		ret = check_groups(c);
	if (!ret)
		ret = collect_members(c);
	return ret;
}

int pstree_plan_build(const struct pstree_task *tasks, size_t ntasks, const struct pstree_env *env,
		      struct pstree_plan *plan)
{
	struct plan_ctx c = {.tasks = tasks, .ntasks = ntasks, .env = env};
	int ret;

	if (!plan)
		return -EINVAL;
	plan->steps = NULL;
	plan->nsteps = 0;
	if (!tasks || !ntasks || !env || ntasks > INT_MAX / 16) {
		pr_err("Bad arguments: %zu tasks\n", ntasks);
		return -EINVAL;
	}
	ret = ctx_init(&c);
	if (!ret)
		ret = plan_checks(&c);
	if (!ret)
		ret = add_ghosts(&c);
	if (!ret)
		ret = assign_sessions(&c);
	if (!ret)
		ret = assign_rest(&c);
	if (!ret)
		ret = build_actions(&c);
	if (!ret)
		ret = schedule(&c);
	if (!ret) {
		plan->steps = c.steps;
		plan->nsteps = c.nsteps;
		c.steps = NULL;
		ret = pstree_plan_verify(tasks, ntasks, env, plan);
		if (ret) {
			pr_err("pid %d: internal error, the plan does not rebuild the tree\n",
			       tasks[0].pid);
			pstree_plan_free(plan);
		}
	}
	ctx_fini(&c);
	return ret;
}
