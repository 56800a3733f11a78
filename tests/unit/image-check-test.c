// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * image_check (libcr/image-check.c): a loaded image that no single record
 * check catches is refused before use. One good image, then one fault at a
 * time: each must be refused (-EBADMSG), the good one accepted.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "image-load.h"

#define MB (1ULL << 20)

struct fixture {
	struct rst_image img;
	struct rst_img_task task[2];
	struct cr_task_rec rec[2];
	struct cr_mm_rec mm;
	struct cr_vma_rec vma[2], *vmas[2];
	struct cr_pagemap_rec pm;
	struct cr_page_run runs[2];
	struct cr_thread_rec th[2], *ths[2];
};

static struct fixture f;

/*
 * Two tasks: a live one (two adjacent mappings, a run in the first, one
 * across them, two threads), a zombie.
 */
static void good(void)
{
	memset(&f, 0, sizeof(f));
	f.img.hdr.xsave_size = 2688;
	strcpy(f.img.hdr.arch, "x86_64");
	strcpy(f.img.hdr.kernel, "6.18.0");
	f.rec[0] = (struct cr_task_rec){.pid = 10};
	f.rec[1] = (struct cr_task_rec){.pid = 11, .flags = CR_TASK_ZOMBIE};
	strcpy(f.rec[0].comm, "solver");
	strcpy(f.rec[0].cwd, "/home/u");
	strcpy(f.rec[0].root, "/");
	strcpy(f.mm.exe, "/usr/bin/solver");
	f.vma[0] = (struct cr_vma_rec){.start = 16 * MB, .end = 17 * MB};
	f.vma[1] = (struct cr_vma_rec){.start = 17 * MB, .end = 18 * MB};
	f.vmas[0] = &f.vma[0];
	f.vmas[1] = &f.vma[1];
	f.runs[0] = (struct cr_page_run){.vaddr = 16 * MB, .npages = 255};
	f.runs[1] = (struct cr_page_run){.vaddr = 17 * MB - 4096, .npages = 2};
	f.pm.nruns = 2;
	for (int i = 0; i < 2; i++) {
		f.th[i] =
			(struct cr_thread_rec){.pid = 10, .tid = 10 + 100 * i, .xsave_size = 2688};
		f.ths[i] = &f.th[i];
	}
	f.task[0] = (struct rst_img_task){.rec = &f.rec[0],
					  .mm = &f.mm,
					  .vmas = f.vmas,
					  .nvmas = 2,
					  .pagemap = &f.pm,
					  .runs = f.runs,
					  .threads = f.ths,
					  .nthreads = 2};
	f.task[1] = (struct rst_img_task){.rec = &f.rec[1]};
	f.img.tasks = f.task;
	f.img.ntasks = 2;
}

static void test_good(void **state)
{
	(void)state;
	good();
	assert_int_equal(image_check(&f.img), 0);
}

#define FAULT(name, change)                                                                        \
	static void test_##name(void **state)                                                      \
	{                                                                                          \
		(void)state;                                                                       \
		good();                                                                            \
		change;                                                                            \
		assert_int_equal(image_check(&f.img), -EBADMSG);                                   \
	}

FAULT(comm_unterminated, memset(f.rec[0].comm, 'x', sizeof(f.rec[0].comm)))
FAULT(cwd_unterminated, memset(f.rec[0].cwd, 'x', sizeof(f.rec[0].cwd)))
FAULT(exe_unterminated, memset(f.mm.exe, 'x', sizeof(f.mm.exe)))
FAULT(vma_path_unterminated, memset(f.vma[1].path, 'x', sizeof(f.vma[1].path)))
FAULT(header_unterminated, memset(f.img.hdr.kernel, '6', sizeof(f.img.hdr.kernel)))
FAULT(no_mm, f.task[0].mm = NULL)
FAULT(no_pagemap, f.task[0].pagemap = NULL)
FAULT(no_thread, f.task[0].nthreads = 0)
FAULT(same_tid, f.th[1].tid = 10)
FAULT(same_pid, f.rec[1].pid = 10)
FAULT(xsave_size, f.th[1].xsave_size = 4096)
FAULT(vma_overlap, f.vma[1].start = 16 * MB + 8192)
FAULT(vma_order, (f.vmas[0] = &f.vma[1], f.vmas[1] = &f.vma[0]))
FAULT(vma_unaligned, f.vma[0].end = 17 * MB - 1)
FAULT(vma_empty, f.vma[0].end = f.vma[0].start)
FAULT(vma_kernel, (f.vma[1].start = 0xffffffffff600000ULL, f.vma[1].end = 0xffffffffff601000ULL))
FAULT(run_outside, f.runs[1].vaddr = 18 * MB)
FAULT(run_past_end, f.runs[1].npages = 4096)
FAULT(run_in_gap, (f.vma[1].start = 17 * MB + 4096, f.runs[1].npages = 3))
FAULT(run_unaligned, f.runs[0].vaddr += 1)
/* found by fuzz-image: runs over the same pages, their sum overflowed cr info's byte count */
FAULT(run_overlap, f.runs[1].vaddr = 16 * MB)
FAULT(run_order, (f.runs[0] = f.runs[1], f.runs[1] = (struct cr_page_run){16 * MB, 255}))

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_comm_unterminated),
		cmocka_unit_test(test_cwd_unterminated),
		cmocka_unit_test(test_exe_unterminated),
		cmocka_unit_test(test_vma_path_unterminated),
		cmocka_unit_test(test_header_unterminated),
		cmocka_unit_test(test_no_mm),
		cmocka_unit_test(test_no_pagemap),
		cmocka_unit_test(test_no_thread),
		cmocka_unit_test(test_same_tid),
		cmocka_unit_test(test_same_pid),
		cmocka_unit_test(test_xsave_size),
		cmocka_unit_test(test_vma_overlap),
		cmocka_unit_test(test_vma_order),
		cmocka_unit_test(test_vma_unaligned),
		cmocka_unit_test(test_vma_empty),
		cmocka_unit_test(test_vma_kernel),
		cmocka_unit_test(test_run_outside),
		cmocka_unit_test(test_run_past_end),
		cmocka_unit_test(test_run_in_gap),
		cmocka_unit_test(test_run_unaligned),
		cmocka_unit_test(test_run_overlap),
		cmocka_unit_test(test_run_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
