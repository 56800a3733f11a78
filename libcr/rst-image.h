/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The image as restore sees it (types only: image-load.c fills them). */
#ifndef CR_RST_IMAGE_H
#define CR_RST_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "image.h"
#include "restorer/restorer.h"

struct rst_sigset {
	pid_t tid; /* 0: shared */
	uint32_t nsig;
	void *info; /* nsig * 128 bytes */
};

struct rst_img_task {
	struct cr_task_rec *rec;
	struct cr_mm_rec *mm;
	uint64_t *auxv;
	struct cr_vma_rec **vmas;
	size_t nvmas;
	struct cr_pagemap_rec *pagemap;
	struct cr_page_run *runs;
	struct cr_thread_rec **threads;
	size_t nthreads;
	struct cr_sigacts_rec *sigacts;
	struct rst_sigset *sigsets;
	size_t nsigsets;
	struct cr_fd_rec *fds;
	size_t nfds;
	struct cr_timers_rec *timers; /* NULL: none */
	pid_t outer_pid;	      /* the task's pid in the restarter's namespace */
	pid_t *outer_tids;
};

struct rst_img_file {
	struct cr_file_rec *rec;
	int svc_fd; /* the restarter's fd for it, inherited by every task */
	int rb_fd;  /* held for writing: rolled back through this fd at cr_rollback; -1: not */
};

/* A shared object of a kind of open file (a pipe...), from its own record. */
struct rst_file_obj {
	uint32_t type; /* CR_REC_* of rec: picks the kind (struct file_ops in files.h) */
	uint64_t id;   /* what the cr_file_rec records' obj_id name */
	void *rec;     /* the record, payload included */
	int svc_fd[2]; /* the restarter's fds for it, inherited by every task; -1: none */
};

struct rst_img_shmem {
	struct cr_shmem_rec rec;
	struct cr_extent *extents; /* nextents of them, malloc'ed */
	int svc_fd;
};

/* A SysV IPC object (ipc.c), made by prepare_ipc. */
struct rst_ipc_obj {
	uint32_t type; /* CR_REC_IPC_* */
	void *rec;     /* the record, payload included */
	bool made;     /* removed again by undo_ipc if the restore fails */
};

struct rst_image {
	struct cr_header_rec hdr;
	int dirfd;
	struct rst_img_task *tasks;
	size_t ntasks;
	struct rst_img_file *files;
	size_t nfiles;
	struct rst_file_obj *fobjs;
	size_t nfobjs;
	struct rst_img_shmem *shmem;
	size_t nshmem;
	struct cr_pagefile_rec *pagefiles;
	size_t npagefiles;
	struct rst_ipc_obj *ipc;
	size_t nipc;
	struct cr_lock_rec *locks; /* file locks (locks.c) */
	size_t nlocks;
	int max_fd;	     /* highest fd number any task uses */
	unsigned int skip;   /* CR_SKIP_* */
	uint64_t skip_kinds; /* bit 1 << enum cr_file_kind: fds of these kinds left closed */
	/* the image files' digests (img-read.h), or NULL: no check */
	const struct cr_digests *digests;
};

/* Debug switches: kinds of state deliberately not restored (tests). */
#define CR_SKIP_SIGACTS RST_SKIP_SIGACTS
#define CR_SKIP_FDS	RST_SKIP_FDS
#define CR_SKIP_CREDS	RST_SKIP_CREDS
#define CR_SKIP_MEMORY	RST_SKIP_MEMORY
#define CR_SKIP_MISC	RST_SKIP_MISC

/*
 * What the image loader's takers (image-load.c, collect_file_obj) did with a
 * record: RST_REC_OTHER, not a type they take (ask the next taker);
 * RST_REC_KEPT, the image holds the payload now (image_free frees it);
 * RST_REC_COPIED, what it needed was copied and the payload freed.
 * A bad record is -errno, logged; the caller frees the payload.
 */
enum rst_rec_take {
	RST_REC_OTHER = 0,
	RST_REC_KEPT,
	RST_REC_COPIED,
};

#endif /* CR_RST_IMAGE_H */
