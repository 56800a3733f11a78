// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * agent/store.c, what a restore finds: a checkpoint directory that is not
 * there (missing, not a directory) is an error naming it, never "no
 * checkpoint"; <seq>.bad entries are counted (a job that has them once had
 * checkpoints), nothing else is.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"

static void test_ckdir(void **state)
{
	char dir[] = "/tmp/store-probe.XXXXXX", path[64], err[512] = "";
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_ckdir_check(dir, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/none", dir);
	assert_int_equal(store_ckdir_check(path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "not mounted?"));
	snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(store_ckdir_check(path, err, sizeof(err)), -ENOTDIR);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void test_count_bad(void **state)
{
	static const char *const dirs[] = {"1",	    ".tmp-4", "3.bad", "7.bad",
					   "x.bad", "09.bad", "5.badx"};
	char dir[] = "/tmp/store-probe.XXXXXX", err[512] = "";
	size_t n = 99;
	int jobfd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	jobfd = store_job_open(dir, 42, 1, err, sizeof(err));
	assert_true(jobfd >= 0);
	assert_int_equal(store_count_bad(jobfd, &n), 0);
	assert_int_equal(n, 0);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		assert_int_equal(mkdirat(jobfd, dirs[i], 0700), 0);
	assert_int_equal(store_count_bad(jobfd, &n), 0);
	assert_int_equal(n, 2); /* 3.bad, 7.bad */
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		assert_int_equal(unlinkat(jobfd, dirs[i], AT_REMOVEDIR), 0);
	close(jobfd);
	assert_int_equal(store_remove_job(dir, 42, err, sizeof(err)), 0);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ckdir),
		cmocka_unit_test(test_count_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
