// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Files reopened by path: regular files and directories that still have
 * a name, the plain character devices (/dev/null...), and O_PATH fds. The
 * file itself is not saved: only its identity (fsident.c), checked when it
 * is reopened, and its size, so that one written after the checkpoint can
 * be rolled back (cr_restore_opts.rollback_files) once the restore commits.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "files: "
#include "log.h"
#include "files.h"
#include "fsident.h"
#include "shmem.h"

static const char *const plain_chardevs[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random",
					     "/dev/urandom"};

static bool has_name(const struct fd_info *fi)
{
	return fi->link[0] == '/' && !strstr(fi->link, " (deleted)");
}

static bool recognise_reg(const struct fd_info *fi)
{
	mode_t m = fi->st.st_mode;

	/* an O_PATH fd is only a name: reopened by it, whatever it names */
	if (fi->flags & O_PATH)
		return has_name(fi);
	/* a memfd or deleted file is shmem_file_ops' */
	if ((S_ISREG(m) || S_ISDIR(m)) && has_name(fi) &&
	    !(S_ISREG(m) && shmem_kind_of(fi->link, false)))
		return true;
	for (size_t i = 0; S_ISCHR(m) && i < ARRAY_SIZE(plain_chardevs); i++)
		if (!strcmp(fi->link, plain_chardevs[i]))
			return true;
	return false;
}

static bool held_for_writing(const struct cr_file_rec *rec)
{
	return S_ISREG(rec->mode) && !(rec->flags & O_PATH) && (rec->flags & O_ACCMODE) != O_RDONLY;
}

static int dump_reg(struct cr_img *img, struct dump_ctx *ctx, const struct fd_info *fi,
		    struct cr_file_rec *rec)
{
	uint32_t flags = 0;
	char what[32];

	(void)img;
	(void)ctx;
	if (!S_ISREG(fi->st.st_mode) && !S_ISDIR(fi->st.st_mode))
		return 0; /* a plain character device: the path alone */
	if (!(fi->flags & O_PATH))
		rec->size = fi->st.st_size;
	if (held_for_writing(rec))
		flags = CR_FIDENT_WRITTEN;
	else if (S_ISREG(fi->st.st_mode))
		flags = CR_FIDENT_COPY_OK;
	snprintf(what, sizeof(what), "fd %d", fi->fd);
	return fident_dump(fi->root, fi->pid, what, fi->link, &fi->st, flags, &rec->ident);
}

/* A task and fd that hold file @id, to name in messages. */
static pid_t holder(const struct rst_image *img, uint32_t id, int *fd)
{
	for (size_t i = 0; i < img->ntasks; i++)
		for (size_t k = 0; k < img->tasks[i].nfds; k++)
			if (img->tasks[i].fds[k].file_id == id) {
				*fd = img->tasks[i].fds[k].fd;
				return img->tasks[i].rec->pid;
			}
	*fd = -1;
	return 0;
}

/*
 * Phase 1 of a rollback: a file held for writing must be at least as long
 * as at checkpoint. Nothing is changed here: cr_rollback truncates it.
 */
static int check_rollback(int fd, pid_t pid, const struct cr_file_rec *rec)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		pr_perror("Task %d: can't stat %s", pid, rec->path);
		return -errno;
	}
	if ((uint64_t)st.st_size < rec->size) {
		pr_err("Task %d: %s is %llu bytes, shorter than the %llu it had at checkpoint: "
		       "refusing to restore over a lost file\n",
		       pid, rec->path, (unsigned long long)st.st_size,
		       (unsigned long long)rec->size);
		return -ESTALE;
	}
	return 0;
}

/*
 * Reopening changes nothing: no O_CREAT or O_TRUNC, and O_APPEND only acts
 * on writes. The file must be the one recorded (fsident.c).
 */
static int open_reg(struct rst_image *img, const struct cr_restore_opts *opts,
		    const struct cr_file_rec *rec, int *fd)
{
	int flags = rec->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY), ret;
	char buf[CR_PATH_LEN], what[32];
	const char *path = remap_path(opts, rec->path, buf, sizeof(buf));
	int tfd;
	pid_t pid = holder(img, rec->id, &tfd);

	*fd = open(path, flags | O_CLOEXEC);
	if (*fd < 0) {
		pr_perror("Task %d: can't reopen %s (file %u)", pid, path, rec->id);
		return -errno;
	}
	snprintf(what, sizeof(what), "fd %d", tfd);
	ret = fident_verify_fd(*fd, &rec->ident, pid, what, path);
	if (!ret && opts && opts->rollback_files && held_for_writing(rec))
		ret = check_rollback(*fd, pid, rec);
	if (!ret && S_ISREG(rec->mode) && !(rec->flags & O_PATH) &&
	    lseek(*fd, rec->pos, SEEK_SET) < 0) {
		pr_perror("Can't seek %s to %llu", rec->path, (unsigned long long)rec->pos);
		ret = -errno;
	}
	if (ret) {
		close(*fd);
		*fd = -1;
	}
	return ret;
}

/* In the restarter, after open: keep an fd to roll the file back through at cr_rollback. */
int hold_for_rollback(struct rst_image *img, const struct cr_restore_opts *opts,
		      struct rst_img_file *f)
{
	if (!opts || !opts->rollback_files || f->rec->kind != CR_FILE_REG ||
	    !held_for_writing(f->rec))
		return 0;
	f->rb_fd = fcntl(f->svc_fd, F_DUPFD_CLOEXEC, img->max_fd + 16);
	if (f->rb_fd < 0) {
		pr_perror("Can't keep %s open for its rollback", f->rec->path);
		return -errno;
	}
	return 0;
}

void close_rollback_fds(struct rst_image *img)
{
	for (size_t i = 0; i < img->nfiles; i++)
		if (img->files[i].rb_fd >= 0) {
			close(img->files[i].rb_fd);
			img->files[i].rb_fd = -1;
		}
}

/* Whether files[0..n-1] hold the file @st is already: it is rolled back once. */
static bool rolled_already(const struct rst_image *img, size_t n, const struct stat *st)
{
	struct stat o;

	for (size_t i = 0; i < n; i++)
		if (img->files[i].rb_fd >= 0 && !fstat(img->files[i].rb_fd, &o) &&
		    o.st_dev == st->st_dev && o.st_ino == st->st_ino)
			return true;
	return false;
}

/*
 * At cr_rollback, the tasks built and stopped: every file held for writing
 * goes back to its size at checkpoint, each file once. All are checked
 * before any is cut, so a file that shrank meanwhile cuts nothing.
 */
int rollback_reg_files(struct rst_image *img, const struct cr_rollback_keep *keep)
{
	struct keep_state ks = {.keep = keep};
	struct stat st;

	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < img->nfiles; i++) {
			const struct cr_file_rec *rec = img->files[i].rec;
			int fd = img->files[i].rb_fd, tfd, ret;
			pid_t pid = holder(img, rec->id, &tfd);

			if (fd < 0)
				continue;
			if (pass == 0 && (ret = check_rollback(fd, pid, rec)))
				return ret;
			if (pass == 0 || fstat(fd, &st) < 0 || rolled_already(img, i, &st) ||
			    (uint64_t)st.st_size == rec->size)
				continue;
			pr_info("%s grew since the checkpoint: truncating it from %llu back to "
				"%llu bytes\n",
				rec->path, (unsigned long long)st.st_size,
				(unsigned long long)rec->size);
			if (keep && (ret = keep_tail(&ks, fd, rec->path, rec->size, st.st_size)))
				return ret;
			if (ftruncate(fd, rec->size) < 0) {
				pr_perror("Task %d: can't truncate %s back to %llu bytes", pid,
					  rec->path, (unsigned long long)rec->size);
				return -errno;
			}
		}
	return 0;
}

const struct file_ops reg_file_ops = {
	.name = "file",
	.kind = CR_FILE_REG,
	.recognise = recognise_reg,
	.dump = dump_reg,
	.open = open_reg,
};
