// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Pipes and FIFOs: each pipe once (a cr_pipe_rec), with its buffer size and
 * the bytes queued in it, copied with tee() so the running tree loses
 * nothing. Restore: the restarter makes every pipe before forking, so all
 * users share it. A FIFO's pipe is held open read-write by the restarter;
 * each open file of it is reopened by path (fifo_ops), while an anonymous
 * pipe's ends are duplicated (pipe_ops, which collects and prepares both).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "pipes: "
#include "log.h"
#include "files.h"

static bool recognise_pipe(const struct fd_info *fi)
{
	return S_ISFIFO(fi->st.st_mode) && !strncmp(fi->link, "pipe:[", 6);
}

static bool recognise_fifo(const struct fd_info *fi)
{
	return S_ISFIFO(fi->st.st_mode) && fi->link[0] == '/';
}

/* The bytes queued in the pipe, copied through a scratch pipe: tee() leaves them. */
static int read_queued(int rfd, uint64_t id, uint32_t size, char *buf, uint32_t *ndata)
{
	int tmp[2], ret = -EIO;
	ssize_t n, got = 0;

	if (pipe2(tmp, O_CLOEXEC | O_NONBLOCK) < 0) {
		pr_perror("Can't make a scratch pipe to copy pipe %llu", (unsigned long long)id);
		return -errno;
	}
	if (fcntl(tmp[1], F_SETPIPE_SZ, size) < 0) {
		ret = -errno;
		pr_perror("Can't size a scratch pipe to %u for pipe %llu", size,
			  (unsigned long long)id);
		goto out;
	}
	n = tee(rfd, tmp[1], size, SPLICE_F_NONBLOCK);
	if (n < 0 && errno != EAGAIN) {
		ret = -errno;
		pr_perror("Can't copy the contents of pipe %llu", (unsigned long long)id);
		goto out;
	}
	while (n > 0 && got < n) {
		ssize_t r = read(tmp[0], buf + got, n - got);

		if (r < 0) {
			ret = -errno;
			pr_perror("Can't read the copied contents of pipe %llu",
				  (unsigned long long)id);
			goto out;
		}
		if (r == 0) {
			pr_err("Copied contents of pipe %llu end early\n", (unsigned long long)id);
			goto out;
		}
		got += r;
	}
	*ndata = got;
	ret = 0;
out:
	close(tmp[0]);
	close(tmp[1]);
	return ret;
}

/* One pipe record: size, path (FIFO) and queued bytes, read through a new open of the fd. */
static int dump_one_pipe(struct cr_img *img, const struct fd_info *fi, uint64_t id, bool fifo)
{
	struct cr_pipe_rec *rec = calloc(1, sizeof(*rec));
	char path[64], *buf = NULL;
	int rfd, sz, ret = -ENOMEM;

	if (!rec) {
		pr_err("No memory for pipe %llu\n", (unsigned long long)id);
		return -ENOMEM;
	}
	*rec = (struct cr_pipe_rec){.id = id, .fifo = fifo};
	if (fifo)
		snprintf(rec->path, sizeof(rec->path), "%s", fi->link);
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", fi->pid, fi->fd);
	rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rfd < 0) {
		ret = -errno;
		pr_perror("Can't open pipe %llu of task %d (fd %d)", (unsigned long long)id,
			  fi->pid, fi->fd);
		goto out;
	}
	sz = fcntl(rfd, F_GETPIPE_SZ);
	if (sz < 0) {
		ret = -errno;
		pr_perror("Can't get the size of pipe %llu (task %d fd %d)", (unsigned long long)id,
			  fi->pid, fi->fd);
		goto out_close;
	}
	buf = malloc(sz);
	if (!buf) {
		pr_err("No memory for the %d bytes of pipe %llu\n", sz, (unsigned long long)id);
		goto out_close;
	}
	rec->size = sz;
	ret = read_queued(rfd, id, sz, buf, &rec->ndata);
	if (!ret)
		ret = cr_img_write2(img, CR_REC_PIPE, rec, sizeof(*rec), buf, rec->ndata);
out_close:
	close(rfd);
out:
	free(buf);
	free(rec);
	return ret;
}

/* The pipe (its inode) is written once, with the first fd found on it. */
static int dump_pipe(struct cr_img *img, struct dump_ctx *ctx, const struct fd_info *fi,
		     struct cr_file_rec *rec)
{
	int ret;

	rec->obj_id = fi->st.st_ino;
	ret = claim_dump_object(ctx, CR_REC_PIPE, rec->obj_id);
	if (ret <= 0)
		return ret;
	return dump_one_pipe(img, fi, rec->obj_id, rec->kind == CR_FILE_FIFO);
}

static int collect_pipe(struct cr_img *img, const struct cr_rec_hdr *h, struct rst_file_obj *obj)
{
	struct cr_pipe_rec *pr = obj->rec;
	int ret;

	ret = image_check_len(img, h, sizeof(*pr), h->len < sizeof(*pr) ? 0 : pr->ndata);
	if (ret)
		return ret;
	obj->id = pr->id;
	return 0;
}

/*
 * The restarter's own open of a FIFO: read-write, so it never blocks; at the
 * remapped path, as the tasks' opens (open_fifo) are.
 */
static int open_fifo_ends(const struct cr_restore_opts *opts, const struct cr_pipe_rec *rec,
			  int p[2])
{
	char buf[CR_PATH_LEN];
	const char *path = remap_path(opts, rec->path, buf, sizeof(buf));

	p[0] = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	p[1] = p[0] < 0 ? -1 : fcntl(p[0], F_DUPFD_CLOEXEC, 0);
	if (p[1] < 0) {
		int err = errno;

		pr_perror("Can't open FIFO %s", path);
		if (p[0] >= 0)
			close(p[0]);
		return -err;
	}
	return 0;
}

/*
 * The status flags F_SETFL changes, set again on each end: O_DIRECT is a
 * pipe's packet mode, O_ASYNC without its owner (F_SETOWN is not kept).
 */
#define PIPE_SETFL (O_APPEND | O_NONBLOCK | O_DIRECT | O_ASYNC | O_NOATIME)

/* Make the pipe, size it, refill it; both ends become service fds. */
static int prepare_pipe(struct rst_image *img, const struct cr_restore_opts *opts,
			struct rst_file_obj *obj)
{
	const struct cr_pipe_rec *rec = obj->rec;
	int p[2], ret;

	(void)img;
	if (rec->fifo) {
		ret = open_fifo_ends(opts, rec, p);
		if (ret)
			return ret;
	} else if (pipe2(p, O_CLOEXEC) < 0) {
		pr_perror("Can't create pipe %llu", (unsigned long long)rec->id);
		return -errno;
	}
	/* the ends are the image's now: closed with the other service fds */
	obj->svc_fd[0] = p[0];
	obj->svc_fd[1] = p[1];
	if (fcntl(p[1], F_GETPIPE_SZ) != (int)rec->size &&
	    fcntl(p[1], F_SETPIPE_SZ, rec->size) < 0) {
		pr_perror("Can't size pipe %llu to %u bytes", (unsigned long long)rec->id,
			  rec->size);
		return -errno;
	}
	if (rec->ndata && write(p[1], rec + 1, rec->ndata) != (ssize_t)rec->ndata) {
		pr_perror("Can't refill pipe %llu", (unsigned long long)rec->id);
		return -EIO;
	}
	return 0;
}

static int open_pipe(struct rst_image *img, const struct cr_restore_opts *opts,
		     const struct cr_file_rec *rec, int *fd)
{
	struct rst_file_obj *obj = find_file_obj(img, CR_REC_PIPE, rec->obj_id);

	(void)opts;
	if (!obj) {
		pr_err("Pipe %llu of file %u is missing from the image\n",
		       (unsigned long long)rec->obj_id, rec->id);
		return -EINVAL;
	}
	*fd = fcntl(obj->svc_fd[(rec->flags & O_ACCMODE) == O_RDONLY ? 0 : 1], F_DUPFD_CLOEXEC, 0);
	if (*fd < 0 || fcntl(*fd, F_SETFL, rec->flags & PIPE_SETFL) < 0) {
		int err = errno;

		pr_perror("Can't set up pipe %llu", (unsigned long long)rec->obj_id);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -err;
	}
	return 0;
}

/* The restarter holds the FIFO open read-write (prepare_pipe): this open cannot block. */
static int open_fifo(struct rst_image *img, const struct cr_restore_opts *opts,
		     const struct cr_file_rec *rec, int *fd)
{
	char buf[CR_PATH_LEN];

	(void)img;
	*fd = open(remap_path(opts, rec->path, buf, sizeof(buf)),
		   (rec->flags & ~(O_CREAT | O_EXCL | O_TRUNC | PIPE_SETFL)) | O_NONBLOCK |
			   O_CLOEXEC);
	if (*fd < 0 || fcntl(*fd, F_SETFL, rec->flags & PIPE_SETFL) < 0) {
		int err = errno;

		pr_perror("Can't reopen FIFO %s", rec->path);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -err;
	}
	return 0;
}

const struct file_ops pipe_ops = {
	.name = "pipe",
	.kind = CR_FILE_PIPE,
	.obj_type = CR_REC_PIPE,
	.recognise = recognise_pipe,
	.dump = dump_pipe,
	.collect = collect_pipe,
	.prepare = prepare_pipe,
	.open = open_pipe,
};

/* A FIFO's pipe is a CR_REC_PIPE object too: pipe_ops collects and prepares it. */
const struct file_ops fifo_ops = {
	.name = "fifo",
	.kind = CR_FILE_FIFO,
	.recognise = recognise_fifo,
	.dump = dump_pipe,
	.open = open_fifo,
};
