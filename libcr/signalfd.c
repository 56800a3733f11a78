// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * signalfd: its mask (fdinfo "sigmask:") and O_NONBLOCK; the mask fits the
 * cr_file_rec (in size). The signals it would read are the task's pending
 * signals, which signals.c restores: nothing is queued in the file itself.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "signalfd: "
#include "log.h"
#include "files.h"

static bool recognise_signalfd(const struct fd_info *fi)
{
	return !strcmp(fi->link, "anon_inode:[signalfd]");
}

static int read_sigmask(const struct fd_info *fi, uint64_t *mask)
{
	char *s = proc_read_file("/proc/%d/fdinfo/%d", fi->pid, fi->fd), *p;

	if (!s) {
		pr_perror("Can't read fdinfo of task %d fd %d", fi->pid, fi->fd);
		return errno ? -errno : -EIO;
	}
	p = strstr(s, "sigmask:");
	if (p)
		*mask = strtoull(p + strlen("sigmask:"), NULL, 16);
	else
		pr_err("Task %d fd %d: fdinfo shows no signalfd mask\n", fi->pid, fi->fd);
	free(s);
	return p ? 0 : -ENOTSUP;
}

static int check_signalfd(const struct fd_info *fi)
{
	uint64_t mask;

	return read_sigmask(fi, &mask);
}

static int dump_signalfd(struct cr_img *img, struct dump_ctx *ctx, const struct fd_info *fi,
			 struct cr_file_rec *rec)
{
	(void)img;
	(void)ctx;
	return read_sigmask(fi, &rec->size);
}

static int open_signalfd(struct rst_image *img, const struct cr_restore_opts *opts,
			 const struct cr_file_rec *rec, int *fd)
{
	sigset_t set;

	(void)img;
	(void)opts;
	sigemptyset(&set);
	for (int sig = 1; sig <= 64; sig++)
		if (rec->size & 1ull << (sig - 1))
			sigaddset(&set, sig);
	*fd = signalfd(-1, &set, SFD_CLOEXEC | (rec->flags & O_NONBLOCK ? SFD_NONBLOCK : 0));
	if (*fd < 0) {
		pr_perror("Can't create signalfd (file %u, mask %#llx)", rec->id,
			  (unsigned long long)rec->size);
		return -errno;
	}
	return 0;
}

const struct file_ops signalfd_ops = {
	.name = "signalfd",
	.kind = CR_FILE_SIGNALFD,
	.recognise = recognise_signalfd,
	.check = check_signalfd,
	.dump = dump_signalfd,
	.open = open_signalfd,
};
