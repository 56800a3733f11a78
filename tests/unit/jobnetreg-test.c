// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The job network's block registry (agent/jobnetreg.c): every node of a job
 * gets the same block, two live jobs never one, a resumed job its
 * predecessor's, a release frees, a stale claim is taken back only when
 * nothing is free, a full registry refuses.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "jobnetreg.h"

#define NBLOCKS 4

/* Jobs whose in_use says 0 (ended, checkpoints gone). */
static uint32_t gone[16];
static int ngone;

static int fake_in_use(void *arg, uint32_t jobid, uid_t uid, gid_t gid, const char *userdir)
{
	(void)arg;
	(void)uid;
	(void)gid;
	assert_string_equal(userdir, "/ckpt/u");
	for (int i = 0; i < ngone; i++)
		if (gone[i] == jobid)
			return 0;
	return 1;
}

struct fx {
	char dir[64];
	struct jnr r;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/jnr-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	strcat(f->dir, "/reg"); /* made by jnr_open */
	assert_int_equal(jnr_open(&f->r, f->dir, NBLOCKS, err, sizeof(err)), 0);
	f->r.in_use = fake_in_use;
	f->r.grace = 300;
	ngone = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	jnr_close(&f->r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strlen(f->dir) - 4), f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int claim(struct fx *f, uint32_t jobid, uint32_t from, uint32_t nslots, uint32_t *first)
{
	struct jnr_job j = {.jobid = jobid,
			    .restart_from = from,
			    .nslots = nslots,
			    .uid = 1000,
			    .gid = 1000,
			    .userdir = "/ckpt/u",
			    .node = "n1"};
	char err[256] = "";
	int ret = jnr_claim(&f->r, &j, first, err, sizeof(err));

	if (ret == -ENOSPC)
		assert_non_null(strstr(err, "no 1 free block"));
	return ret;
}

static int exists(struct fx *f, const char *name)
{
	struct stat st;

	return fstatat(f->r.dirfd, name, &st, 0) == 0;
}

static void test_blocks(void **state)
{
	(void)state;
	assert_int_equal(jnr_blocks(16), 1024);
	assert_int_equal(jnr_blocks(24), 4);
	assert_int_equal(jnr_blocks(25), 2);
	assert_int_equal(jnr_blocks(26), 0);
}

/* Jobs whose ids the old formula mapped onto one another: distinct blocks; a node asking again: the
 * same. */
static void test_distinct_and_same_job(void **state)
{
	struct fx *f = *state;
	uint32_t a, a2, b, c, d;

	assert_int_equal(claim(f, 1, 0, 2, &a), 0);
	assert_int_equal(claim(f, 128, 0, 2, &b), 0);
	assert_int_equal(claim(f, 1, 0, 2, &a2), 0); /* job 1's other node */
	assert_int_equal(a, a2);
	assert_int_not_equal(a, b);
	assert_int_equal(claim(f, 3, 0, 2, &c), 0);
	assert_int_equal(claim(f, 5, 0, 2, &d), 0);
	assert_true(c != a && c != b && d != a && d != b && d != c);
	assert_true(a < NBLOCKS && b < NBLOCKS && c < NBLOCKS && d < NBLOCKS);
}

/* All blocks held by live jobs: refused; a requeue of a holder still gets its own. */
static void test_full(void **state)
{
	struct fx *f = *state;
	uint32_t x, again;

	for (uint32_t id = 10; id < 10 + NBLOCKS; id++)
		assert_int_equal(claim(f, id, 0, 1, &x), 0);
	assert_int_equal(claim(f, 99, 0, 1, &x), -ENOSPC);
	assert_int_equal(claim(f, 10, 0, 1, &x), 0);
	assert_int_equal(claim(f, 10, 0, 1, &again), 0);
	assert_int_equal(x, again);
}

/* crctl restart: job 20 resumes job 7, it gets 7's block while 7 still holds it. */
static void test_restart_from(void **state)
{
	struct fx *f = *state;
	uint32_t a, b, c;

	assert_int_equal(claim(f, 7, 0, 2, &a), 0);
	assert_int_equal(claim(f, 20, 7, 2, &b), 0);
	assert_int_equal(a, b);
	/* and its restart in turn (job 30 from 20) too */
	assert_int_equal(claim(f, 30, 20, 2, &c), 0);
	assert_int_equal(a, c);
}

/* Released: the block is free for another job; a block another job still names stays. */
static void test_release(void **state)
{
	struct fx *f = *state;
	char name[16];
	uint32_t a, b, x;

	assert_int_equal(claim(f, 7, 0, 1, &a), 0);
	assert_int_equal(claim(f, 20, 7, 1, &b), 0);
	assert_int_equal(claim(f, 30, 20, 1, &b), 0);
	/* job 30 completed from 20: 7 still names the block (its checkpoints, say) */
	assert_int_equal(jnr_release(&f->r, 30, 20), 0);
	snprintf(name, sizeof(name), "b%u", a);
	assert_true(exists(f, name));
	assert_false(exists(f, "j30") || exists(f, "j20"));
	assert_int_equal(jnr_release(&f->r, 7, 0), 0);
	assert_false(exists(f, name));
	assert_false(exists(f, "j7"));
	assert_int_equal(jnr_release(&f->r, 7, 0), -ENOENT);
	/* every block free again */
	for (uint32_t id = 40; id < 40 + NBLOCKS; id++)
		assert_int_equal(claim(f, id, 0, 1, &x), 0);
}

/* Full, one holder gone (no job, no checkpoint): the next job takes its block back. */
static void test_stale_reclaim(void **state)
{
	struct fx *f = *state;
	uint32_t blk[NBLOCKS], x, y;

	for (uint32_t i = 0; i < NBLOCKS; i++)
		assert_int_equal(claim(f, 50 + i, 0, 1, &blk[i]), 0);
	assert_int_equal(claim(f, 60, 0, 1, &x), -ENOSPC);
	gone[ngone++] = 52;
	assert_int_equal(claim(f, 60, 0, 1, &x), 0);
	assert_int_equal(x, blk[2]);
	assert_false(exists(f, "j52"));
	assert_true(exists(f, "j60"));
	/* job 52 comes back (a requeue after all): not onto 60's block */
	ngone = 0;
	assert_int_equal(claim(f, 52, 0, 1, &y), -ENOSPC);
}

/* A block no job file names: a claim under way while young, stale once old. */
static void test_orphan_block(void **state)
{
	struct fx *f = *state;
	uint32_t x;
	char name[16];
	int fd;

	for (uint32_t i = 0; i < NBLOCKS; i++) {
		snprintf(name, sizeof(name), "b%u", i);
		fd = openat(f->r.dirfd, name, O_CREAT | O_WRONLY, 0644);
		assert_true(fd >= 0);
		close(fd);
	}
	assert_int_equal(claim(f, 70, 0, 1, &x), -ENOSPC);
	f->r.grace = -1;
	assert_int_equal(claim(f, 70, 0, 1, &x), 0);
}

/* A job of more slots than a block holds: consecutive blocks, all or none. */
static void test_wide_job(void **state)
{
	struct fx *f = *state;
	uint32_t a, b, x;
	char name[16];

	assert_int_equal(claim(f, 80, 0, JNR_SLOTS + 1, &a), 0);
	assert_true(a + 1 < NBLOCKS);
	snprintf(name, sizeof(name), "b%u", a + 1);
	assert_true(exists(f, name));
	assert_int_equal(claim(f, 81, 0, 2 * JNR_SLOTS, &b), 0);
	assert_true(b + 1 < a || b > a + 1);
	assert_int_equal(claim(f, 82, 0, 1, &x), -ENOSPC);
	assert_int_equal(jnr_release(&f->r, 80, 0), 0);
	assert_false(exists(f, name));
}

/* The blocks of a job's file were taken back while it was away: it claims afresh. */
static void test_lost_blocks(void **state)
{
	struct fx *f = *state;
	uint32_t a, b;
	char name[16];

	assert_int_equal(claim(f, 90, 0, 1, &a), 0);
	snprintf(name, sizeof(name), "b%u", a);
	assert_int_equal(unlinkat(f->r.dirfd, name, 0), 0);
	assert_int_equal(claim(f, 90, 0, 1, &b), 0);
	assert_true(exists(f, "j90"));
	snprintf(name, sizeof(name), "b%u", b);
	assert_true(exists(f, name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocks),
		cmocka_unit_test_setup_teardown(test_distinct_and_same_job, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_from, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_reclaim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orphan_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wide_job, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_blocks, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
