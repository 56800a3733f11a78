// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Pipes: each pipe once, with its buffer size and the bytes queued in it,
 * copied with tee() so the running tree loses nothing. Restore: the
 * restarter makes every pipe before forking, so all users share it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "pipes: "
#include "log.h"
#include "internal.h"
#include "restore.h"

static int read_queued(int rfd, uint32_t size, char *buf, uint32_t *ndata)
{
	int tmp[2];
	ssize_t n, got = 0;

	if (pipe2(tmp, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	if (fcntl(tmp[1], F_SETPIPE_SZ, size) < 0) {
		pr_perror("Can't size a scratch pipe to %u", size);
		goto err;
	}
	n = tee(rfd, tmp[1], size, SPLICE_F_NONBLOCK);
	if (n < 0 && errno != EAGAIN) {
		pr_perror("Can't copy pipe contents");
		goto err;
	}
	while (n > 0 && got < n) {
		ssize_t r = read(tmp[0], buf + got, n - got);

		if (r <= 0)
			goto err;
		got += r;
	}
	*ndata = got;
	close(tmp[0]);
	close(tmp[1]);
	return 0;
err:
	close(tmp[0]);
	close(tmp[1]);
	return -EIO;
}

int pipes_dump_one(struct cr_img *img, pid_t pid, int fd, uint64_t id, const char *fifo_path)
{
	struct cr_pipe_rec *rec = calloc(1, sizeof(*rec));
	char path[64], *buf;
	int rfd, sz, ret;

	if (!rec)
		return -ENOMEM;
	rec->id = id;
	rec->fifo = fifo_path != NULL;
	if (fifo_path)
		snprintf(rec->path, sizeof(rec->path), "%s", fifo_path);
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rfd < 0) {
		pr_perror("Can't open pipe %llu of task %d (fd %d)", (unsigned long long)id, pid,
			  fd);
		free(rec);
		return -errno;
	}
	sz = fcntl(rfd, F_GETPIPE_SZ);
	buf = sz > 0 ? malloc(sz) : NULL;
	if (!buf) {
		close(rfd);
		free(rec);
		return -ENOMEM;
	}
	rec->size = sz;
	ret = read_queued(rfd, sz, buf, &rec->ndata);
	close(rfd);
	if (ret)
		pr_err("Can't read the data of pipe %llu (task %d fd %d)\n", (unsigned long long)id,
		       pid, fd);
	else
		ret = cr_img_write2(img, CR_REC_PIPE, rec, sizeof(*rec), buf, rec->ndata);
	free(buf);
	free(rec);
	return ret;
}

/* Restore: make the pipe, size it, refill it; both ends become service fds. */
int pipes_restore_one(const struct cr_pipe_rec *rec, const void *data, int ends[2])
{
	int p[2];

	if (rec->fifo) {
		/* read-write: opening never blocks and holds the data for the real opens */
		p[0] = open(rec->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		p[1] = p[0] < 0 ? -1 : dup(p[0]);
		if (p[1] < 0) {
			pr_perror("Can't open FIFO %s", rec->path);
			if (p[0] >= 0)
				close(p[0]);
			return -errno;
		}
	} else if (pipe2(p, O_CLOEXEC) < 0) {
		pr_perror("Can't create pipe %llu", (unsigned long long)rec->id);
		return -errno;
	}
	if (fcntl(p[1], F_GETPIPE_SZ) != (int)rec->size &&
	    fcntl(p[1], F_SETPIPE_SZ, rec->size) < 0) {
		pr_perror("Can't size pipe %llu to %u bytes", (unsigned long long)rec->id,
			  rec->size);
		goto err;
	}
	if (rec->ndata && write(p[1], data, rec->ndata) != (ssize_t)rec->ndata) {
		pr_perror("Can't refill pipe %llu", (unsigned long long)rec->id);
		goto err;
	}
	ends[0] = p[0];
	ends[1] = p[1];
	return 0;
err:
	close(p[0]);
	close(p[1]);
	return -EIO;
}
