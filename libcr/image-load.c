// SPDX-License-Identifier: LGPL-2.1-or-later
/* Reading a whole image into memory for restore, checking it as it goes. */
#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <xxhash.h>

#undef LOG_PREFIX
#define LOG_PREFIX "image: "
#include "files.h"
#include "image-load.h"
#include "img-digest.h"
#include "ipc.h"
#include "log.h"

#define GROW(arr, n)                                                                               \
	({                                                                                         \
		void *_p = realloc((arr), ((n) + 1) * sizeof(*(arr)));                             \
		if (_p)                                                                            \
			(arr) = _p;                                                                \
		_p ? &(arr)[(n)++] : NULL;                                                         \
	})

struct rst_img_task *find_img_task(struct rst_image *img, pid_t pid)
{
	for (size_t i = 0; i < img->ntasks; i++)
		if (img->tasks[i].rec->pid == pid)
			return &img->tasks[i];
	return NULL;
}

static int owner(struct rst_image *ri, struct cr_img *img, pid_t pid, struct rst_img_task **t)
{
	*t = find_img_task(ri, pid);
	if (!*t) {
		pr_err("%s: record at offset %llu refers to unknown task %d\n", img->path,
		       (unsigned long long)img->off, pid);
		return -EBADMSG;
	}
	return 0;
}

/* A second record of a kind a task has one of. */
static int dup_rec(struct cr_img *img, const char *kind, pid_t pid)
{
	pr_err("%s: record at offset %llu: a second %s record for task %d\n", img->path,
	       (unsigned long long)img->off, kind, pid);
	return -EBADMSG;
}

/* The takers: each returns enum rst_rec_take (rst-image.h) or -errno. */
static int take_task_record(struct rst_image *ri, struct cr_img *img, struct cr_rec_hdr *h, void *p)
{
	struct rst_img_task *t;
	int ret = 0;

	switch (h->type) {
	case CR_REC_TASK:
		if ((ret = image_check_len(img, h, sizeof(struct cr_task_rec), 0)))
			return ret;
		if (!(t = GROW(ri->tasks, ri->ntasks)))
			return -ENOMEM;
		memset(t, 0, sizeof(*t));
		t->rec = p;
		return RST_REC_KEPT;
	case CR_REC_MM: {
		struct cr_mm_rec *mm = p;

		if (h->len < sizeof(*mm) ||
		    (ret = image_check_len(img, h, sizeof(*mm), mm->nauxv * 8ULL)) ||
		    (ret = owner(ri, img, mm->pid, &t)))
			return ret ? ret : -EBADMSG;
		if (t->mm)
			return dup_rec(img, "MM", mm->pid);
		t->mm = mm;
		t->auxv = (uint64_t *)(mm + 1);
		return RST_REC_KEPT;
	}
	case CR_REC_VMA: {
		struct cr_vma_rec *v = p, **slot;

		if ((ret = image_check_len(img, h, sizeof(*v), 0)) ||
		    (ret = owner(ri, img, v->pid, &t)))
			return ret;
		if (!(slot = GROW(t->vmas, t->nvmas)))
			return -ENOMEM;
		*slot = v;
		return RST_REC_KEPT;
	}
	case CR_REC_PAGEMAP: {
		struct cr_pagemap_rec *pm = p;

		if (h->len < sizeof(*pm) ||
		    (ret = image_check_len(img, h, sizeof(*pm),
					   pm->nruns * sizeof(struct cr_page_run))) ||
		    (ret = owner(ri, img, pm->pid, &t)))
			return ret ? ret : -EBADMSG;
		if (t->pagemap)
			return dup_rec(img, "PAGEMAP", pm->pid);
		t->pagemap = pm;
		t->runs = (struct cr_page_run *)(pm + 1);
		return RST_REC_KEPT;
	}
	}
	return RST_REC_OTHER;
}

static int take_thread_record(struct rst_image *ri, struct cr_img *img, struct cr_rec_hdr *h,
			      void *p)
{
	struct rst_img_task *t;
	int ret = 0;

	switch (h->type) {
	case CR_REC_THREAD: {
		struct cr_thread_rec *th = p, **slot;

		if (h->len < sizeof(*th) ||
		    (ret = image_check_len(img, h, sizeof(*th), th->xsave_size)) ||
		    (ret = owner(ri, img, th->pid, &t)))
			return ret ? ret : -EBADMSG;
		if (!(slot = GROW(t->threads, t->nthreads)))
			return -ENOMEM;
		*slot = th;
		return RST_REC_KEPT;
	}
	case CR_REC_TIMERS: {
		struct cr_timers_rec *tr = p;

		if (h->len < sizeof(*tr) ||
		    (ret = image_check_len(img, h, sizeof(*tr),
					   tr->ntimers * sizeof(struct cr_timer))) ||
		    (ret = owner(ri, img, tr->pid, &t)))
			return ret ? ret : -EBADMSG;
		if (t->timers)
			return dup_rec(img, "TIMERS", tr->pid);
		t->timers = tr;
		return RST_REC_KEPT;
	}
	case CR_REC_SIGACTS: {
		struct cr_sigacts_rec *sa = p;

		if ((ret = image_check_len(img, h, sizeof(*sa), 0)) ||
		    (ret = owner(ri, img, sa->pid, &t)))
			return ret;
		if (t->sigacts)
			return dup_rec(img, "SIGACTS", sa->pid);
		t->sigacts = sa;
		return RST_REC_KEPT;
	}
	case CR_REC_SIGINFO: {
		struct cr_siginfo_rec *si = p;
		struct rst_sigset *set;

		if (h->len < sizeof(*si) ||
		    (ret = image_check_len(img, h, sizeof(*si), si->nsig * 128ULL)) ||
		    (ret = owner(ri, img, si->pid, &t)))
			return ret ? ret : -EBADMSG;
		if (!(set = GROW(t->sigsets, t->nsigsets)))
			return -ENOMEM;
		set->tid = si->tid;
		set->nsig = si->nsig;
		set->info = si + 1;
		/* the record stays allocated: kept through set->info */
		return RST_REC_KEPT;
	}
	}
	return RST_REC_OTHER;
}

/*
 * Objects shared between tasks: open files, fds, shared memory, data files;
 * any other record goes to the kind of open file whose objects it holds
 * (collect_file_obj: a pipe...). Returns enum rst_rec_take or -errno.
 */
static int take_shared_record(struct rst_image *ri, struct cr_img *img, struct cr_rec_hdr *h,
			      void *p)
{
	struct rst_img_task *t;
	int ret = 0;

	switch (h->type) {
	case CR_REC_FILE: {
		struct rst_img_file *f;

		if ((ret = image_check_len(img, h, sizeof(struct cr_file_rec), 0)))
			return ret;
		if (!(f = GROW(ri->files, ri->nfiles)))
			return -ENOMEM;
		f->rec = p;
		f->svc_fd = -1;
		f->rb_fd = -1;
		return RST_REC_KEPT;
	}
	case CR_REC_FD: {
		struct cr_fd_rec *fd = p, *slot;

		if ((ret = image_check_len(img, h, sizeof(*fd), 0)) ||
		    (ret = owner(ri, img, fd->pid, &t)))
			return ret;
		if (fd->fd < 0 || fd->fd > 1 << 20)
			return -EBADMSG;
		if (!(slot = GROW(t->fds, t->nfds)))
			return -ENOMEM;
		*slot = *fd;
		if (fd->fd > ri->max_fd)
			ri->max_fd = fd->fd;
		free(p);
		return RST_REC_COPIED;
	}
	case CR_REC_SHMEM: {
		struct rst_img_shmem *s;

		struct cr_shmem_rec *sr = p;

		if (h->len < sizeof(*sr) ||
		    (ret = image_check_len(img, h, sizeof(*sr),
					   sr->nextents * sizeof(struct cr_extent))))
			return ret ? ret : -EBADMSG;
		if (!(s = GROW(ri->shmem, ri->nshmem)))
			return -ENOMEM;
		memcpy(&s->rec, p, sizeof(s->rec));
		s->svc_fd = -1;
		s->extents = malloc(sr->nextents * sizeof(struct cr_extent) + 1);
		if (!s->extents)
			return -ENOMEM;
		memcpy(s->extents, sr + 1, sr->nextents * sizeof(struct cr_extent));
		s->svc_fd = -1;
		free(p);
		return RST_REC_COPIED;
	}
	case CR_REC_FLOCK:
		return collect_lock(ri, img, h, p);
	case CR_REC_PAGEFILE: {
		struct cr_pagefile_rec *pf;

		if ((ret = image_check_len(img, h, sizeof(*pf), 0)))
			return ret;
		if (!(pf = GROW(ri->pagefiles, ri->npagefiles)))
			return -ENOMEM;
		memcpy(pf, p, sizeof(*pf));
		free(p);
		return RST_REC_COPIED;
	}
	}
	ret = collect_ipc(ri, img, h, p);
	return ret ? ret : collect_file_obj(ri, img, h, p);
}

/*
 * "6.18.44-fc" -> 6 * 1000 + 18. The image's is the user's: at most 4 and
 * 3 digits are read, so that no number overflows; -1 when it does not
 * start with a digit.
 */
static int kernel_version(const char *release)
{
	unsigned int major = 0, minor = 0;

	if (!isdigit((unsigned char)release[0]) || sscanf(release, "%4u.%3u", &major, &minor) < 1)
		return -1;
	return (int)(major * 1000 + minor);
}

static int check_header(struct cr_img *img, const struct cr_rec_hdr *h,
			const struct cr_header_rec *hdr)
{
	struct utsname u;

	if (h->type != CR_REC_HEADER || h->len != sizeof(*hdr) || hdr->magic != CR_IMG_MAGIC) {
		pr_err("%s is not a slurm-cr image (bad header)\n", img->path);
		return -EBADMSG;
	}
	/* image_check looks again, later: these are used (and logged) before */
	if (!memchr(hdr->arch, '\0', sizeof(hdr->arch)) ||
	    !memchr(hdr->kernel, '\0', sizeof(hdr->kernel))) {
		pr_err("%s: bad header: its architecture or kernel release is not terminated\n",
		       img->path);
		return -EBADMSG;
	}
	if (hdr->version != CR_IMG_VERSION) {
		pr_err("%s has image version %u; this engine reads version %u\n", img->path,
		       hdr->version, CR_IMG_VERSION);
		return -EPROTO;
	}
	uname(&u);
	if (strcmp(hdr->arch, u.machine) || hdr->page_size != PAGE_SIZE) {
		pr_err("%s was made on %s with %u-byte pages; this is %s\n", img->path, hdr->arch,
		       hdr->page_size, u.machine);
		return -EPROTO;
	}
	/* an image from a newer kernel may hold state this one cannot make */
	if (kernel_version(hdr->kernel) < 0 ||
	    kernel_version(hdr->kernel) > kernel_version(u.release)) {
		pr_err("%s was made on kernel %s; this kernel (%s) is older\n", img->path,
		       hdr->kernel, u.release);
		return -EPROTO;
	}
	return 0;
}

/* Every record, kept in memory: records are small, page data stays on disk. */
static int read_records(struct rst_image *ri, struct cr_img *img)
{
	struct cr_rec_hdr h;
	void *p;
	int ret;

	while ((ret = cr_img_read(img, &h, &p)) == 1) {
		ret = take_task_record(ri, img, &h, p);
		if (!ret)
			ret = take_thread_record(ri, img, &h, p);
		if (!ret)
			ret = take_shared_record(ri, img, &h, p);
		if (ret == RST_REC_OTHER) {
			pr_err("%s: unexpected record type %u at offset %llu\n", img->path, h.type,
			       (unsigned long long)img->off);
			ret = -EBADMSG;
		}
		if (ret < 0) {
			free(p);
			return ret;
		}
	}
	return ret;
}

/* A data file must be exactly what its PAGEFILE record says, read to the end. */
int image_check_datafile(struct rst_image *img, const char *name, uint64_t size, void *xxh64)
{
	for (size_t i = 0; i < img->npagefiles; i++) {
		const struct cr_pagefile_rec *pf = &img->pagefiles[i];

		if (strcmp(pf->name, name))
			continue;
		if (pf->size != size) {
			pr_err("%s: %llu bytes used, the image says %llu\n", name,
			       (unsigned long long)size, (unsigned long long)pf->size);
			return -EBADMSG;
		}
		if (XXH64_digest(xxh64) != pf->csum) {
			pr_err("%s: checksum mismatch (corrupt data)\n", name);
			return -EBADMSG;
		}
		return 0;
	}
	pr_err("%s is not described in the image\n", name);
	return -EBADMSG;
}

int image_load(const char *dir, const struct cr_digests *digests, struct rst_image *ri)
{
	struct cr_rec_hdr h;
	struct cr_img img;
	void *p = NULL;
	int ret;

	memset(ri, 0, sizeof(*ri));
	ri->dirfd = -1;
	ri->digests = digests;
	ret = digests ? imgd_check_list(digests) : 0;
	if (!ret)
		ret = cr_img_open(&img, dir, digests);
	if (ret)
		return ret;
	ret = cr_img_read(&img, &h, &p);
	if (ret == 1)
		ret = check_header(&img, &h, p);
	else if (!ret)
		ret = -EBADMSG;
	if (!ret) {
		memcpy(&ri->hdr, p, sizeof(ri->hdr));
		ret = read_records(ri, &img);
	}
	free(p);
	if (!ret && (ri->ntasks == 0 || ri->ntasks != ri->hdr.ntasks)) {
		pr_err("%s: header says %u tasks, image holds %zu\n", img.path, ri->hdr.ntasks,
		       ri->ntasks);
		ret = -EBADMSG;
	}
	if (!ret)
		ret = image_check(ri);
	if (!ret)
		ri->dirfd = dup(img.dirfd);
	cr_img_close(&img);
	if (ret)
		image_free(ri);
	return ret;
}

void image_free(struct rst_image *ri)
{
	for (size_t i = 0; i < ri->ntasks; i++) {
		struct rst_img_task *t = &ri->tasks[i];

		free(t->rec);
		free(t->mm);
		for (size_t k = 0; k < t->nvmas; k++)
			free(t->vmas[k]);
		free(t->vmas);
		free(t->pagemap);
		for (size_t k = 0; k < t->nthreads; k++)
			free(t->threads[k]);
		free(t->threads);
		free(t->sigacts);
		free(t->timers);
		for (size_t k = 0; k < t->nsigsets; k++)
			free((struct cr_siginfo_rec *)t->sigsets[k].info - 1);
		free(t->sigsets);
		free(t->fds);
		free(t->outer_tids);
	}
	free(ri->tasks);
	for (size_t i = 0; i < ri->nfiles; i++)
		free(ri->files[i].rec);
	free(ri->files);
	for (size_t i = 0; i < ri->nfobjs; i++)
		free(ri->fobjs[i].rec);
	free(ri->fobjs);
	for (size_t i = 0; i < ri->nshmem; i++)
		free(ri->shmem[i].extents);
	free(ri->shmem);
	free(ri->pagefiles);
	for (size_t i = 0; i < ri->nipc; i++)
		free(ri->ipc[i].rec);
	free(ri->ipc);
	free(ri->locks);
	if (ri->dirfd >= 0)
		close(ri->dirfd);
	memset(ri, 0, sizeof(*ri));
	ri->dirfd = -1;
}
