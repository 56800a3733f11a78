// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the CPU map of a restore (libcr/threads.c, remap_affinity;
 * cr_restore_opts cpu_map, cpu_all): a pinned thread's CPUs renumbered, an
 * unpinned one (its mask held every mapped CPU) given cpu_all, a thread whose
 * CPUs map to none refused, "affinity" skipped or no map: masks as saved.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cr.h"
#include "threads.h"

static const int map[4] = {4, 5, 6, 7}; /* CPUs 0-3 of the image: 4-7 here */
static const int all[6] = {4, 5, 6, 7, 8, 9};

struct fixture {
	struct cr_task_rec task;
	struct cr_thread_rec th[2];
	struct cr_thread_rec *ths[2];
	struct rst_img_task t;
	struct rst_image img;
};

/* Thread 0 on CPUs 0-3 (the slot's whole set), thread 1 pinned to @pinned. */
static void setup(struct fixture *f, uint64_t pinned)
{
	memset(f, 0, sizeof(*f));
	f->task.pid = 100;
	f->th[0].tid = 100;
	f->th[0].cpumask[0] = 0xf;
	f->th[1].tid = 101;
	f->th[1].cpumask[0] = pinned;
	f->ths[0] = &f->th[0];
	f->ths[1] = &f->th[1];
	f->t.rec = &f->task;
	f->t.threads = f->ths;
	f->t.nthreads = 2;
	f->img.tasks = &f->t;
	f->img.ntasks = 1;
}

static void test_pinned_and_whole(void **state)
{
	struct cr_restore_opts o = {.cpu_map = map, .ncpu_map = 4, .cpu_all = all, .ncpu_all = 6};
	struct fixture f;

	(void)state;
	setup(&f, 0x2 | 0x8);
	assert_int_equal(remap_affinity(&f.img, &o), 0);
	assert_int_equal(f.th[0].cpumask[0], 0x3f0); /* cpu_all: 4-9 */
	assert_int_equal(f.th[1].cpumask[0], 0x20 | 0x80);
	/* without cpu_all, the unpinned thread gets what its CPUs map to */
	o.ncpu_all = 0;
	setup(&f, 0x1);
	assert_int_equal(remap_affinity(&f.img, &o), 0);
	assert_int_equal(f.th[0].cpumask[0], 0xf0);
	assert_int_equal(f.th[1].cpumask[0], 0x10);
}

/* CPUs the map does not name are dropped; a mask left with none is refused. */
static void test_unmapped(void **state)
{
	struct cr_restore_opts o = {.cpu_map = map, .ncpu_map = 4};
	struct fixture f;

	(void)state;
	setup(&f, 0x2 | 0x100);
	assert_int_equal(remap_affinity(&f.img, &o), 0);
	assert_int_equal(f.th[1].cpumask[0], 0x20);
	setup(&f, 0x100);
	assert_int_equal(remap_affinity(&f.img, &o), -EINVAL);
}

static void test_none(void **state)
{
	struct cr_restore_opts o = {.cpu_map = map, .ncpu_map = 4};
	struct fixture f;

	(void)state;
	setup(&f, 0x100);
	f.img.skip = RST_SKIP_AFFINITY;
	assert_int_equal(remap_affinity(&f.img, &o), 0);
	assert_int_equal(f.th[1].cpumask[0], 0x100);
	f.img.skip = 0;
	assert_int_equal(remap_affinity(&f.img, NULL), 0);
	assert_int_equal(f.th[0].cpumask[0], 0xf);
	assert_int_equal(f.th[1].cpumask[0], 0x100);
	/* a map naming a CPU beyond the masks */
	o.cpu_map = (const int[]){2000};
	o.ncpu_map = 1;
	assert_int_equal(remap_affinity(&f.img, &o), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pinned_and_whole),
		cmocka_unit_test(test_unmapped),
		cmocka_unit_test(test_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
