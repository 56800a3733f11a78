// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * agent/slurmjob.c: slurm-cr's segment of a job's AdminComment. The site's
 * text before it is kept, ours is replaced whole; flags and message read
 * back as written; text that only looks like ours is not ours.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "slurmjob.h"

static void _parse(const char *comment, unsigned want_flags, const char *want_msg)
{
	char msg[SLURMJOB_MSG_MAX];
	unsigned flags = 0xff;

	slurmjob_note_parse(comment, &flags, msg, sizeof(msg));
	if (flags != want_flags || strcmp(msg, want_msg))
		fail_msg("\"%s\": flags %#x msg \"%s\", want %#x \"%s\"",
			 comment ? comment : "(null)", flags, msg, want_flags, want_msg);
}

static void _format(const char *comment, unsigned flags, const char *msg, const char *want)
{
	char out[2048];

	slurmjob_note_format(comment, flags, msg, out, sizeof(out));
	if (strcmp(out, want))
		fail_msg("\"%s\" + %#x \"%s\": \"%s\", want \"%s\"", comment ? comment : "(null)",
			 flags, msg, out, want);
	_parse(out, flags, msg);
}

static void test_parse(void **state)
{
	(void)state;
	_parse(NULL, 0, "");
	_parse("", 0, "");
	_parse("site says hello", 0, "");
	_parse("slurm-cr: held: why", 0, "held: why");
	_parse("slurm-cr(checkpointed): checkpoint 3 committed", SLURMJOB_CHECKPOINTED,
	       "checkpoint 3 committed");
	_parse("site; slurm-cr(from-scratch,checkpointed): x",
	       SLURMJOB_CHECKPOINTED | SLURMJOB_FROM_SCRATCH, "x");
	_parse("slurm-cr(unknown,checkpointed): x", SLURMJOB_CHECKPOINTED, "x");
	/* not at the start nor after "; ": the site's words, not ours */
	_parse("see slurm-cr: docs", 0, "");
	_parse("myslurm-cr(checkpointed): x", 0, "");
	/* the first of ours counts, and runs to the end */
	_parse("slurm-cr: a; slurm-cr(checkpointed): b", 0, "a; slurm-cr(checkpointed): b");
	/* unterminated flags: what was read */
	_parse("slurm-cr(checkpointed", SLURMJOB_CHECKPOINTED, "");
}

static void test_format(void **state)
{
	(void)state;
	_format(NULL, 0, "held: why", "slurm-cr: held: why");
	_format("", SLURMJOB_CHECKPOINTED, "checkpoint 1 committed",
		"slurm-cr(checkpointed): checkpoint 1 committed");
	_format("slurm-cr(checkpointed): checkpoint 1 committed", SLURMJOB_CHECKPOINTED,
		"held: gone", "slurm-cr(checkpointed): held: gone");
	_format("site text", SLURMJOB_CHECKPOINTED | SLURMJOB_FROM_SCRATCH, "m",
		"site text; slurm-cr(checkpointed,from-scratch): m");
	_format("site text; slurm-cr(checkpointed): old", 0, "new", "site text; slurm-cr: new");
	_format("see slurm-cr: docs", 0, "m", "see slurm-cr: docs; slurm-cr: m");
	/* continuations at the time limit: a count among the flags */
	_format("", SLURMJOB_CHECKPOINTED | 2u << SLURMJOB_CONT_SHIFT, "m",
		"slurm-cr(checkpointed,continues=2): m");
	_format("x", 1u << SLURMJOB_CONT_SHIFT, "m", "x; slurm-cr(continues=1): m");
}

/* A message longer than AdminComment may hold is cut, never overflows. */
static void test_long(void **state)
{
	char big[4096], out[SLURMJOB_MSG_MAX + 64], msg[SLURMJOB_MSG_MAX];
	unsigned flags;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	slurmjob_note_format("", SLURMJOB_CHECKPOINTED, big, out, sizeof(out));
	assert_true(strlen(out) < sizeof(out));
	slurmjob_note_parse(out, &flags, msg, sizeof(msg));
	assert_int_equal(flags, SLURMJOB_CHECKPOINTED);
	assert_int_equal(strlen(msg), SLURMJOB_MSG_MAX - 1);
	slurmjob_note_format("site", 0, "m", out, 8);
	assert_string_equal(out, "site; s");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
