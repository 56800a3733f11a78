// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * eventfd: its counter and EFD_SEMAPHORE from fdinfo ("eventfd-count:",
 * "eventfd-semaphore:", both shown by this kernel), O_NONBLOCK from the
 * file's flags. All of it fits the cr_file_rec: the counter in pos, the
 * semaphore flag in size. Restore: eventfd() with the counter (a count
 * above UINT_MAX is added by one write), then the status flags.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "eventfd: "
#include "log.h"
#include "files.h"

static bool recognise_eventfd(const struct fd_info *fi)
{
	return !strcmp(fi->link, "anon_inode:[eventfd]");
}

/* The counter and semaphore flag of one eventfd, from its fdinfo. */
static int read_eventfd(const struct fd_info *fi, uint64_t *count, bool *sem)
{
	char *s = proc_read_file("/proc/%d/fdinfo/%d", fi->pid, fi->fd), *p;
	int ret = 0;

	if (!s) {
		pr_perror("Can't read fdinfo of task %d fd %d", fi->pid, fi->fd);
		return errno ? -errno : -EIO;
	}
	p = strstr(s, "eventfd-count:");
	if (p)
		*count = strtoull(p + strlen("eventfd-count:"), NULL, 16);
	/* 6.x kernels show the flag; without it, a semaphore can't be told apart */
	*sem = strstr(s, "eventfd-semaphore: 1") != NULL;
	if (!p || !strstr(s, "eventfd-semaphore:")) {
		pr_err("Task %d fd %d: fdinfo shows no eventfd counter or semaphore flag\n",
		       fi->pid, fi->fd);
		ret = -ENOTSUP;
	}
	free(s);
	return ret;
}

static int check_eventfd(const struct fd_info *fi)
{
	uint64_t count;
	bool sem;

	return read_eventfd(fi, &count, &sem);
}

static int dump_eventfd(struct cr_img *img, struct dump_ctx *ctx, const struct fd_info *fi,
			struct cr_file_rec *rec)
{
	bool sem = false;
	int ret;

	(void)img;
	(void)ctx;
	ret = read_eventfd(fi, &rec->pos, &sem);
	rec->size = sem;
	return ret;
}

static int open_eventfd(struct rst_image *img, const struct cr_restore_opts *opts,
			const struct cr_file_rec *rec, int *fd)
{
	uint64_t rest = rec->pos > UINT_MAX ? rec->pos - UINT_MAX : 0;
	int err;

	(void)img;
	(void)opts;
	if (rec->pos == UINT64_MAX) { /* a write of that much would block for good */
		pr_err("eventfd (file %u): counter %llu is out of range\n", rec->id,
		       (unsigned long long)rec->pos);
		return -EBADMSG;
	}
	*fd = eventfd(rec->pos - rest, EFD_CLOEXEC | (rec->size ? EFD_SEMAPHORE : 0));
	if (*fd < 0) {
		pr_perror("Can't create eventfd (file %u, count %llu)", rec->id,
			  (unsigned long long)rec->pos);
		return -errno;
	}
	if ((rest && write(*fd, &rest, sizeof(rest)) != sizeof(rest)) ||
	    fcntl(*fd, F_SETFL, rec->flags & O_NONBLOCK) < 0) {
		err = errno ? errno : EIO;
		pr_perror("Can't set up eventfd (file %u, count %llu)", rec->id,
			  (unsigned long long)rec->pos);
		close(*fd);
		*fd = -1;
		return -err;
	}
	return 0;
}

const struct file_ops eventfd_ops = {
	.name = "eventfd",
	.kind = CR_FILE_EVENTFD,
	.recognise = recognise_eventfd,
	.check = check_eventfd,
	.dump = dump_eventfd,
	.open = open_eventfd,
};
