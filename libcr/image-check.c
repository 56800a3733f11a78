// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The checks of a loaded image that no single record can make, in one place,
 * before anything of it is used: an image is what its owner wrote, and
 * restore runs as root (issue 11). Every string within its field, each task
 * with exactly the records it needs, its mappings in order, aligned, inside
 * the user address space and apart, its threads' register areas the
 * header's size. A failure names the task and what is wrong: -EBADMSG.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#undef LOG_PREFIX
#define LOG_PREFIX "image: "
#include "files.h"
#include "image-load.h"
#include "internal.h"
#include "log.h"

/* The highest user address with 5-level page tables; 4-level ones stop lower. */
#define USER_SPACE_END (1ULL << 56)

#define TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

static int bad(pid_t pid, const char *what)
{
	pr_err("bad image: task %d: %s\n", pid, what);
	return -EBADMSG;
}

static int check_vmas(const struct rst_img_task *t)
{
	pid_t pid = t->rec->pid;
	uint64_t prev_end = 0;

	for (size_t i = 0; i < t->nvmas; i++) {
		const struct cr_vma_rec *v = t->vmas[i];

		if (!TERMINATED(v->path))
			return bad(pid, "a mapping's path is not terminated");
		if (v->start >= v->end || (v->start | v->end) % PAGE_SIZE ||
		    v->end > USER_SPACE_END)
			return bad(pid, "a mapping is empty, unaligned or outside user space");
		if (v->start < prev_end)
			return bad(pid, "mappings out of order or overlapping");
		prev_end = v->end;
	}
	return 0;
}

/* Is [from, to) covered by the task's mappings (ordered: check_vmas), adjacent ones joined? */
static bool covered(const struct rst_img_task *t, uint64_t from, uint64_t to)
{
	for (size_t k = 0; k < t->nvmas && from < to; k++)
		if (t->vmas[k]->start <= from && from < t->vmas[k]->end)
			from = t->vmas[k]->end;
	return from >= to;
}

/*
 * Each page run inside the task's mappings (a run may cross from one into
 * the next), after the one before it: a page is stored once (the dump walks
 * the mappings in order), so the runs add up to at most the address space.
 */
static int check_runs(const struct rst_img_task *t)
{
	uint64_t end = 0;

	for (uint32_t i = 0; i < t->pagemap->nruns; i++) {
		const struct cr_page_run *r = &t->runs[i];

		if (r->vaddr % PAGE_SIZE || !r->npages || r->npages > USER_SPACE_END / PAGE_SIZE)
			return bad(t->rec->pid, "a page run is unaligned or empty");
		if (r->vaddr < end)
			return bad(t->rec->pid, "page runs overlap or are out of order");
		end = r->vaddr + r->npages * PAGE_SIZE;
		if (!covered(t, r->vaddr, end))
			return bad(t->rec->pid, "a page run lies outside its mappings");
	}
	return 0;
}

static int check_threads(const struct rst_image *img, const struct rst_img_task *t)
{
	if (!t->nthreads)
		return bad(t->rec->pid, "no thread");
	for (size_t i = 0; i < t->nthreads; i++) {
		if (!TERMINATED(t->threads[i]->comm))
			return bad(t->rec->pid, "a thread's name is not terminated");
		if (t->threads[i]->xsave_size != img->hdr.xsave_size)
			return bad(t->rec->pid, "a thread's xsave area is not the header's size");
		for (size_t k = 0; k < i; k++)
			if (t->threads[k]->tid == t->threads[i]->tid)
				return bad(t->rec->pid, "two threads with one tid");
	}
	return 0;
}

static int check_task(const struct rst_image *img, const struct rst_img_task *t)
{
	const struct cr_task_rec *r = t->rec;
	int ret;

	if (!TERMINATED(r->comm) || !TERMINATED(r->cwd) || !TERMINATED(r->root))
		return bad(r->pid, "its name, cwd or root is not terminated");
	for (const struct rst_img_task *o = img->tasks; o < t; o++)
		if (o->rec->pid == r->pid)
			return bad(r->pid, "two tasks with one pid");
	if (r->flags & CR_TASK_ZOMBIE)
		return 0;
	if (!t->mm || !t->pagemap)
		return bad(r->pid, "no memory (MM or PAGEMAP record)");
	if (!TERMINATED(t->mm->exe))
		return bad(r->pid, "its executable's path is not terminated");
	ret = check_vmas(t);
	if (!ret)
		ret = check_runs(t);
	return ret ? ret : check_threads(img, t);
}

int image_check(const struct rst_image *img)
{
	int ret = 0;

	if (!TERMINATED(img->hdr.arch) || !TERMINATED(img->hdr.kernel)) {
		pr_err("bad image: header strings not terminated\n");
		return -EBADMSG;
	}
	for (size_t i = 0; !ret && i < img->ntasks; i++)
		ret = check_task(img, &img->tasks[i]);
	for (size_t i = 0; !ret && i < img->nfiles; i++)
		if (!TERMINATED(img->files[i].rec->path)) {
			pr_err("bad image: file %u: path not terminated\n", img->files[i].rec->id);
			ret = -EBADMSG;
		}
	return ret ? ret : check_image_locks(img);
}
