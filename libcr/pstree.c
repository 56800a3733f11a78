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
#include "pidmap.h"
#include "pstree.h"

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
			       pstree_step_names[st.kind]);
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

void pstree_plan_free(struct pstree_plan *plan)
{
	free(plan->steps);
	plan->steps = NULL;
	plan->nsteps = 0;
}
