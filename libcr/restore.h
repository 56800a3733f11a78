/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The image as restore sees it, and the per-kind restore entry points. */
#ifndef CR_RESTORE_H
#define CR_RESTORE_H

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "pstree.h"
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
	int max_fd;	   /* highest fd number any task uses */
	unsigned int skip; /* CR_SKIP_* */
};

/* Debug switches: kinds of state deliberately not restored (tests). */
#define CR_SKIP_SIGACTS RST_SKIP_SIGACTS
#define CR_SKIP_FDS	RST_SKIP_FDS
#define CR_SKIP_CREDS	RST_SKIP_CREDS
#define CR_SKIP_MEMORY	RST_SKIP_MEMORY
#define CR_SKIP_MISC	RST_SKIP_MISC

int image_load(const char *dir, struct rst_image *img);
void image_free(struct rst_image *img);

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

/* files.c: the generic fd core */
int collect_file_obj(struct rst_image *img, struct cr_img *ci, const struct cr_rec_hdr *h,
		     void *payload);
int prepare_files(struct rst_image *img, const struct cr_restore_opts *opts);
/* The name of a kind of open file (enum cr_file_kind), "?" if unknown. */
const char *file_kind_name(uint32_t kind);
int install_fds(struct rst_image *img, struct rst_img_task *t);
void close_service_fds(struct rst_image *img);
/* image-load.c */
int image_check_datafile(struct rst_image *img, const char *name, uint64_t size, void *xxh64);
/* 0 if record @h is @fixed + @tail bytes long, else -EBADMSG, logged. */
int image_check_len(const struct cr_img *img, const struct cr_rec_hdr *h, size_t fixed,
		    size_t tail);
/* shmem.c */
int prepare_shmem(struct rst_image *img);
int shmem_fd(struct rst_image *img, uint64_t id);
void close_shmem_service(struct rst_image *img);
/*
 * The restarter's state, shared by restore.c, which drives the steps, and
 * the restore halves of the kinds (task.c runs the tree's plan).
 */
struct cr_restored {
	struct rst_image img;
	struct pstree_plan plan;
	struct rst_ctl *ctl;
	uint64_t boot, boot_size, premap_size;
	struct rst_range vdso_rt[3];
	pid_t child;	      /* our direct child: the root, or the pid namespace's init */
	pid_t outside_pgid;   /* the plan's id for the restarter's process group */
	pid_t restarter_pgid; /* which it really is */
	bool new_pidns;
	bool seized;
};

#define THREAD_STACK   (64UL << 10)
#define ALIGN_UP(x, a) (((x) + (a)-1) & ~((uint64_t)(a)-1))

static inline long futex(int32_t *uaddr, int op, int val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

/* restore.c: the restorer's arguments, built in a task's bootstrap area */
struct arg_area {
	uint8_t *cur, *end;
};
void *area_take(struct arg_area *a, size_t len, size_t align);
struct rst_img_task *find_img_task(struct rst_image *img, pid_t pid);

/* memory.c */
/* Map every VMA of @t into [premap, premap+len) and fill it; fills @moves. */
int premap_memory(struct rst_image *img, struct rst_img_task *t, uint64_t premap, uint64_t len,
		  void *moves);
uint64_t premap_size_of(const struct rst_img_task *t);
int fill_mm(struct rst_img_task *t, struct rst_task *rt, struct arg_area *a, int exe_fd);
int fill_vdso(const struct rst_range vdso_rt[3], struct rst_img_task *t, struct rst_task *rt,
	      uint64_t tmp);
/* threads.c */
int fill_threads(struct rst_image *img, struct rst_img_task *t, struct rst_task *rt,
		 struct arg_area *a, uint64_t stacks);
/* signals.c */
int restore_sigactions(struct rst_img_task *t);
int fill_sigsets(struct rst_img_task *t, struct rst_task *rt, struct arg_area *a);
/* timers.c */
int fill_timers(struct rst_image *img, struct rst_img_task *t, struct rst_task *rt,
		struct arg_area *a);
/* task.c: the tree, zombies, credentials and the rest of a task's context */
int build_plan(struct cr_restored *r);
pid_t clone_pid(pid_t pid, bool clone_parent, bool new_pidns, int exit_signal);
pid_t run_plan(struct cr_restored *r, pid_t me);
void fail_plan(struct rst_ctl *ctl, int code);
void settle_zombie_children(struct cr_restored *r, pid_t me);
__attribute__((noreturn)) void become_zombie(const struct cr_task_rec *tr);
int check_rlimits(struct rst_image *img);
void fill_creds(struct rst_image *img, struct rst_img_task *t, struct rst_task *rt);
int restore_task_misc(struct rst_image *img, struct rst_img_task *t);

#endif /* CR_RESTORE_H */
