/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kinds of open file: what files.c (the generic fd core) asks of each kind,
 * and what it offers them. The registry of kinds is the one array in files.c.
 */
#ifndef CR_FILES_H
#define CR_FILES_H

#include <stdbool.h>
#include <sys/stat.h>

#include "internal.h"
#include "rst-image.h"

/* Returned by prepare or open: another object must be made first; ask again. */
#define CR_AGAIN 1

/* What the core reads once about one fd of a frozen task. */
struct fd_info {
	pid_t pid;  /* the task, as we see it (for /proc) */
	pid_t npid; /* dump only: the task as the image names it (cr_fd_rec.pid) */
	pid_t root; /* the tree's root task */
	int fd;
	struct stat st;		/* of /proc/<pid>/fd/<fd> */
	uint64_t pos;		/* fdinfo "pos:" */
	uint32_t flags;		/* fdinfo "flags:": O_* with the access mode and O_CLOEXEC */
	bool locked;		/* fdinfo has a "lock:" line (a lock or a lease) */
	char link[CR_PATH_LEN]; /* readlink of /proc/<pid>/fd/<fd> */
	struct dump_ctx *ctx;	/* the dump's (check's too): the socket index (sockdiag.h) */
};

/*
 * One kind of open file. The core picks the kind once, with the first
 * recognise() that says yes in registry order, and from then on calls only
 * through its table. Optional fields may be NULL.
 *   name      as `cr info` and messages call it
 *   kind      the enum cr_file_kind its cr_file_rec records carry
 *   obj_type  CR_REC_* of its shared objects (a pipe...), 0 if it has none
 *   recognise does this fd belong to this kind? (stat, link, fdinfo only)
 *   check     optional: refuse, logging task and fd, what this kind can't
 *             restore (-ENOTSUP); called before anything is written
 *   dump      fill @rec (kind, id, mode, pos, flags, path preset) and write
 *             the kind's shared object records; the core writes @rec after
 *   collect   optional: validate an obj_type record the image hands in and
 *             set obj->id; the image keeps the record in obj->rec
 *   prepare   optional: in the restarter before any fork, make one shared
 *             object; its fds go in obj->svc_fd (the core moves them high)
 *   open      in the restarter, after prepare: a new fd (O_CLOEXEC) for
 *             @rec in *fd; the core places it and every task dup()s it
 *   install   optional: in each restored task, once all its fds are in place
 *             and before the service fds close, for each of its fds of
 *             this kind: state keyed by the task's own fd numbers (epoll)
 *   standin   open gives a stand-in that install replaces in each task
 *             (pidfds): never sent in flight (SCM_RIGHTS)
 *   complete  optional: in the restarter, once every file is open, for each
 *             shared object: what needs other files (a queue refilled
 *             with fds in flight)
 * prepare and open return 0, -errno (logged) or CR_AGAIN when another
 * object must come first (epoll targets, socket peers): the core asks again
 * after a pass over the others, and fails on a pass that makes no progress.
 */
struct file_ops {
	const char *name;
	uint32_t kind;
	uint32_t obj_type;
	bool standin;
	bool (*recognise)(const struct fd_info *fi);
	int (*check)(const struct fd_info *fi);
	int (*dump)(struct cr_img *img, struct dump_ctx *ctx, const struct fd_info *fi,
		    struct cr_file_rec *rec);
	int (*collect)(struct cr_img *img, const struct cr_rec_hdr *h, struct rst_file_obj *obj);
	int (*prepare)(struct rst_image *img, const struct cr_restore_opts *opts,
		       struct rst_file_obj *obj);
	int (*open)(struct rst_image *img, const struct cr_restore_opts *opts,
		    const struct cr_file_rec *rec, int *fd);
	int (*install)(struct rst_image *img, const struct rst_img_task *t,
		       const struct cr_file_rec *rec, int fd);
	int (*complete)(struct rst_image *img, const struct cr_restore_opts *opts,
			struct rst_file_obj *obj);
};

/* The kinds, each in its own file; files.c lists them in its registry. */
extern const struct file_ops inherit_file_ops; /* files-inherit.c */
extern const struct file_ops reg_file_ops;     /* files-reg.c */
extern const struct file_ops shmem_file_ops;   /* files-shmem.c */
extern const struct file_ops pipe_ops;	       /* pipes.c */
extern const struct file_ops fifo_ops;	       /* pipes.c */
extern const struct file_ops unix_sk_ops;      /* sk-unix.c */
extern const struct file_ops eventfd_ops;      /* eventfd.c */
extern const struct file_ops epoll_ops;	       /* epoll.c */
extern const struct file_ops signalfd_ops;     /* signalfd.c */
extern const struct file_ops timerfd_ops;      /* timerfd.c */
extern const struct file_ops inotify_ops;      /* inotify.c */
extern const struct file_ops tcp_ops;	       /* sk-inet.c */
extern const struct file_ops udp_ops;	       /* sk-inet.c */
extern const struct file_ops mqueue_ops;       /* mqueue.c */
extern const struct file_ops pidfd_ops;	       /* pidfd.c */
/* cr_resume, the network unlocked: restored TCP connections leave repair mode (sk-inet.c). */
int inet_repair_off(struct rst_image *img);

/*
 * File locks (locks.c): flock, POSIX and OFD locks held through the fds.
 * Check: check_fd_locks for each fd (the root's stdio too) refuses what
 * can't come back and notes what it saw; check_tree_locks, once every fd
 * was seen, refuses a lock of the tree that no fd shows (/proc/locks).
 * Dump: note_fd_locks for each fd notes its locks, once each; dump_locks
 * writes them (CR_REC_FLOCK). Restore: collect_lock takes a record,
 * check_image_locks checks them against the tasks' fds; in the restarter,
 * once the files are open, check_locks_free refuses a lock someone else
 * holds now, naming it; restore_locks takes a task's locks again once its
 * fds are final (after install_fds).
 */
int check_fd_locks(struct dump_ctx *ctx, const struct fd_info *fi);
int check_tree_locks(struct dump_ctx *ctx, const struct cr_frozen *f);
int note_fd_locks(struct dump_ctx *ctx, const struct fd_info *fi, uint32_t file_id);
int dump_locks(struct cr_img *img, struct dump_ctx *ctx);
void free_dump_locks(struct dump_ctx *ctx);
int collect_lock(struct rst_image *ri, struct cr_img *img, const struct cr_rec_hdr *h, void *p);
int check_image_locks(const struct rst_image *img);
int check_locks_free(struct rst_image *img);
int restore_locks(struct rst_image *img, const struct rst_img_task *t);

/* The core's entry points, for dump.c and restore.c (files.c). */
int check_fds(struct dump_ctx *ctx, struct cr_task *t);
int dump_fds(struct cr_img *img, struct dump_ctx *ctx, struct cr_task *t);
void free_dump_fds(struct dump_ctx *ctx);
int collect_file_obj(struct rst_image *img, struct cr_img *ci, const struct cr_rec_hdr *h,
		     void *payload);
int prepare_files(struct rst_image *img, const struct cr_restore_opts *opts);
/* The name of a kind of open file (enum cr_file_kind), "?" if unknown. */
const char *file_kind_name(uint32_t kind);
/* The enum cr_file_kind that file_kind_name() calls @name, 0 if none (--skip file:KIND). */
uint32_t file_kind_by_name(const char *name);
int install_fds(struct rst_image *img, struct rst_img_task *t);
void close_service_fds(struct rst_image *img);
/*
 * Rollback (files-reg.c): with rollback_files, prepare_files keeps an fd to
 * each file held for writing (above every task's fds) and checks it; only
 * rollback_reg_files, at cr_rollback, truncates.
 */
int hold_for_rollback(struct rst_image *img, const struct cr_restore_opts *opts,
		      struct rst_img_file *f);
int rollback_reg_files(struct rst_image *img, const struct cr_rollback_keep *keep);

/* rollback-keep.c: the tail of @fd past @from (its length @len) kept in keep->dirfd. */
struct keep_state {
	const struct cr_rollback_keep *keep;
	uint64_t copied;
	unsigned int n;
};
int keep_tail(struct keep_state *ks, int fd, const char *path, uint64_t from, uint64_t len);
void close_rollback_fds(struct rst_image *img);

/* For the kinds, from the core (files.c). */
/*
 * Dump: a copy of the task's fd in the dumper (pidfd_getfd, O_CLOEXEC), for
 * what only the open file answers (sockets, queues); the caller closes it.
 */
int steal_fd(const struct fd_info *fi);
/*
 * Dump: the open file of an fd in flight, which reading a unix socket's
 * queue (MSG_PEEK) put at @fd in the dumper's own table: its id in *id,
 * dumped by its kind as a file of its own unless an fd dumped so far is the
 * same open file (then @fd is closed). @fd is the core's then, kept open
 * until free_dump_fds so that later fds compare with it. @pid and @sfd: the
 * task and fd of the socket that holds it, for messages.
 */
int dump_inflight_fd(struct cr_img *img, struct dump_ctx *ctx, pid_t pid, int sfd, int fd,
		     uint32_t *id);
/* Dump: 1 if this object is new (the caller writes it now), 0 if written already. */
int claim_dump_object(struct dump_ctx *ctx, uint32_t type, uint64_t id);
/* Restore: the collected shared object of @type and @id, or NULL. */
struct rst_file_obj *find_file_obj(struct rst_image *img, uint32_t type, uint64_t id);
/* Restore, in complete(): the restarter's fd for file @id, -1 if none was opened. */
int file_svc_fd(const struct rst_image *img, uint32_t id);
/* @path with the restore options' path remapping applied (may be @buf). */
const char *remap_path(const struct cr_restore_opts *opts, const char *path, char *buf, size_t len);

#endif /* CR_FILES_H */
