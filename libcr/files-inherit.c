// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Inherited files: the root task's stdio, and any fd sharing its open file.
 * They are not saved: at restore the restarter's own fds (or the ones the
 * caller hands in by key, cr_restore_opts.inherit) stand in for them.
 */
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "files: "
#include "log.h"
#include "files.h"

static const char *const std_keys[] = {"stdin", "stdout", "stderr"};

/* Which of the root's fds 0, 1, 2 this fd is or shares its file with; -1: none. */
static int root_stdio_of(const struct fd_info *fi)
{
	if (fi->pid == fi->root && fi->fd <= 2)
		return fi->fd;
	for (int k = 0; k <= 2; k++)
		if (syscall(SYS_kcmp, fi->root, fi->pid, KCMP_FILE, k, fi->fd) == 0)
			return k;
	return -1;
}

static bool recognise_inherited(const struct fd_info *fi)
{
	return root_stdio_of(fi) >= 0;
}

/* The path names the fd the restarter provides: "stdin", "stdout", "stderr". */
static int dump_inherited(struct cr_img *img, struct dump_ctx *ctx, const struct fd_info *fi,
			  struct cr_file_rec *rec)
{
	int k = root_stdio_of(fi);

	(void)img;
	(void)ctx;
	if (k < 0) {
		pr_err("Task %d fd %d no longer shares the root's stdio\n", fi->pid, fi->fd);
		return -EINVAL;
	}
	snprintf(rec->path, sizeof(rec->path), "%s", std_keys[k]);
	return 0;
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

static int open_inherited(struct rst_image *img, const struct cr_restore_opts *opts,
			  const struct cr_file_rec *rec, int *fd)
{
	int src = inherited_fd(opts, rec->path);

	(void)img;
	if (src < 0 || fcntl(src, F_GETFD) < 0) {
		pr_err("No fd given for inherited file \"%s\"\n", rec->path);
		return -EBADF;
	}
	*fd = fcntl(src, F_DUPFD_CLOEXEC, 0);
	if (*fd < 0) {
		pr_perror("Can't duplicate fd %d for inherited file \"%s\"", src, rec->path);
		return -errno;
	}
	return 0;
}

const struct file_ops inherit_file_ops = {
	.name = "inherited",
	.kind = CR_FILE_INHERIT,
	.recognise = recognise_inherited,
	.dump = dump_inherited,
	.open = open_inherited,
};
