// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * agent/store.c, what a restore finds: <seq>.bad entries are counted (a job
 * that has them once had checkpoints), nothing else is. (Missing storage is
 * jobdir.c's -ENODEV, in store-test.)
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
		cmocka_unit_test(test_count_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
