// SPDX-License-Identifier: LGPL-2.1-or-later
/* cr_interval_parse(): Slurm time formats, suffixed forms, defaults, refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "interval.h"

static void expect_secs(const char *s, long want)
{
	char err[256] = "";
	long secs = -42;

	if (cr_interval_parse(s, &secs, err, sizeof(err)) != 0)
		fail_msg("\"%s\" refused: %s", s, err);
	if (secs != want)
		fail_msg("\"%s\" gave %ld, want %ld", s, secs, want);
}

static void expect_refused(const char *s)
{
	char err[256] = "";
	long secs = -42;

	if (cr_interval_parse(s, &secs, err, sizeof(err)) != -EINVAL)
		fail_msg("\"%s\" accepted as %ld", s, secs);
	assert_non_null(strstr(err, "invalid checkpoint interval"));
	assert_non_null(strstr(err, s));
	assert_int_equal(secs, -42);
}

static void test_slurm_formats(void **state)
{
	(void)state;
	expect_secs("30", 30 * 60);		  /* minutes */
	expect_secs("0", 0);			  /* checkpointable, no period */
	expect_secs("5:30", 5 * 60 + 30);	  /* minutes:seconds */
	expect_secs("1:02:03", 3723);		  /* hours:minutes:seconds */
	expect_secs("2-3", 2 * 86400 + 3 * 3600); /* days-hours */
	expect_secs("2-3:04", 2 * 86400 + 3 * 3600 + 4 * 60);
	expect_secs("2-3:04:05", 2 * 86400 + 3 * 3600 + 4 * 60 + 5);
	expect_secs("0-0:00:01", 1);
	expect_secs("90", 90 * 60); /* Slurm allows minutes > 59 */
	expect_secs("100:00", 6000);
}

static void test_suffixes(void **state)
{
	(void)state;
	expect_secs("30s", 30);
	expect_secs("15m", 900);
	expect_secs("2h", 7200);
	expect_secs("1d", 86400);
	expect_secs("0s", 0);
	expect_secs("2H", 7200);
}

static void test_default(void **state)
{
	(void)state;
	expect_secs(NULL, CR_INTERVAL_DEFAULT);
	expect_secs("", CR_INTERVAL_DEFAULT);
	expect_secs("(null)", CR_INTERVAL_DEFAULT); /* a bare --checkpoint in slurmstepd */
}

static void test_refused(void **state)
{
	(void)state;
	const char *bad[] = {"abc",    "5x",   "-5",   "1:2:3:4", "1:60", "1:60:00",	 "1-24",
			     "1-2:60", "1-",   ":30",  "30:",	  "1..2", " 30",	 "30 ",
			     "3s0",    "1.5h", "10ms", "1-2-3",	  "367d", "99999999999", "+5"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused(bad[i]);
}

static void test_limits(void **state)
{
	(void)state;
	expect_secs("366d", CR_INTERVAL_MAX);
	expect_secs("366-0", CR_INTERVAL_MAX);
	expect_refused("366-1");
	expect_refused("527041"); /* minutes: just over 366 days */
}

static void test_format(void **state)
{
	char buf[32];

	(void)state;
	cr_interval_format(CR_INTERVAL_DEFAULT, buf, sizeof(buf));
	assert_string_equal(buf, "default");
	cr_interval_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "0s");
	cr_interval_format(3723, buf, sizeof(buf));
	assert_string_equal(buf, "3723s");
	expect_secs(buf, 3723); /* round trip */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slurm_formats), cmocka_unit_test(test_suffixes),
		cmocka_unit_test(test_default),	      cmocka_unit_test(test_refused),
		cmocka_unit_test(test_limits),	      cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
