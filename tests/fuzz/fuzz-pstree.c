// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The tree-reconstruction planner (pstree_plan_build) that every restore
 * runs on the image's tasks. The first byte picks how the rest is read:
 *  - even: tasks as an image may hold them (pid, ppid, pgid, sid, zombie;
 *    mostly small ids, so that they meet, or any 32-bit value), the
 *    restarter's session and group and whether a pid namespace is new. A
 *    plan given must be one that rebuilds exactly those tasks: every task
 *    forked once, and pstree_plan_verify's simulation of the kernel agrees.
 *  - odd: a tree grown by running fork (plain or CLONE_PARENT), setsid,
 *    setpgid, exit and wait with the kernel's rules, the input choosing
 *    each step (as tests/unit/pstree-test.c does with a random generator),
 *    on the host, in a pid namespace whose init is the root, or in one
 *    whose init is the restarter. The kernel made it: it must be planned
 *    (a zombie leading a session with members, which pstree.h refuses, is
 *    reaped first).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cr.h"
#include "pstree.h"

#define MAX_TASKS 64
#define OSID	  1000
#define OPGID	  1001

struct input {
	const uint8_t *p;
	size_t left;
};

static unsigned byte(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static unsigned pick(struct input *in, unsigned n)
{
	return byte(in) % n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	cr_log_setup(-1, CR_LOG_ERROR); /* the planner's refusals are expected */
	return 0;
}

/* ---- the plan of a tree it accepted ---- */

static void check_plan(const struct pstree_task *t, size_t n, const struct pstree_env *env,
		       const struct pstree_plan *p)
{
	uint8_t forked[MAX_TASKS] = {0};

	for (size_t i = 0; i < p->nsteps; i++) {
		const struct pstree_step *s = &p->steps[i];
		size_t k;

		if (s->kind != PSTREE_FORK || s->ghost)
			continue;
		for (k = 0; k < n && t[k].pid != s->pid; k++)
			;
		if (k == n || forked[k]++)
			abort(); /* a task forked twice, or one the image does not have */
	}
	for (size_t k = 0; k < n; k++)
		if (!forked[k])
			abort(); /* a task never forked */
	if (pstree_plan_verify(t, n, env, p))
		abort(); /* the kernel would not let it run, or it builds another tree */
}

/* ---- tasks as read from an image ---- */

static pid_t id(struct input *in)
{
	unsigned b = byte(in);
	uint32_t v = 0;

	if (b < 0xf0)
		return (pid_t)(b % 48);
	for (int i = 0; i < 4; i++)
		v = v << 8 | byte(in);
	return (pid_t)v;
}

static void raw_tree(struct input *in)
{
	struct pstree_task t[MAX_TASKS];
	struct pstree_env env;
	struct pstree_plan p;
	unsigned flags = byte(in);
	size_t n = 0;

	env.new_pidns = flags & 1;
	env.outside_sid = flags & 2 ? id(in) : OSID;
	env.outside_pgid = flags & 4 ? id(in) : OPGID;
	while (in->left && n < MAX_TASKS) {
		t[n].pid = id(in);
		t[n].ppid = id(in);
		t[n].pgid = id(in);
		t[n].sid = id(in);
		t[n].zombie = byte(in) & 1;
		n++;
	}
	if (!n || pstree_plan_build(t, n, &env, &p))
		return;
	check_plan(t, n, &env, &p);
	pstree_plan_free(&p);
}

/* ---- a tree the kernel made (tests/unit/pstree-test.c's generator, driven by the input) ---- */

enum gen_mode { GEN_HOST, GEN_INIT, GEN_NS };

struct gproc {
	pid_t pid, ppid, pgid, sid;
	int state; /* 0: alive, 1: zombie, 2: reaped */
};

struct gen {
	struct gproc p[MAX_TASKS];
	int n;
	pid_t next;
	enum gen_mode mode;
	struct input *in;
};

static int gen_pick(struct gen *g, int state, pid_t sid)
{
	int i, seen = 0, want = (int)byte(g->in), pick = -1;

	for (i = 0; i < g->n; i++)
		if (g->p[i].state == state && (!sid || g->p[i].sid == sid) && seen++ <= want)
			pick = i;
	return pick;
}

static bool gen_group_used(const struct gen *g, pid_t pgid)
{
	for (int i = 0; i < g->n; i++)
		if (g->p[i].state < 2 && g->p[i].pgid == pgid)
			return true;
	return false;
}

static void gen_fork(struct gen *g, int a, bool cp)
{
	struct gproc *c;

	if (g->n >= MAX_TASKS || (cp && !a && g->mode != GEN_NS))
		return;
	c = &g->p[g->n++];
	*c = g->p[a];
	c->pid = g->next;
	g->next += 1 + (pid_t)pick(g->in, 3);
	c->ppid = cp ? g->p[a].ppid : g->p[a].pid;
	c->state = 0;
}

static void gen_setpgid(struct gen *g, int a)
{
	struct gproc *p = &g->p[a];
	int b;

	if (p->sid == p->pid)
		return;
	b = gen_pick(g, (int)pick(g->in, 2), p->sid);
	p->pgid = pick(g->in, 2) || b < 0 ? p->pid : g->p[b].pgid;
}

static void gen_exit(struct gen *g, int a)
{
	struct gproc *p = &g->p[a];
	int i;

	if (!a)
		return;
	/* On the host only a task without live children may exit: take a leaf. */
	for (i = 0; i < g->n; i++)
		if (g->p[i].ppid == p->pid && !g->p[i].state && g->mode == GEN_HOST)
			return gen_exit(g, i);
	for (i = 0; i < g->n; i++) {
		struct gproc *c = &g->p[i];

		if (c->ppid != p->pid || c->state == 2)
			continue;
		if (g->mode == GEN_HOST) /* the outside init reaps the zombies */
			c->state = 2;
		c->ppid = g->mode == GEN_INIT ? g->p[0].pid : 1;
	}
	p->state = 1 + (g->mode == GEN_HOST && pick(g->in, 2)); /* waited for at once */
}

static void gen_op(struct gen *g)
{
	int a = gen_pick(g, 0, 0), z;

	switch (pick(g->in, 6)) {
	case 0:
		gen_fork(g, a, false);
		break;
	case 1:
		gen_fork(g, a, true);
		break;
	case 2:
		if (!gen_group_used(g, g->p[a].pid))
			g->p[a].sid = g->p[a].pgid = g->p[a].pid;
		break;
	case 3:
		gen_setpgid(g, a);
		break;
	case 4:
		gen_exit(g, a);
		break;
	default:
		if ((z = gen_pick(g, 1, 0)) >= 0)
			g->p[z].state = 2; /* its parent waits for it */
	}
}

/* A zombie leading a session with members cannot be rebuilt (pstree.h): reap it. */
static void gen_fixup(struct gen *g)
{
	for (int i = 0; i < g->n; i++) {
		if (g->p[i].state != 1 || g->p[i].sid != g->p[i].pid)
			continue;
		for (int k = 0; k < g->n; k++)
			if (k != i && g->p[k].state < 2 && g->p[k].sid == g->p[i].sid)
				g->p[i].state = 2;
	}
}

static void grown_tree(struct input *in)
{
	static const pid_t root_pid[] = {100, 1, 2}, root_ppid[] = {50, 0, 1};
	struct pstree_env env = {.outside_sid = OSID, .outside_pgid = OPGID};
	struct pstree_task t[MAX_TASKS];
	struct pstree_plan p;
	struct gen g = {.in = in};
	unsigned flags = byte(in);
	size_t n = 0;

	g.mode = (enum gen_mode)(flags % 3);
	env.new_pidns = g.mode != GEN_HOST;
	g.p[0] = (struct gproc){root_pid[g.mode], root_ppid[g.mode], OPGID, OSID, 0};
	if (flags & 4 || (g.mode == GEN_INIT && flags & 8))
		g.p[0].sid = g.p[0].pgid = g.p[0].pid;
	g.n = 1;
	g.next = g.p[0].pid + 1 + (pid_t)pick(in, 5);
	while (in->left)
		gen_op(&g);
	gen_fixup(&g);
	for (int i = 0; i < g.n; i++) {
		const struct gproc *q = &g.p[i];

		if (q->state == 2)
			continue;
		t[n] = (struct pstree_task){q->pid, q->ppid, q->pgid, q->sid, q->state == 1};
		/* Some of init's children came from outside the namespace. */
		if (g.mode == GEN_INIT && i && q->ppid == 1 && flags & 16)
			t[n].ppid = 0;
		n++;
	}
	if (pstree_plan_build(t, n, &env, &p))
		abort(); /* a tree the kernel made, refused */
	check_plan(t, n, &env, &p);
	pstree_plan_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data + 1, size ? size - 1 : 0};

	if (!size)
		return 0;
	if (data[0] & 1)
		grown_tree(&in);
	else
		raw_tree(&in);
	return 0;
}
