// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the process-tree planner (libcr/pstree.c): hand-made trees
 * with the plans they must give, images that must be refused (with a
 * message naming the task), plans that pstree_plan_verify() must reject,
 * and random trees grown with the kernel's rules that must all be rebuilt.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "logcheck.h"

#include "cr.h"
#include "pstree.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* pid, ppid, pgid, sid */
#define T(pid, ppid, pgid, sid)                                                                    \
	{                                                                                          \
		(pid), (ppid), (pgid), (sid), false                                                \
	}
#define Z(pid, ppid, pgid, sid)                                                                    \
	{                                                                                          \
		(pid), (ppid), (pgid), (sid), true                                                 \
	}

#define OSID  1000
#define OPGID 1001

static const struct pstree_env host = {.outside_sid = OSID, .outside_pgid = OPGID};
static const struct pstree_env pidns = {
	.outside_sid = OSID, .outside_pgid = OPGID, .new_pidns = true};

static FILE *logf;

static int setup(void **state)
{
	(void)state;
	logf = tmpfile();
	if (!logf)
		return -1;
	cr_log_setup(fileno(logf), CR_LOG_ERROR);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cr_log_setup(2, CR_LOG_WARN);
	fclose(logf);
	return 0;
}

static void log_reset(void)
{
	assert_int_equal(ftruncate(fileno(logf), 0), 0);
	assert_int_equal(lseek(fileno(logf), 0, SEEK_SET), 0);
}

static void log_print(void)
{
	char buf[4096];
	ssize_t n = pread(fileno(logf), buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	print_message("%s", buf);
}

static void build_ok(const struct pstree_task *t, size_t n, const struct pstree_env *env,
		     struct pstree_plan *plan)
{
	log_reset();
	if (pstree_plan_build(t, n, env, plan))
		log_print();
	assert_non_null(plan->steps);
	assert_non_null(plan->steps);
	assert_int_equal(pstree_plan_verify(t, n, env, plan), 0);
}

static void refused(const struct pstree_task *t, size_t n, const struct pstree_env *env)
{
	struct pstree_plan plan = {(void *)1, 7};

	log_reset();
	assert_int_equal(pstree_plan_build(t, n, env, &plan), -EINVAL);
	assert_null(plan.steps);
	assert_int_equal(plan.nsteps, 0);
}

/* Index of the first step of @kind by @actor on @pid (-1: any), or -1. */
static int find(const struct pstree_plan *p, enum pstree_step_kind kind, pid_t actor, pid_t pid)
{
	size_t i;

	for (i = 0; i < p->nsteps; i++) {
		const struct pstree_step *s = &p->steps[i];

		if (s->kind != kind || s->actor != actor)
			continue;
		if (pid < 0 || (kind == PSTREE_SETPGID ? s->pgid : s->pid) == pid)
			return (int)i;
	}
	return -1;
}

static int count(const struct pstree_plan *p, enum pstree_step_kind kind)
{
	size_t i;
	int n = 0;

	for (i = 0; i < p->nsteps; i++)
		n += p->steps[i].kind == kind;
	return n;
}

static void test_single(void **state)
{
	struct pstree_task one[] = {T(100, 50, OPGID, OSID)};
	struct pstree_task leader[] = {T(100, 50, 100, 100)};
	struct pstree_plan p;

	(void)state;
	build_ok(one, 1, &host, &p);
	assert_int_equal(p.nsteps, 1);
	assert_int_equal(p.steps[0].kind, PSTREE_FORK);
	assert_int_equal(p.steps[0].actor, 0);
	assert_int_equal(p.steps[0].pid, 100);
	assert_false(p.steps[0].clone_parent);
	assert_false(p.steps[0].ghost);
	pstree_plan_free(&p);
	assert_null(p.steps);

	build_ok(leader, 1, &host, &p);
	assert_int_equal(p.nsteps, 2);
	assert_int_equal(find(&p, PSTREE_SETSID, 100, -1), 1);
	pstree_plan_free(&p);

	build_ok(leader, 1, &(struct pstree_env){0}, &p);
	assert_int_equal(p.nsteps, 2);
	pstree_plan_free(&p);
}

static void test_chain(void **state)
{
	struct pstree_task t[] = {
		T(100, 50, OPGID, OSID),
		T(101, 100, OPGID, OSID),
		T(102, 101, OPGID, OSID),
		T(103, 102, OPGID, OSID),
	};
	struct pstree_plan p;
	int i;

	(void)state;
	build_ok(t, ARRAY_SIZE(t), &host, &p);
	assert_int_equal(p.nsteps, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(p.steps[i].kind, PSTREE_FORK);
		assert_int_equal(p.steps[i].actor, i ? 99 + i : 0);
		assert_int_equal(p.steps[i].pid, 100 + i);
	}
	pstree_plan_free(&p);
}

/* A shell script leading its own group, a pipeline job and a second job. */
static void test_pipeline(void **state)
{
	struct pstree_task t[] = {
		T(100, 50, 100, OSID),	T(101, 100, 101, OSID), T(102, 100, 101, OSID),
		T(103, 100, 101, OSID), T(104, 100, 104, OSID), T(105, 104, 104, OSID),
		T(106, 100, 100, OSID),
	};
	struct pstree_plan p;

	(void)state;
	build_ok(t, ARRAY_SIZE(t), &host, &p);
	assert_true(find(&p, PSTREE_SETPGID, 100, 100) >= 0);
	assert_true(find(&p, PSTREE_SETPGID, 101, 101) < find(&p, PSTREE_SETPGID, 102, 101));
	assert_true(find(&p, PSTREE_SETPGID, 101, 101) < find(&p, PSTREE_SETPGID, 103, 101));
	assert_int_equal(find(&p, PSTREE_SETPGID, 106, -1), -1); /* born in group 100 */
	assert_int_equal(find(&p, PSTREE_SETPGID, 105, -1), -1);
	assert_int_equal(count(&p, PSTREE_SETSID), 0);
	assert_int_equal(count(&p, PSTREE_EXIT), 0);
	pstree_plan_free(&p);
}

static void test_setsid_child(void **state)
{
	struct pstree_task t[] = {
		T(100, 50, OPGID, OSID), T(200, 100, 200, 200), T(201, 200, 200, 200),
		T(202, 200, 202, 200),	 T(203, 202, 202, 200), T(204, 203, 204, 200),
	};
	struct pstree_plan p;

	(void)state;
	build_ok(t, ARRAY_SIZE(t), &host, &p);
	assert_true(find(&p, PSTREE_SETSID, 200, -1) < find(&p, PSTREE_FORK, 200, 201));
	assert_true(find(&p, PSTREE_SETSID, 200, -1) < find(&p, PSTREE_FORK, 200, 202));
	assert_true(find(&p, PSTREE_SETPGID, 202, 202) >= 0);
	assert_int_equal(count(&p, PSTREE_EXIT), 0);
	pstree_plan_free(&p);
}

/* Session 250's leader is gone: a ghost 250 forks its members as siblings. */
static void test_dead_session_leader(void **state)
{
	struct pstree_task t[] = {
		T(100, 50, OPGID, OSID), T(300, 100, 250, 250), T(301, 300, 301, 250),
		T(302, 100, 250, 250),	 T(303, 302, 250, 250),
	};
	struct pstree_plan p;
	int g;

	(void)state;
	build_ok(t, ARRAY_SIZE(t), &host, &p);
	g = find(&p, PSTREE_FORK, 100, 250);
	assert_true(g >= 0);
	assert_true(p.steps[g].ghost);
	assert_false(p.steps[g].placeholder);
	assert_true(find(&p, PSTREE_SETSID, 250, -1) > g);
	assert_true(p.steps[find(&p, PSTREE_FORK, 250, 300)].clone_parent);
	assert_true(p.steps[find(&p, PSTREE_FORK, 250, 302)].clone_parent);
	assert_true(find(&p, PSTREE_FORK, 302, 303) >= 0);
	assert_true(find(&p, PSTREE_EXIT, 250, -1) > find(&p, PSTREE_FORK, 250, 302));
	assert_true(find(&p, PSTREE_REAP, 100, 250) > find(&p, PSTREE_EXIT, 250, -1));
	pstree_plan_free(&p);
}

static void test_dead_group_leader(void **state)
{
	struct pstree_task t[] = {
		T(100, 50, OPGID, OSID), T(400, 100, 399, OSID), T(401, 400, 399, OSID),
		T(500, 100, 500, 500),	 T(501, 500, 499, 500),	 T(502, 501, 499, 500),
	};
	struct pstree_plan p;
	int g, e;

	(void)state;
	build_ok(t, ARRAY_SIZE(t), &host, &p);
	g = find(&p, PSTREE_FORK, 0, 399);
	assert_true(g >= 0 && p.steps[g].ghost);
	assert_true(find(&p, PSTREE_SETPGID, 399, 399) > g);
	e = find(&p, PSTREE_EXIT, 399, -1);
	assert_true(e > find(&p, PSTREE_SETPGID, 400, 399));
	assert_true(find(&p, PSTREE_REAP, 0, 399) > e);
	g = find(&p, PSTREE_FORK, 500, 499);
	assert_true(g >= 0 && p.steps[g].ghost);
	assert_true(find(&p, PSTREE_EXIT, 499, -1) > find(&p, PSTREE_SETPGID, 501, 499));
	assert_true(find(&p, PSTREE_REAP, 500, 499) > 0);
	pstree_plan_free(&p);
}

/*
 * Sessions in sessions, and parents that forked before their setsid: the
 * root forked 140 in the outside session, 120 forked 130 in session 110.
 */
static void test_nested_sessions(void **state)
{
	struct pstree_task t[] = {
		T(100, 50, 100, 100),  T(110, 100, 110, 110), T(120, 110, 120, 120),
		T(121, 120, 120, 120), T(130, 120, 110, 110), T(140, 100, OPGID, OSID),
		T(150, 130, 150, 110), T(160, 121, 160, 160), T(161, 160, 160, 160),
	};
	struct pstree_plan p;

	(void)state;
	build_ok(t, ARRAY_SIZE(t), &host, &p);
	assert_true(find(&p, PSTREE_FORK, 120, 130) < find(&p, PSTREE_SETSID, 120, -1));
	assert_true(find(&p, PSTREE_FORK, 100, 140) < find(&p, PSTREE_SETSID, 100, -1));
	assert_true(find(&p, PSTREE_SETSID, 120, -1) < find(&p, PSTREE_FORK, 120, 121));
	assert_int_equal(count(&p, PSTREE_EXIT), 0);
	pstree_plan_free(&p);
}

/* Zombies: a leaf, a session leader alone, a group leader with a member. */
static void test_zombies(void **state)
{
	struct pstree_task t[] = {
		T(100, 50, OPGID, OSID), Z(600, 100, OPGID, OSID), Z(601, 100, 601, 601),
		Z(603, 100, 603, OSID),	 T(604, 100, 603, OSID),   Z(605, 604, 605, OSID),
	};
	struct pstree_plan p;
	size_t i, k;

	(void)state;
	build_ok(t, ARRAY_SIZE(t), &host, &p);
	for (i = 0; i < p.nsteps; i++)
		for (k = 0; k < ARRAY_SIZE(t); k++)
			if (t[k].zombie && p.steps[i].actor == t[k].pid)
				assert_true(p.steps[i].kind == PSTREE_SETSID ||
					    p.steps[i].kind == PSTREE_SETPGID);
	assert_true(find(&p, PSTREE_SETSID, 601, -1) >= 0);
	assert_true(find(&p, PSTREE_SETPGID, 603, 603) < find(&p, PSTREE_SETPGID, 604, 603));
	pstree_plan_free(&p);
}

/* A zombie leading a group with members that end elsewhere: a keeper. */
static void test_zombie_mover(void **state)
{
	struct pstree_task t[] = {
		T(100, 50, OPGID, OSID),
		Z(700, 100, 701, OSID),
		T(701, 100, 700, OSID),
	};
	struct pstree_plan p;

	(void)state;
	build_ok(t, ARRAY_SIZE(t), &host, &p);
	assert_true(count(&p, PSTREE_EXIT) >= 1);
	pstree_plan_free(&p);
}

static void test_zombie_refused(void **state)
{
	struct pstree_task parent[] = {
		T(100, 50, OPGID, OSID),
		Z(700, 100, OPGID, OSID),
		T(701, 700, OPGID, OSID),
	};
	struct pstree_task leader[] = {
		T(100, 50, OPGID, OSID),
		Z(800, 100, 800, 800),
		T(801, 100, 800, 800),
	};

	(void)state;
	refused(parent, ARRAY_SIZE(parent), &host);
	log_fd_has(fileno(logf), "701", "700", "zombie", NULL);
	refused(leader, ARRAY_SIZE(leader), &host);
	log_fd_has(fileno(logf), "801", "800", "zombie", NULL);
}

/* Orphans: refused on the host, adopted by the init in a new pid namespace. */
static void test_orphans(void **state)
{
	struct pstree_task t[] = {
		T(1, 0, 1, 1), T(5, 3, 1, 1),  T(6, 0, 6, 6),  T(7, 6, 6, 6),
		T(9, 4, 8, 8), T(10, 9, 8, 8), T(11, 1, 8, 8),
	};
	struct pstree_task t2[] = {
		T(2, 1, OPGID, OSID),
		T(5, 1, OPGID, OSID),
		T(6, 1, 6, 6),
		T(7, 4, 6, 6),
	};
	struct pstree_plan p;
	int f;

	(void)state;
	refused(t, ARRAY_SIZE(t), &host);
	log_fd_has(fileno(logf), "5", "orphan", NULL);
	refused(t2, ARRAY_SIZE(t2), &host);
	log_fd_has(fileno(logf), "orphan", NULL);

	build_ok(t, ARRAY_SIZE(t), &pidns, &p);
	assert_int_equal(p.steps[0].pid, 1);
	assert_int_equal(p.steps[0].actor, 0);
	f = find(&p, PSTREE_FORK, 8, 9); /* the ghost leader forks it and exits */
	assert_true(f >= 0);
	assert_false(p.steps[f].clone_parent);
	for (f = 0; f < (int)p.nsteps; f++)
		assert_false(p.steps[f].actor == 1 && p.steps[f].clone_parent);
	pstree_plan_free(&p);

	/* The root is not pid 1: the restarter is the init, orphans are its. */
	build_ok(t2, ARRAY_SIZE(t2), &pidns, &p);
	pstree_plan_free(&p);
}

/* A child of the init, in a session whose leader lives further down. */
static void test_reaper_helper(void **state)
{
	struct pstree_task t[] = {
		T(1, 0, 1, 1),
		T(10, 1, 1, 1),
		T(20, 10, 20, 20),
		T(21, 1, 20, 20),
	};
	struct pstree_plan p;
	size_t i;
	int helpers = 0;

	(void)state;
	refused(t, ARRAY_SIZE(t), &host);
	log_fd_has(fileno(logf), "21", NULL);
	build_ok(t, ARRAY_SIZE(t), &pidns, &p);
	for (i = 0; i < p.nsteps; i++)
		if (p.steps[i].kind == PSTREE_FORK && p.steps[i].placeholder) {
			helpers++;
			assert_int_equal(p.steps[i].actor, 20);
			assert_true(p.steps[i].pid > 1001);
		}
	assert_int_equal(helpers, 1);
	pstree_plan_free(&p);
}

static void test_pgid_other_session(void **state)
{
	struct pstree_task outside[] = {
		T(100, 50, OPGID, OSID),
		T(200, 100, 200, 200),
		T(201, 200, OPGID, 200),
	};
	struct pstree_task other[] = {
		T(100, 50, OPGID, OSID),
		T(200, 100, 200, 200),
		T(202, 200, 210, 200),
		T(210, 100, 210, OSID),
	};
	struct pstree_task dead[] = {
		T(100, 50, OPGID, OSID),
		T(200, 100, 200, 200),
		T(202, 200, 230, 200),
		T(203, 100, 230, OSID),
	};

	(void)state;
	refused(outside, ARRAY_SIZE(outside), &host);
	log_fd_has(fileno(logf), "201", "1001", NULL);
	refused(other, ARRAY_SIZE(other), &host);
	log_fd_has(fileno(logf), "210", "group", NULL);
	refused(dead, ARRAY_SIZE(dead), &host);
	log_fd_has(fileno(logf), "203", "230", NULL);
}

/* Trees no history of fork/setsid/setpgid/exit can make. */
static void test_unreachable(void **state)
{
	/* A dead leader would have to be the child of both 110 and 120. */
	struct pstree_task two[] = {
		T(100, 50, OPGID, OSID), T(110, 100, OPGID, OSID), T(120, 100, OPGID, OSID),
		T(111, 110, 250, 250),	 T(121, 120, 250, 250),
	};
	/* 200 leads its session, but 111's parent never was in it. */
	struct pstree_task live[] = {
		T(100, 50, OPGID, OSID),
		T(200, 100, 200, 200),
		T(110, 100, OPGID, OSID),
		T(111, 110, 200, 200),
	};

	(void)state;
	refused(two, ARRAY_SIZE(two), &host);
	log_fd_has(fileno(logf), "250", NULL);
	refused(live, ARRAY_SIZE(live), &host);
	log_fd_has(fileno(logf), "111", "200", "110", NULL);
	refused(live, ARRAY_SIZE(live), &pidns);
}

static void test_bad_images(void **state)
{
	struct pstree_task dup[] = {
		T(100, 50, OPGID, OSID),
		T(101, 100, OPGID, OSID),
		T(101, 100, OPGID, OSID),
	};
	struct pstree_task cycle[] = {
		T(100, 50, OPGID, OSID),
		T(101, 102, OPGID, OSID),
		T(102, 101, OPGID, OSID),
	};
	struct pstree_task lead[] = {T(100, 50, OPGID, OSID), T(101, 100, OPGID, 101)};
	struct pstree_task notlead[] = {T(100, 50, OPGID, OSID), T(101, 100, 101, 101),
					T(102, 101, 102, 102), T(103, 102, 102, 101),
					T(104, 100, OPGID, 102)};
	struct pstree_task rootsess[] = {T(100, 50, 100, 101), T(101, 100, 101, 101)};
	struct pstree_plan p;

	(void)state;
	refused(dup, ARRAY_SIZE(dup), &host);
	log_fd_has(fileno(logf), "101", "twice", NULL);
	assert_int_equal(pstree_plan_verify(dup, ARRAY_SIZE(dup), &host, &(struct pstree_plan){0}),
			 -EINVAL);
	refused(cycle, ARRAY_SIZE(cycle), &host);
	log_fd_has(fileno(logf), "cycle", NULL);
	refused(lead, ARRAY_SIZE(lead), &host);
	log_fd_has(fileno(logf), "101", NULL);
	refused(notlead, ARRAY_SIZE(notlead), &host);
	refused(rootsess, ARRAY_SIZE(rootsess), &host);
	log_fd_has(fileno(logf), "100", NULL);
	assert_int_equal(pstree_plan_build(NULL, 0, &host, &p), -EINVAL);
	assert_int_equal(pstree_plan_build(dup, 1, NULL, &p), -EINVAL);
}

/* The root in a session whose leader is dead: a ghost forks it, off pid-ns. */
static void test_root_in_dead_session(void **state)
{
	struct pstree_task t[] = {T(100, 50, 90, 90), T(101, 100, 101, 90)};
	struct pstree_task init[] = {T(1, 0, 90, 90), T(2, 1, 2, 90)};
	struct pstree_plan p;
	int g;

	(void)state;
	build_ok(t, ARRAY_SIZE(t), &host, &p);
	g = find(&p, PSTREE_FORK, 0, 90);
	assert_true(g >= 0 && p.steps[g].ghost);
	assert_true(p.steps[find(&p, PSTREE_FORK, 90, 100)].clone_parent);
	assert_true(find(&p, PSTREE_REAP, 0, 90) > 0);
	pstree_plan_free(&p);
	refused(init, ARRAY_SIZE(init), &pidns);
	log_fd_has(fileno(logf), "root 1", "init", NULL);
}

/* A leader born in one session, with a child in a second (dead) one. */
static void test_two_sessions_one_parent(void **state)
{
	struct pstree_task t[] = {
		T(100, 50, OPGID, OSID), T(150, 100, 150, 150), T(151, 150, OPGID, OSID),
		T(152, 150, 160, 160),	 T(153, 152, 160, 160),
	};
	struct pstree_plan p;

	(void)state;
	build_ok(t, ARRAY_SIZE(t), &host, &p);
	assert_true(find(&p, PSTREE_FORK, 150, 151) < find(&p, PSTREE_SETSID, 150, -1));
	assert_true(find(&p, PSTREE_FORK, 150, 160) >= 0);
	assert_true(p.steps[find(&p, PSTREE_FORK, 160, 152)].clone_parent);
	pstree_plan_free(&p);
}

/* Two groups whose leaders are each in the other's group. */
static void test_group_swap(void **state)
{
	struct pstree_task t[] = {
		T(100, 50, OPGID, OSID), T(200, 100, 201, OSID), T(201, 100, 200, OSID),
		T(202, 200, 202, OSID),	 T(203, 202, 200, OSID),
	};
	struct pstree_plan p;
	size_t i;
	int keepers = 0;

	(void)state;
	build_ok(t, ARRAY_SIZE(t), &host, &p);
	for (i = 0; i < p.nsteps; i++)
		keepers += p.steps[i].kind == PSTREE_FORK && p.steps[i].placeholder;
	assert_int_equal(keepers, 1); /* group 200 has 203, 201 needs one */
	pstree_plan_free(&p);
}

static void test_verify_rejects(void **state)
{
	struct pstree_task t[] = {
		T(100, 50, 100, 100),  T(110, 100, 110, 110),	 T(120, 110, 120, 120),
		T(130, 120, 110, 110), T(140, 100, OPGID, OSID), T(300, 100, 250, 250),
	};
	struct pstree_task one[] = {T(1, 0, 1, 1)};
	struct pstree_step bad_setsid[] = {
		{.kind = PSTREE_FORK, .actor = 0, .pid = 1},
		{.kind = PSTREE_SETPGID, .actor = 1, .pgid = 1},
		{.kind = PSTREE_SETSID, .actor = 1},
	};
	struct pstree_step cp_init[] = {
		{.kind = PSTREE_FORK, .actor = 0, .pid = 1},
		{.kind = PSTREE_SETSID, .actor = 1},
		{.kind = PSTREE_FORK, .actor = 1, .pid = 7, .ghost = true, .clone_parent = true},
	};
	struct pstree_step cp_a0[] = {
		{.kind = PSTREE_FORK, .actor = 0, .pid = 1, .clone_parent = true},
	};
	struct pstree_plan p, q;
	struct pstree_step tmp;
	size_t i;

	(void)state;
	build_ok(t, ARRAY_SIZE(t), &host, &p);
	q.steps = malloc(p.nsteps * sizeof(*q.steps));
	assert_non_null(q.steps);
	for (i = 0; i + 1 < p.nsteps; i++) {
		/* Drop step i. */
		memcpy(q.steps, p.steps, i * sizeof(*q.steps));
		memcpy(q.steps + i, p.steps + i + 1, (p.nsteps - i - 1) * sizeof(*q.steps));
		q.nsteps = p.nsteps - 1;
		log_reset();
		assert_int_equal(pstree_plan_verify(t, ARRAY_SIZE(t), &host, &q), -EINVAL);
	}
	/* A child forked before its parent. */
	memcpy(q.steps, p.steps, p.nsteps * sizeof(*q.steps));
	q.nsteps = p.nsteps;
	tmp = q.steps[0];
	q.steps[0] = q.steps[1];
	q.steps[1] = tmp;
	assert_int_equal(pstree_plan_verify(t, ARRAY_SIZE(t), &host, &q), -EINVAL);
	/* setsid after the child it had to fork in the outside session. */
	memcpy(q.steps, p.steps, p.nsteps * sizeof(*q.steps));
	for (i = 0; i < q.nsteps; i++)
		if (q.steps[i].kind == PSTREE_SETSID && q.steps[i].actor == 100)
			break;
	assert_true(i < q.nsteps);
	for (; i > 1; i--) {
		tmp = q.steps[i - 1];
		q.steps[i - 1] = q.steps[i];
		q.steps[i] = tmp;
	}
	assert_int_equal(pstree_plan_verify(t, ARRAY_SIZE(t), &host, &q), -EINVAL);
	free(q.steps);
	pstree_plan_free(&p);

	log_reset();
	q = (struct pstree_plan){bad_setsid, ARRAY_SIZE(bad_setsid)};
	assert_int_equal(pstree_plan_verify(one, 1, &pidns, &q), -EINVAL);
	log_fd_has(fileno(logf), "setsid", NULL);
	log_reset();
	q = (struct pstree_plan){cp_init, ARRAY_SIZE(cp_init)};
	assert_int_equal(pstree_plan_verify(one, 1, &pidns, &q), -EINVAL);
	log_fd_has(fileno(logf), "CLONE_PARENT", NULL);
	q = (struct pstree_plan){cp_a0, ARRAY_SIZE(cp_a0)};
	assert_int_equal(pstree_plan_verify(one, 1, &pidns, &q), -EINVAL);
	q = (struct pstree_plan){cp_init, 2};
	assert_int_equal(pstree_plan_verify(one, 1, &pidns, &q), 0);
}

/*
 * Random trees, grown by running random fork (plain or CLONE_PARENT),
 * setsid, setpgid, exit and wait with the kernel's rules, in three worlds:
 * on the host (no orphan may appear: a task exits only without live
 * children), in a pid namespace whose init is the root, and in one whose
 * init is the restarter (orphans are its children).
 */
enum gen_mode { GEN_HOST, GEN_INIT, GEN_NS };

#define GEN_MAX 96

struct gproc {
	pid_t pid, ppid, pgid, sid;
	int state; /* 0: alive, 1: zombie, 2: reaped */
};

struct gen {
	struct gproc p[GEN_MAX];
	int n, max;
	pid_t next;
	enum gen_mode mode;
	uint64_t rng;
};

static unsigned rnd(struct gen *g, unsigned n)
{
	g->rng ^= g->rng << 13;
	g->rng ^= g->rng >> 7;
	g->rng ^= g->rng << 17;
	return (unsigned)(g->rng >> 20) % n;
}

static int gen_pick(struct gen *g, int state, pid_t sid)
{
	int i, seen = 0, pick = -1;

	for (i = 0; i < g->n; i++)
		if (g->p[i].state == state && (!sid || g->p[i].sid == sid) &&
		    !rnd(g, (unsigned)++seen))
			pick = i;
	return pick;
}

static bool gen_group_used(const struct gen *g, pid_t pgid)
{
	int i;

	for (i = 0; i < g->n; i++)
		if (g->p[i].state < 2 && g->p[i].pgid == pgid)
			return true;
	return false;
}

static void gen_fork(struct gen *g, int a, bool cp)
{
	struct gproc *c;

	if (g->n >= g->max || (cp && !a && g->mode != GEN_NS))
		return;
	c = &g->p[g->n++];
	*c = g->p[a];
	c->pid = g->next;
	g->next += 1 + rnd(g, 3);
	c->ppid = cp ? g->p[a].ppid : g->p[a].pid;
	c->state = 0;
}

static void gen_setpgid(struct gen *g, int a)
{
	struct gproc *p = &g->p[a];
	int b;

	if (p->sid == p->pid)
		return;
	b = gen_pick(g, (int)rnd(g, 2), p->sid);
	p->pgid = rnd(g, 2) || b < 0 ? p->pid : g->p[b].pgid;
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
	p->state = 1 + (g->mode == GEN_HOST && rnd(g, 2)); /* waited for at once */
}

static void gen_op(struct gen *g)
{
	int a = gen_pick(g, 0, 0), r = (int)rnd(g, 100), z;

	if (r < 35)
		gen_fork(g, a, false);
	else if (r < 43)
		gen_fork(g, a, true);
	else if (r < 56) {
		if (!gen_group_used(g, g->p[a].pid))
			g->p[a].sid = g->p[a].pgid = g->p[a].pid;
	} else if (r < 74)
		gen_setpgid(g, a);
	else if (r < 90)
		gen_exit(g, a);
	else if ((z = gen_pick(g, 1, 0)) >= 0)
		g->p[z].state = 2; /* its parent waits for it */
}

/* A zombie leading a session with members cannot be rebuilt: reap it. */
static void gen_fixup(struct gen *g)
{
	int i, k;

	for (i = 0; i < g->n; i++) {
		if (g->p[i].state != 1 || g->p[i].sid != g->p[i].pid)
			continue;
		for (k = 0; k < g->n; k++)
			if (k != i && g->p[k].state < 2 && g->p[k].sid == g->p[i].sid)
				g->p[i].state = 2;
	}
}

static size_t gen_tree(struct gen *g, uint64_t seed, enum gen_mode mode, int ops,
		       struct pstree_task *t)
{
	size_t n = 0;
	int i;

	memset(g, 0, sizeof(*g));
	g->rng = seed * 0x9e3779b97f4a7c15ull + 1;
	g->mode = mode;
	g->max = GEN_MAX;
	g->p[0] = (struct gproc){mode == GEN_HOST   ? 100
				 : mode == GEN_INIT ? 1
						    : 2,
				 mode == GEN_HOST   ? 50
				 : mode == GEN_INIT ? 0
						    : 1,
				 OPGID, OSID, 0};
	if (rnd(g, 3) == 0 || (mode == GEN_INIT && rnd(g, 2)))
		g->p[0].sid = g->p[0].pgid = g->p[0].pid;
	g->n = 1;
	g->next = g->p[0].pid + 1 + rnd(g, 5);
	for (i = 0; i < ops; i++)
		gen_op(g);
	gen_fixup(g);
	for (i = 0; i < g->n; i++) {
		const struct gproc *p = &g->p[i];

		if (p->state == 2)
			continue;
		t[n] = (struct pstree_task){p->pid, p->ppid, p->pgid, p->sid, p->state == 1};
		/* Some of init's children came from outside the namespace. */
		if (mode == GEN_INIT && i && p->ppid == 1 && !rnd(g, 4))
			t[n].ppid = 0;
		n++;
	}
	return n;
}

static void dump_tree(const struct pstree_task *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		print_message("\tT(%d, %d, %d, %d)%s\n", t[i].pid, t[i].ppid, t[i].pgid, t[i].sid,
			      t[i].zombie ? " zombie" : "");
}

struct stats {
	int trees, cp, placeholders, ghosts, tasks;
};

static void plan_stats(const struct pstree_plan *p, struct stats *st)
{
	size_t i;
	int cp = 0, ph = 0, gh = 0;

	for (i = 0; i < p->nsteps; i++) {
		const struct pstree_step *s = &p->steps[i];

		cp |= s->kind == PSTREE_FORK && s->clone_parent;
		ph |= s->kind == PSTREE_FORK && s->placeholder;
		gh |= s->kind == PSTREE_FORK && s->ghost && !s->placeholder;
	}
	st->trees++;
	st->cp += cp;
	st->placeholders += ph;
	st->ghosts += gh;
}

static void random_trees(enum gen_mode mode, int nseeds, int maxops)
{
	struct pstree_env env = {.outside_sid = OSID, .outside_pgid = OPGID};
	struct pstree_task t[GEN_MAX];
	struct pstree_plan p;
	struct gen g;
	struct stats st = {0};
	size_t n;
	int seed, ret, ghosts = 0, big = 0;

	env.new_pidns = mode != GEN_HOST;
	if (getenv("PSTREE_SEEDS")) /* a longer run, by hand */
		nseeds = atoi(getenv("PSTREE_SEEDS"));
	for (seed = 1; seed <= nseeds; seed++) {
		n = gen_tree(&g, (uint64_t)seed + 1000003ull * mode, mode,
			     1 + (seed * 7919) % maxops, t);
		log_reset();
		ret = pstree_plan_build(t, n, &env, &p);
		if (!ret)
			ret = pstree_plan_verify(t, n, &env, &p);
		if (ret) {
			print_message("mode %d seed %d: %d\n", mode, seed, ret);
			dump_tree(t, n);
			log_print();
		}
		assert_int_equal(ret, 0);
		ghosts += count(&p, PSTREE_EXIT) > 0;
		big += n > 20;
		if (getenv("PSTREE_STATS"))
			plan_stats(&p, &st);
		pstree_plan_free(&p);
	}
	if (getenv("PSTREE_STATS"))
		print_message("mode %d: %d trees, %d with CLONE_PARENT, %d with dead leaders, "
			      "%d with placeholders, %d big\n",
			      mode, st.trees, st.cp, st.ghosts, st.placeholders, big);
	/* The generator does reach the interesting cases. */
	assert_true(ghosts > nseeds / 40);
	assert_true(big > 0);
}

static void test_random_host(void **state)
{
	(void)state;
	random_trees(GEN_HOST, 3000, 60);
}

static void test_random_init(void **state)
{
	(void)state;
	random_trees(GEN_INIT, 3000, 60);
}

static void test_random_ns(void **state)
{
	(void)state;
	random_trees(GEN_NS, 3000, 60);
}

static void test_random_large(void **state)
{
	(void)state;
	random_trees(GEN_HOST, 200, 400);
	random_trees(GEN_INIT, 200, 400);
	random_trees(GEN_NS, 200, 400);
}

/*
 * Scale: a chain 20000 deep, then 300 sessions whose leaders are dead, each
 * with 40 members in dead groups, hanging off session leaders born in the
 * outside session.
 */
static void test_large(void **state)
{
	size_t n = 0, max = 20000 + 300 * 42, i;
	struct pstree_task *t = calloc(max, sizeof(*t));
	struct pstree_plan p;
	pid_t pid = 2000, sid, up;
	int s, k;

	(void)state;
	assert_non_null(t);
	t[n++] = (struct pstree_task)T(pid, 50, OPGID, OSID);
	for (i = 1; i < 20000; i++, pid++)
		t[n++] = (struct pstree_task)T(pid + 1, pid, OPGID, OSID);
	for (s = 0; s < 300; s++) {
		sid = 100000 + s * 100;
		up = 30000 + s * 100;
		t[n++] = (struct pstree_task)T(up, 2000 + s, up, up);
		t[n++] = (struct pstree_task)T(up + 1, up, OPGID, OSID);
		for (k = 0; k < 40; k++)
			t[n++] = (struct pstree_task)T(sid + 1 + k, k % 2 ? sid + k : up,
						       sid + 50 + k % 3, sid);
	}
	build_ok(t, n, &host, &p);
	assert_int_equal(count(&p, PSTREE_EXIT), 300 * 4);
	pstree_plan_free(&p);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_pipeline),
		cmocka_unit_test(test_setsid_child),
		cmocka_unit_test(test_dead_session_leader),
		cmocka_unit_test(test_dead_group_leader),
		cmocka_unit_test(test_nested_sessions),
		cmocka_unit_test(test_zombies),
		cmocka_unit_test(test_zombie_mover),
		cmocka_unit_test(test_zombie_refused),
		cmocka_unit_test(test_orphans),
		cmocka_unit_test(test_reaper_helper),
		cmocka_unit_test(test_pgid_other_session),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_bad_images),
		cmocka_unit_test(test_root_in_dead_session),
		cmocka_unit_test(test_two_sessions_one_parent),
		cmocka_unit_test(test_group_swap),
		cmocka_unit_test(test_verify_rejects),
		cmocka_unit_test(test_random_host),
		cmocka_unit_test(test_random_init),
		cmocka_unit_test(test_random_ns),
		cmocka_unit_test(test_random_large),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
