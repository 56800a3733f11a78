// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The generic fd core: the walk over a task's fd table, fdinfo, flags and
 * offsets, dup'd fds, and installing fds in a restored task. What an open
 * file is, is up to its kind (struct file_ops, files.h), picked once here.
 * An open file description shared by several fds or tasks (same kcmp
 * KCMP_FILE) is one object, made once at restore by the restarter and
 * inherited by every task, so offsets stay shared.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "files: "
#include "log.h"
#include "files.h"

/*
 * The registry of kinds of open file. To add a kind (eventfd, say): write
 * libcr/<kind>.c with its struct file_ops (files.h says what each field
 * does), give it an enum cr_file_kind value and, if it has shared objects,
 * its own record type in image.h, declare its table in files.h and add one
 * line here. Order matters only for recognise(): the first kind that says
 * yes takes the fd, so a kind that claims an fd before a wider one
 * (inherited stdio before anything) comes first.
 */
static const struct file_ops *const file_kinds[] = {
	&inherit_file_ops,
	&mqueue_ops, /* a regular file too, on the mqueue fs: before reg_file_ops */
	&reg_file_ops,
	&shmem_file_ops,
	&pipe_ops,
	&fifo_ops,
	&unix_sk_ops,
	&tcp_ops,
	&udp_ops,
	/* event fds, epoll and inotify */
	&eventfd_ops,
	&epoll_ops,
	&signalfd_ops,
	&timerfd_ops,
	&inotify_ops,
	&pidfd_ops,
};

static const struct file_ops *find_kind(uint32_t kind)
{
	for (size_t i = 0; i < ARRAY_SIZE(file_kinds); i++)
		if (file_kinds[i]->kind == kind)
			return file_kinds[i];
	return NULL;
}

const char *file_kind_name(uint32_t kind)
{
	const struct file_ops *ops = find_kind(kind);

	return ops ? ops->name : "?";
}

int steal_fd(const struct fd_info *fi)
{
	int pidfd = syscall(SYS_pidfd_open, fi->pid, 0), fd;

	if (pidfd < 0) {
		pr_perror("Can't open a pidfd for task %d", fi->pid);
		return -errno;
	}
	fd = syscall(SYS_pidfd_getfd, pidfd, fi->fd, 0);
	if (fd < 0)
		pr_perror("Can't take a copy of fd %d of task %d", fi->fd, fi->pid);
	close(pidfd);
	return fd < 0 ? -errno : fd;
}

uint32_t file_kind_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(file_kinds); i++)
		if (!strcmp(file_kinds[i]->name, name))
			return file_kinds[i]->kind;
	return 0;
}

static const struct file_ops *find_obj_kind(uint32_t type)
{
	for (size_t i = 0; i < ARRAY_SIZE(file_kinds); i++)
		if (type && file_kinds[i]->obj_type == type)
			return file_kinds[i];
	return NULL;
}

static const struct file_ops *recognise_fd(const struct fd_info *fi)
{
	for (size_t i = 0; i < ARRAY_SIZE(file_kinds); i++)
		if (file_kinds[i]->recognise(fi))
			return file_kinds[i];
	return NULL;
}

/* ---- dump ---- */

struct file_obj {
	uint32_t id;
	dev_t dev;
	ino_t ino;
	pid_t pid;
	int fd;
	bool ours; /* fd is the dumper's: an fd in flight, closed by free_dump_fds */
};

struct dumped_obj {
	uint32_t type;
	uint64_t id;
};

struct files_ctx {
	struct file_obj *objs; /* the open files written so far */
	size_t nobjs;
	uint32_t last_id; /* ids are given before a kind dumps: it may dump fds in flight */
	struct dumped_obj *dumped; /* the kinds' shared objects written so far */
	size_t ndumped;
};

static struct files_ctx *files_ctx(struct dump_ctx *ctx)
{
	if (!ctx->files)
		ctx->files = calloc(1, sizeof(struct files_ctx));
	if (!ctx->files)
		pr_err("No memory for the dump's file table\n");
	return ctx->files;
}

void free_dump_fds(struct dump_ctx *ctx)
{
	struct files_ctx *fc = ctx->files;

	if (fc) {
		for (size_t i = 0; i < fc->nobjs; i++)
			if (fc->objs[i].ours)
				close(fc->objs[i].fd);
		free(fc->objs);
		free(fc->dumped);
		free(fc);
	}
	ctx->files = NULL;
}

int claim_dump_object(struct dump_ctx *ctx, uint32_t type, uint64_t id)
{
	struct files_ctx *fc = ctx->files;
	struct dumped_obj *nd;

	for (size_t i = 0; i < fc->ndumped; i++)
		if (fc->dumped[i].type == type && fc->dumped[i].id == id)
			return 0;
	nd = realloc(fc->dumped, (fc->ndumped + 1) * sizeof(*nd));
	if (!nd) {
		pr_err("No memory to note object %llu (record type %u)\n", (unsigned long long)id,
		       type);
		return -ENOMEM;
	}
	fc->dumped = nd;
	nd[fc->ndumped++] = (struct dumped_obj){type, id};
	return 1;
}

/* stat, link and fdinfo of one fd; -errno, not logged (the fd may be gone). */
static int read_fd_info(struct fd_info *fi, struct dump_ctx *ctx, pid_t pid, int fd)
{
	char path[64], *s, *p;
	int ret;

	memset(fi, 0, sizeof(*fi));
	fi->ctx = ctx;
	fi->root = ctx->root;
	fi->pid = pid;
	fi->fd = fd;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	if (stat(path, &fi->st) < 0)
		return -errno;
	ret = proc_readlink(fi->link, sizeof(fi->link), "%s", path);
	if (ret)
		return ret;
	s = proc_read_file("/proc/%d/fdinfo/%d", pid, fd);
	if (!s)
		return errno ? -errno : -EIO;
	p = strstr(s, "pos:");
	fi->pos = p ? strtoull(p + 4, NULL, 10) : 0;
	p = strstr(s, "flags:");
	fi->flags = p ? strtoul(p + 6, NULL, 8) : 0;
	fi->locked = strstr(s, "\nlock:") != NULL;
	free(s);
	return 0;
}

static bool is_root_stdio(const struct fd_info *fi)
{
	return fi->pid == fi->root && fi->fd <= 2;
}

static struct file_obj *find_same_file(struct files_ctx *fc, const struct fd_info *fi)
{
	for (size_t i = 0; i < fc->nobjs; i++) {
		struct file_obj *o = &fc->objs[i];

		if (o->dev == fi->st.st_dev && o->ino == fi->st.st_ino &&
		    syscall(SYS_kcmp, o->pid, fi->pid, KCMP_FILE, o->fd, fi->fd) == 0)
			return o;
	}
	return NULL;
}

/* A new open file: its kind dumps it, then its record is written. */
static int add_file(struct cr_img *img, struct dump_ctx *ctx, const struct fd_info *fi,
		    uint32_t *id)
{
	const struct file_ops *ops = recognise_fd(fi);
	struct files_ctx *fc = ctx->files;
	struct cr_file_rec *rec;
	struct file_obj *no;
	int ret;

	if (!ops) {
		pr_err("Task %d fd %d (%s) is not supported yet\n", fi->pid, fi->fd, fi->link);
		return -ENOTSUP;
	}
	rec = calloc(1, sizeof(*rec));
	if (!rec) {
		pr_err("No memory for fd %d of task %d\n", fi->fd, fi->pid);
		return -ENOMEM;
	}
	*rec = (struct cr_file_rec){.id = ++fc->last_id,
				    .kind = ops->kind,
				    .flags = fi->flags,
				    .mode = fi->st.st_mode,
				    .pos = fi->pos};
	snprintf(rec->path, sizeof(rec->path), "%s", fi->link);
	ret = ops->dump(img, ctx, fi, rec);
	if (!ret)
		ret = cr_img_write(img, CR_REC_FILE, rec, sizeof(*rec));
	if (ret)
		goto out;
	no = realloc(fc->objs, (fc->nobjs + 1) * sizeof(*no));
	if (!no) {
		pr_err("No memory for file %u of task %d\n", rec->id, fi->pid);
		ret = -ENOMEM;
		goto out;
	}
	fc->objs = no;
	no[fc->nobjs++] =
		(struct file_obj){rec->id, fi->st.st_dev, fi->st.st_ino, fi->pid, fi->fd, false};
	*id = rec->id;
out:
	free(rec);
	return ret;
}

static int dump_one_fd(struct cr_img *img, struct dump_ctx *ctx, struct cr_task *t, int fd)
{
	struct cr_fd_rec rec = {.pid = t->ns_pid, .fd = fd};
	struct file_obj *same = NULL;
	struct fd_info fi;
	int ret;

	ret = read_fd_info(&fi, ctx, t->pid, fd);
	if (ret) {
		errno = -ret;
		pr_perror("Can't inspect fd %d of task %d", fd, t->pid);
		return ret;
	}
	fi.npid = t->ns_pid;
	rec.cloexec = !!(fi.flags & O_CLOEXEC);
	/* the root's stdio always stands for the restarter's own */
	if (!is_root_stdio(&fi))
		same = find_same_file(ctx->files, &fi);
	if (same)
		rec.file_id = same->id;
	else if ((ret = add_file(img, ctx, &fi, &rec.file_id)))
		return ret;
	if (!is_root_stdio(&fi) && (ret = note_fd_locks(ctx, &fi, rec.file_id)))
		return ret;
	return cr_img_write(img, CR_REC_FD, &rec, sizeof(rec));
}

static int check_one_fd(const struct fd_info *fi);

/* The file in flight @fd, not the same as any dumped so far: checked and dumped. */
static int add_inflight(struct cr_img *img, struct dump_ctx *ctx, struct fd_info *fi, uint32_t *id)
{
	const struct file_ops *ops = recognise_fd(fi);
	struct files_ctx *fc = ctx->files;
	int ret;

	/* ours (MSG_CMSG_CLOEXEC): close-on-exec is an fd's, not its file's */
	fi->flags &= ~O_CLOEXEC;
	if (fi->locked) {
		pr_err("An fd in flight (%s) holds a file lock: not supported\n", fi->link);
		return -ENOTSUP;
	}
	if (ops && ops->install) {
		pr_err("An fd in flight is of kind %s (%s), set up in the task that holds it, and "
		       "no task holds it: not supported\n",
		       ops->name, fi->link);
		return -ENOTSUP;
	}
	ret = check_one_fd(fi);
	if (!ret)
		ret = add_file(img, ctx, fi, id);
	if (!ret)
		fc->objs[fc->nobjs - 1].ours = true;
	return ret;
}

int dump_inflight_fd(struct cr_img *img, struct dump_ctx *ctx, pid_t pid, int sfd, int fd,
		     uint32_t *id)
{
	const struct file_ops *ops;
	struct file_obj *same;
	struct fd_info fi;
	int ret = read_fd_info(&fi, ctx, getpid(), fd);

	if (ret) {
		errno = -ret;
		pr_perror("Task %d fd %d: can't inspect an fd in flight", pid, sfd);
		close(fd);
		return ret;
	}
	ops = recognise_fd(&fi);
	if (ops && ops->standin) {
		pr_err("Task %d fd %d: the unix socket holds a %s in flight: not supported\n", pid,
		       sfd, ops->name);
		close(fd);
		return -ENOTSUP;
	}
	same = find_same_file(ctx->files, &fi);
	if (same) {
		close(fd);
		*id = same->id;
		return 0;
	}
	ret = add_inflight(img, ctx, &fi, id);
	if (ret) {
		pr_err("Task %d fd %d: the unix socket holds the fd in flight above (%s): not "
		       "supported\n",
		       pid, sfd, fi.link);
		close(fd);
	}
	return ret;
}

static int cmp_fd(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* The fd numbers of task @pid, ascending (so the root's 0, 1, 2 come first). */
static int list_fds(pid_t pid, int **fds, size_t *nfds)
{
	struct dirent *de;
	char path[64];
	int ret = 0;
	DIR *d;

	*fds = NULL;
	*nfds = 0;
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d) {
		pr_perror("Can't list fds of task %d", pid);
		return -errno;
	}
	while ((de = readdir(d)) && !ret) {
		int *nf;

		if (de->d_name[0] == '.')
			continue;
		nf = realloc(*fds, (*nfds + 1) * sizeof(*nf));
		if (!nf) {
			pr_err("No memory for the fds of task %d\n", pid);
			ret = -ENOMEM;
			break;
		}
		*fds = nf;
		nf[(*nfds)++] = atoi(de->d_name);
	}
	closedir(d);
	if (*nfds)
		qsort(*fds, *nfds, sizeof(**fds), cmp_fd);
	return ret;
}

int dump_fds(struct cr_img *img, struct dump_ctx *ctx, struct cr_task *t)
{
	size_t nfds;
	int *fds, ret;

	if (!files_ctx(ctx))
		return -ENOMEM;
	ret = list_fds(t->pid, &fds, &nfds);
	for (size_t i = 0; i < nfds && !ret; i++)
		ret = dump_one_fd(img, ctx, t, fds[i]);
	free(fds);
	return ret;
}

static int check_one_fd(const struct fd_info *fi)
{
	const struct file_ops *ops = recognise_fd(fi);
	int ret;

	if (!ops) {
		pr_err("Task %d fd %d (%s) is not supported yet\n", fi->pid, fi->fd, fi->link);
		return -ENOTSUP;
	}
	if (ops->check && (ret = ops->check(fi)))
		return ret;
	return 0;
}

/* Before anything is written: every fd must be one we can restore. */
int check_fds(struct dump_ctx *ctx, struct cr_task *t)
{
	struct fd_info fi;
	size_t nfds;
	int *fds, ret;

	ret = list_fds(t->pid, &fds, &nfds);
	for (size_t i = 0; i < nfds && !ret; i++) {
		if (read_fd_info(&fi, ctx, t->pid, fds[i]))
			continue; /* closed meanwhile */
		/* the root's stdio is inherited, whatever it is: only a lock on it is refused */
		if (!is_root_stdio(&fi))
			ret = check_one_fd(&fi);
		if (!ret)
			ret = check_fd_locks(ctx, &fi);
	}
	free(fds);
	return ret;
}

/* ---- restore ---- */

/* image-load.c hands over every record type it doesn't take itself. */
int collect_file_obj(struct rst_image *img, struct cr_img *ci, const struct cr_rec_hdr *h,
		     void *payload)
{
	const struct file_ops *ops = find_obj_kind(h->type);
	struct rst_file_obj *o;
	int ret;

	if (!ops)
		return RST_REC_OTHER;
	o = realloc(img->fobjs, (img->nfobjs + 1) * sizeof(*o));
	if (!o) {
		pr_err("No memory for a %s object\n", ops->name);
		return -ENOMEM;
	}
	img->fobjs = o;
	o = &img->fobjs[img->nfobjs];
	*o = (struct rst_file_obj){.type = h->type, .rec = payload, .svc_fd = {-1, -1}};
	ret = ops->collect ? ops->collect(ci, h, o) : 0;
	if (ret)
		return ret;
	/* a second one would be made too and its fds put where the first's are */
	if (find_file_obj(img, h->type, o->id)) {
		pr_err("%s object %llu appears twice in the image\n", ops->name,
		       (unsigned long long)o->id);
		return -EBADMSG;
	}
	img->nfobjs++;
	return RST_REC_KEPT;
}

struct rst_file_obj *find_file_obj(struct rst_image *img, uint32_t type, uint64_t id)
{
	for (size_t i = 0; i < img->nfobjs; i++)
		if (img->fobjs[i].type == type && img->fobjs[i].id == id)
			return &img->fobjs[i];
	return NULL;
}

int file_svc_fd(const struct rst_image *img, uint32_t id)
{
	for (size_t i = 0; i < img->nfiles; i++)
		if (img->files[i].rec->id == id)
			return img->files[i].svc_fd;
	return -1;
}

const char *remap_path(const struct cr_restore_opts *opts, const char *path, char *buf, size_t len)
{
	for (size_t i = 0; opts && i < opts->nremap; i++) {
		size_t n = strlen(opts->remap[i].from);

		if (!strncmp(path, opts->remap[i].from, n) && (path[n] == '/' || !path[n])) {
			snprintf(buf, len, "%s%s", opts->remap[i].to, path + n);
			return buf;
		}
	}
	return path;
}

/* Service fds sit above every fd a task uses, so no task's fd lands on one. */
static int move_service_fd(const struct rst_image *img, int *fd)
{
	int nfd = fcntl(*fd, F_DUPFD_CLOEXEC, img->max_fd + 16), err = errno;

	close(*fd);
	*fd = nfd;
	if (nfd < 0) {
		errno = err;
		pr_perror("Can't move a service fd above %d", img->max_fd + 16);
		return -err;
	}
	return 0;
}

static int prepare_one_obj(struct rst_image *img, const struct cr_restore_opts *opts, size_t i)
{
	struct rst_file_obj *o = &img->fobjs[i];
	const struct file_ops *ops = find_obj_kind(o->type);
	int ret = ops->prepare ? ops->prepare(img, opts, o) : 0;

	for (int k = 0; !ret && k < 2; k++)
		if (o->svc_fd[k] >= 0)
			ret = move_service_fd(img, &o->svc_fd[k]);
	return ret;
}

static int open_one_file(struct rst_image *img, const struct cr_restore_opts *opts, size_t i)
{
	struct rst_img_file *f = &img->files[i];
	const struct file_ops *ops = find_kind(f->rec->kind);
	int fd = -1, ret;

	if (!ops) {
		pr_err("File %u (%s) has unknown kind %u\n", f->rec->id, f->rec->path,
		       f->rec->kind);
		return -EBADMSG;
	}
	ret = ops->open(img, opts, f->rec, &fd);
	if (ret)
		return ret;
	ret = move_service_fd(img, &fd);
	f->svc_fd = fd;
	return ret ? ret : hold_for_rollback(img, opts, f);
}

/*
 * Run @step on items 0..n-1 until each has returned 0. CR_AGAIN puts an item
 * off to the next pass; a pass that makes no progress is a circle.
 */
static int run_passes(struct rst_image *img, const struct cr_restore_opts *opts, size_t n,
		      int (*step)(struct rst_image *, const struct cr_restore_opts *, size_t),
		      const char *what)
{
	bool *done = calloc(n + 1, sizeof(*done));
	size_t left = n, before;
	int ret = 0;

	if (!done) {
		pr_err("No memory to restore %zu %s\n", n, what);
		return -ENOMEM;
	}
	while (left && !ret) {
		before = left;
		for (size_t i = 0; i < n && !ret; i++) {
			if (done[i])
				continue;
			ret = step(img, opts, i);
			if (ret == CR_AGAIN) {
				ret = 0;
			} else if (!ret) {
				done[i] = true;
				left--;
			}
		}
		if (!ret && left == before) {
			pr_err("%zu %s each wait for another: none can be made\n", left, what);
			ret = -EDEADLK;
		}
	}
	free(done);
	return ret;
}

/*
 * In the restarter, before anything forks: every shared object and file,
 * once; then what needs them all (a queue with fds in flight).
 */
int prepare_files(struct rst_image *img, const struct cr_restore_opts *opts)
{
	int ret = run_passes(img, opts, img->nfobjs, prepare_one_obj, "shared file objects");

	if (!ret)
		ret = run_passes(img, opts, img->nfiles, open_one_file, "open files");
	for (size_t i = 0; i < img->nfobjs && !ret; i++) {
		const struct file_ops *ops = find_obj_kind(img->fobjs[i].type);

		if (ops->complete)
			ret = ops->complete(img, opts, &img->fobjs[i]);
	}
	return ret;
}

void close_service_fds(struct rst_image *img)
{
	for (size_t i = 0; i < img->nfobjs; i++)
		for (int k = 0; k < 2; k++)
			if (img->fobjs[i].svc_fd[k] >= 0) {
				close(img->fobjs[i].svc_fd[k]);
				img->fobjs[i].svc_fd[k] = -1;
			}
	for (size_t i = 0; i < img->nfiles; i++)
		if (img->files[i].svc_fd >= 0) {
			close(img->files[i].svc_fd);
			img->files[i].svc_fd = -1;
		}
}

static bool task_has_fd(const struct rst_img_task *t, int fd)
{
	for (size_t i = 0; i < t->nfds; i++)
		if (t->fds[i].fd == fd)
			return true;
	return false;
}

/* The kinds' file_ops.install, once every fd of the task is in place. */
static int install_kind_state(struct rst_image *img, const struct rst_img_task *t)
{
	for (size_t i = 0; i < t->nfds; i++)
		for (size_t k = 0; k < img->nfiles; k++) {
			const struct cr_file_rec *rec = img->files[k].rec;
			const struct file_ops *ops;
			int ret;

			if (rec->id != t->fds[i].file_id ||
			    (rec->kind < 64 && img->skip_kinds & 1ull << rec->kind))
				continue;
			ops = find_kind(rec->kind);
			if (!ops || !ops->install)
				continue;
			ret = ops->install(img, t, rec, t->fds[i].fd);
			if (ret)
				return ret;
		}
	return 0;
}

/* In a task, before the restorer: exactly its fds, nothing else. */
int install_fds(struct rst_image *img, struct rst_img_task *t)
{
	int ret;

	for (size_t i = 0; i < t->nfds; i++) {
		const struct cr_fd_rec *fr = &t->fds[i];
		int src = -1;
		bool skipped = false;

		for (size_t k = 0; k < img->nfiles; k++)
			if (img->files[k].rec->id == fr->file_id) {
				src = img->files[k].svc_fd;
				skipped = img->files[k].rec->kind < 64 &&
					  img->skip_kinds & 1ull << img->files[k].rec->kind;
			}
		if (skipped) /* --skip file:KIND (tests): the fd stays closed */
			continue;
		if (src < 0) {
			pr_err("Task %d: fd %d refers to file %llu, which was not opened\n",
			       t->rec->pid, fr->fd, (unsigned long long)fr->file_id);
			return -EBADF;
		}
		if (dup3(src, fr->fd, fr->cloexec ? O_CLOEXEC : 0) < 0) {
			pr_perror("Can't restore fd %d of task %d", fr->fd, t->rec->pid);
			return -errno;
		}
	}
	ret = install_kind_state(img, t);
	if (ret)
		return ret;
	close_service_fds(img);
	for (int fd = 0; fd <= img->max_fd; fd++)
		if (!task_has_fd(t, fd))
			close(fd);
	/* the restarter's own fds (image, log) are not the task's */
	return syscall(SYS_close_range, img->max_fd + 1, ~0U, 0) ? -errno : 0;
}
