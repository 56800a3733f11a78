// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * File descriptors and the open files behind them. An open file description
 * shared by several fds or tasks (same kcmp KCMP_FILE) is one object, made
 * once at restore by the restarter and inherited by every task, so offsets
 * stay shared. The root task's stdio is "inherited": the restarter's fds
 * stand in for it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "files: "
#include "log.h"
#include "internal.h"
#include "restore.h"

struct file_obj {
	uint32_t id;
	dev_t dev;
	ino_t ino;
	pid_t pid;
	int fd;
};

struct files_ctx {
	struct file_obj *objs;
	size_t nobjs;
	uint64_t *pipes;
	size_t npipes;
};

static const char *const std_keys[] = {"stdin", "stdout", "stderr"};

static const char *const plain_chardevs[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random",
					     "/dev/urandom"};

static struct files_ctx *files_ctx(struct dump_ctx *ctx)
{
	if (!ctx->files)
		ctx->files = calloc(1, sizeof(struct files_ctx));
	return ctx->files;
}

void files_dump_free(struct dump_ctx *ctx)
{
	struct files_ctx *fc = ctx->files;

	if (fc) {
		free(fc->objs);
		free(fc->pipes);
		free(fc);
	}
	ctx->files = NULL;
}

int files_dump_finish(struct cr_img *img, struct dump_ctx *ctx)
{
	(void)img;
	(void)ctx;
	return 0;
}

static int read_fdinfo(pid_t pid, int fd, uint64_t *pos, uint32_t *flags)
{
	char *s = proc_read_file("/proc/%d/fdinfo/%d", pid, fd);
	char *p;

	if (!s)
		return errno ? -errno : -EIO;
	p = strstr(s, "pos:");
	*pos = p ? strtoull(p + 4, NULL, 10) : 0;
	p = strstr(s, "flags:");
	*flags = p ? strtoul(p + 6, NULL, 8) : 0;
	free(s);
	return 0;
}

static struct file_obj *find_same_file(struct files_ctx *fc, const struct stat *st, pid_t pid,
				       int fd)
{
	for (size_t i = 0; i < fc->nobjs; i++) {
		struct file_obj *o = &fc->objs[i];

		if (o->dev == st->st_dev && o->ino == st->st_ino &&
		    syscall(SYS_kcmp, o->pid, pid, KCMP_FILE, o->fd, fd) == 0)
			return o;
	}
	return NULL;
}

static bool pipe_seen(struct files_ctx *fc, uint64_t id)
{
	for (size_t i = 0; i < fc->npipes; i++)
		if (fc->pipes[i] == id)
			return true;
	return false;
}

/* Decide how a new open file is restored; -ENOTSUP names what is not supported. */
static int classify_file(struct cr_img *img, struct dump_ctx *ctx, pid_t pid, int fd,
			 const struct stat *st, struct cr_file_rec *rec)
{
	struct files_ctx *fc = ctx->files;
	uint32_t kind = S_ISREG(st->st_mode) ? shmem_kind_of(rec->path, false) : 0;

	/* an O_PATH fd is only a name: reopened by it, whatever it names */
	if ((rec->flags & O_PATH) && rec->path[0] == '/' && !strstr(rec->path, " (deleted)")) {
		rec->kind = CR_FILE_REG;
		return 0;
	}
	if (kind) {
		char link[64];

		snprintf(link, sizeof(link), "/proc/%d/fd/%d", pid, fd);
		rec->kind = CR_FILE_SHMEM;
		return shmem_dump_object(img, ctx, link, kind, rec->path, &rec->obj_id);
	}
	if (S_ISFIFO(st->st_mode) && (!strncmp(rec->path, "pipe:[", 6) || rec->path[0] == '/')) {
		bool fifo = rec->path[0] == '/';

		rec->kind = fifo ? CR_FILE_FIFO : CR_FILE_PIPE;
		rec->obj_id = st->st_ino;
		if (!pipe_seen(fc, rec->obj_id)) {
			uint64_t *np = realloc(fc->pipes, (fc->npipes + 1) * sizeof(*np));
			int ret;

			if (!np)
				return -ENOMEM;
			fc->pipes = np;
			np[fc->npipes++] = rec->obj_id;
			ret = pipes_dump_one(img, pid, fd, rec->obj_id, fifo ? rec->path : NULL);
			if (ret)
				return ret;
		}
		return 0;
	}
	if ((S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) && rec->path[0] == '/' &&
	    !strstr(rec->path, " (deleted)")) {
		rec->kind = CR_FILE_REG;
		rec->size = st->st_size;
		return 0;
	}
	if (S_ISCHR(st->st_mode))
		for (size_t i = 0; i < ARRAY_SIZE(plain_chardevs); i++)
			if (!strcmp(rec->path, plain_chardevs[i])) {
				rec->kind = CR_FILE_REG;
				return 0;
			}
	pr_err("Task %d fd %d (%s) is not supported yet\n", pid, fd, rec->path);
	return -ENOTSUP;
}

static int add_file(struct cr_img *img, struct dump_ctx *ctx, pid_t pid, int fd,
		    const struct stat *st, const char *inherit_key, uint32_t *id)
{
	struct cr_file_rec *rec = calloc(1, sizeof(*rec));
	struct files_ctx *fc = ctx->files;
	struct file_obj *no;
	int ret;

	if (!rec)
		return -ENOMEM;
	rec->id = fc->nobjs + 1;
	rec->mode = st->st_mode;
	ret = read_fdinfo(pid, fd, &rec->pos, &rec->flags);
	if (!ret)
		ret = proc_readlink(rec->path, sizeof(rec->path), "/proc/%d/fd/%d", pid, fd);
	if (ret) {
		pr_err("Can't inspect fd %d of task %d\n", fd, pid);
		goto out;
	}
	if (inherit_key) {
		rec->kind = CR_FILE_INHERIT;
		snprintf(rec->path, sizeof(rec->path), "%s", inherit_key);
	} else {
		ret = classify_file(img, ctx, pid, fd, st, rec);
		if (ret)
			goto out;
	}
	ret = cr_img_write(img, CR_REC_FILE, rec, sizeof(*rec));
	if (ret)
		goto out;
	no = realloc(fc->objs, (fc->nobjs + 1) * sizeof(*no));
	if (!no) {
		ret = -ENOMEM;
		goto out;
	}
	fc->objs = no;
	no[fc->nobjs++] = (struct file_obj){rec->id, st->st_dev, st->st_ino, pid, fd};
	*id = rec->id;
out:
	free(rec);
	return ret;
}

static int dump_one_fd(struct cr_img *img, struct dump_ctx *ctx, bool is_root, pid_t pid,
		       pid_t ns_pid, int fd)
{
	struct files_ctx *fc = ctx->files;
	struct cr_fd_rec rec = {.pid = ns_pid, .fd = fd};
	struct file_obj *same = NULL;
	uint64_t pos = 0;
	uint32_t flags = 0;
	char path[64];
	struct stat st;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	if (stat(path, &st) < 0) {
		pr_perror("Can't stat fd %d of task %d", fd, pid);
		return -errno;
	}
	if (read_fdinfo(pid, fd, &pos, &flags))
		return -EIO;
	rec.cloexec = !!(flags & O_CLOEXEC);
	/* the root's stdio always stands for the restarter's own */
	if (!(is_root && fd <= 2))
		same = find_same_file(fc, &st, pid, fd);
	if (same) {
		rec.file_id = same->id;
	} else {
		ret = add_file(img, ctx, pid, fd, &st, is_root && fd <= 2 ? std_keys[fd] : NULL,
			       &rec.file_id);
		if (ret)
			return ret;
	}
	return cr_img_write(img, CR_REC_FD, &rec, sizeof(rec));
}

int dump_fds(struct cr_img *img, struct dump_ctx *ctx, struct cr_frozen *f, struct cr_task *t)
{
	struct files_ctx *fc = files_ctx(ctx);
	int *fds = NULL, ret = 0;
	size_t nfds = 0;
	struct dirent *de;
	char path[64];
	DIR *d;

	if (!fc)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/fd", t->pid);
	d = opendir(path);
	if (!d) {
		pr_perror("Can't list fds of task %d", t->pid);
		return -errno;
	}
	while ((de = readdir(d))) {
		int *nf;

		if (de->d_name[0] == '.')
			continue;
		nf = realloc(fds, (nfds + 1) * sizeof(*nf));
		if (!nf) {
			ret = -ENOMEM;
			break;
		}
		fds = nf;
		fds[nfds++] = atoi(de->d_name);
	}
	closedir(d);
	/* ascending, so the root's 0, 1, 2 come first */
	for (size_t i = 0; i < nfds; i++)
		for (size_t j = i + 1; j < nfds; j++)
			if (fds[j] < fds[i]) {
				int tmp = fds[i];

				fds[i] = fds[j];
				fds[j] = tmp;
			}
	for (size_t i = 0; i < nfds && !ret; i++)
		ret = dump_one_fd(img, ctx, t->pid == f->root, t->pid, t->ns_pid, fds[i]);
	free(fds);
	return ret;
}

/* One read of fdinfo: is the fd O_PATH, does it hold a lock or lease? */
static int fd_kind_info(pid_t pid, int fd, bool *opath, bool *locked)
{
	char *s = proc_read_file("/proc/%d/fdinfo/%d", pid, fd), *p;

	if (!s)
		return -ENOENT;
	p = strstr(s, "flags:");
	*opath = p && (strtoul(p + 6, NULL, 8) & O_PATH);
	*locked = strstr(s, "\nlock:") != NULL;
	free(s);
	return 0;
}

/* Before anything is written: every fd must be one we can restore. */
int files_check(struct cr_frozen *f, struct cr_task *t)
{
	char path[64], link[CR_PATH_LEN];
	struct dirent *de;
	struct stat st;
	int ret = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", t->pid);
	d = opendir(path);
	if (!d) {
		pr_perror("Can't list fds of task %d", t->pid);
		return -errno;
	}
	while ((de = readdir(d)) && !ret) {
		int fd = atoi(de->d_name);
		bool ok = false, opath, locked;

		if (de->d_name[0] == '.' || (t->pid == f->root && fd <= 2))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", t->pid, fd);
		if (stat(path, &st) < 0 || proc_readlink(link, sizeof(link), "%s", path) ||
		    fd_kind_info(t->pid, fd, &opath, &locked))
			continue; /* closed meanwhile */
		ok = (opath && link[0] == '/' && !strstr(link, " (deleted)")) ||
		     (S_ISFIFO(st.st_mode) && (!strncmp(link, "pipe:[", 6) || link[0] == '/')) ||
		     ((S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) && link[0] == '/' &&
		      !strstr(link, " (deleted)")) ||
		     (S_ISREG(st.st_mode) && shmem_kind_of(link, false));
		for (size_t i = 0; !ok && S_ISCHR(st.st_mode) && i < ARRAY_SIZE(plain_chardevs);
		     i++)
			ok = !strcmp(link, plain_chardevs[i]);
		/* a file shared with the root's stdio is inherited too */
		for (int k = 0; !ok && k <= 2; k++)
			ok = syscall(SYS_kcmp, f->root, t->pid, KCMP_FILE, k, fd) == 0;
		if (!ok) {
			pr_err("Task %d fd %d (%s) is not supported yet\n", t->pid, fd, link);
			ret = -ENOTSUP;
		} else if (locked) {
			pr_err("Task %d fd %d (%s) holds a file lock or lease: not supported yet\n",
			       t->pid, fd, link);
			ret = -ENOTSUP;
		}
	}
	closedir(d);
	return ret;
}

/* ---- restore ---- */

static const char *remap_path(const struct cr_restore_opts *opts, const char *path, char *buf,
			      size_t len)
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

static int inherited_fd(const struct cr_restore_opts *opts, const char *key)
{
	for (size_t i = 0; opts && i < opts->ninherit; i++)
		if (!strcmp(opts->inherit[i].key, key))
			return opts->inherit[i].fd;
	for (int i = 0; i < 3; i++)
		if (!strcmp(key, std_keys[i]))
			return i;
	return -1;
}

/* A file written after the checkpoint goes back to its size then. */
static int rollback_file(int fd, const struct cr_file_rec *rec)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size < rec->size) {
		pr_err("%s is %llu bytes, shorter than the %llu it had at checkpoint: refusing to "
		       "restore over a lost file\n",
		       rec->path, (unsigned long long)st.st_size, (unsigned long long)rec->size);
		return -ESTALE;
	}
	if ((uint64_t)st.st_size > rec->size) {
		pr_info("%s grew since the checkpoint: truncating it from %llu back to %llu "
			"bytes\n",
			rec->path, (unsigned long long)st.st_size, (unsigned long long)rec->size);
		if (ftruncate(fd, rec->size) < 0) {
			pr_perror("Can't truncate %s back to %llu bytes", rec->path,
				  (unsigned long long)rec->size);
			return -errno;
		}
	}
	return 0;
}

static int open_one_file(struct rst_image *img, const struct cr_restore_opts *opts,
			 const struct cr_file_rec *rec, int base)
{
	int fd = -1, nfd, flags, ret;
	char buf[CR_PATH_LEN];

	switch (rec->kind) {
	case CR_FILE_INHERIT:
		fd = inherited_fd(opts, rec->path);
		if (fd < 0 || fcntl(fd, F_GETFD) < 0) {
			pr_err("No fd given for inherited file \"%s\"\n", rec->path);
			return -EBADF;
		}
		return fcntl(fd, F_DUPFD_CLOEXEC, base);
	case CR_FILE_SHMEM:
		/* its own open file description: own flags and offset */
		snprintf(buf, sizeof(buf), "/proc/self/fd/%d", shmem_fd(img, rec->obj_id));
		nfd = open(buf,
			   (rec->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY)) | O_CLOEXEC);
		if (nfd < 0 || lseek(nfd, rec->pos, SEEK_SET) < 0) {
			pr_perror("Can't reopen %s (file %u)", rec->path, rec->id);
			if (nfd >= 0)
				close(nfd);
			return -errno;
		}
		break;
	case CR_FILE_FIFO:
		/* the restarter holds it open read-write: this open cannot block */
		nfd = open(remap_path(opts, rec->path, buf, sizeof(buf)),
			   (rec->flags & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_NONBLOCK | O_CLOEXEC);
		if (nfd < 0 || fcntl(nfd, F_SETFL, rec->flags & O_NONBLOCK) < 0) {
			pr_perror("Can't reopen FIFO %s", rec->path);
			return -errno;
		}
		break;
	case CR_FILE_PIPE:
		for (size_t i = 0; i < img->npipes; i++)
			if (img->pipes[i].rec->id == rec->obj_id)
				fd = img->pipes[i]
					     .ends[(rec->flags & O_ACCMODE) == O_RDONLY ? 0 : 1];
		if (fd < 0) {
			pr_err("Pipe %llu of file %u is missing from the image\n",
			       (unsigned long long)rec->obj_id, rec->id);
			return -EINVAL;
		}
		nfd = fcntl(fd, F_DUPFD_CLOEXEC, base);
		if (nfd < 0 || fcntl(nfd, F_SETFL, rec->flags & O_NONBLOCK) < 0) {
			pr_perror("Can't set up pipe %llu", (unsigned long long)rec->obj_id);
			return -errno;
		}
		return nfd;
	default:
		flags = rec->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY);
		nfd = open(remap_path(opts, rec->path, buf, sizeof(buf)), flags | O_CLOEXEC);
		if (nfd < 0) {
			pr_perror("Can't reopen %s (file %u)", rec->path, rec->id);
			return -errno;
		}
		if (opts && opts->rollback_files && S_ISREG(rec->mode) &&
		    (rec->flags & O_ACCMODE) != O_RDONLY && (ret = rollback_file(nfd, rec))) {
			close(nfd);
			return ret;
		}
		if (S_ISREG(rec->mode) && !(rec->flags & O_PATH) &&
		    lseek(nfd, rec->pos, SEEK_SET) < 0) {
			pr_perror("Can't seek %s to %llu", rec->path, (unsigned long long)rec->pos);
			close(nfd);
			return -errno;
		}
		break;
	}
	fd = fcntl(nfd, F_DUPFD_CLOEXEC, base);
	close(nfd);
	return fd;
}

/* In the restarter, before anything forks: every pipe and file, once. */
int files_prepare(struct rst_image *img, const struct cr_restore_opts *opts)
{
	int base = img->max_fd + 16;

	for (size_t i = 0; i < img->npipes; i++) {
		int ends[2], ret;

		ret = pipes_restore_one(img->pipes[i].rec, img->pipes[i].data, ends);
		if (ret)
			return ret;
		img->pipes[i].ends[0] = fcntl(ends[0], F_DUPFD_CLOEXEC, base);
		img->pipes[i].ends[1] = fcntl(ends[1], F_DUPFD_CLOEXEC, base);
		close(ends[0]);
		close(ends[1]);
		if (img->pipes[i].ends[0] < 0 || img->pipes[i].ends[1] < 0)
			return -EMFILE;
	}
	for (size_t i = 0; i < img->nfiles; i++) {
		img->files[i].svc_fd = open_one_file(img, opts, img->files[i].rec, base);
		if (img->files[i].svc_fd < 0)
			return img->files[i].svc_fd;
	}
	return 0;
}

void files_close_service(struct rst_image *img)
{
	for (size_t i = 0; i < img->npipes; i++)
		for (int k = 0; k < 2; k++)
			if (img->pipes[i].ends[k] >= 0) {
				close(img->pipes[i].ends[k]);
				img->pipes[i].ends[k] = -1;
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

/* In a task, before the restorer: exactly its fds, nothing else. */
int files_restore_task(struct rst_image *img, struct rst_img_task *t)
{
	for (size_t i = 0; i < t->nfds; i++) {
		const struct cr_fd_rec *fr = &t->fds[i];
		int src = -1;

		for (size_t k = 0; k < img->nfiles; k++)
			if (img->files[k].rec->id == fr->file_id)
				src = img->files[k].svc_fd;
		if (src < 0 || dup3(src, fr->fd, fr->cloexec ? O_CLOEXEC : 0) < 0) {
			pr_perror("Can't restore fd %d of task %d", fr->fd, t->rec->pid);
			return -EBADF;
		}
	}
	files_close_service(img);
	for (int fd = 0; fd <= img->max_fd; fd++)
		if (!task_has_fd(t, fd))
			close(fd);
	/* the restarter's own fds (image, log) are not the task's */
	return syscall(SYS_close_range, img->max_fd + 1, ~0U, 0) ? -errno : 0;
}
