// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What a rollback cuts, kept (cr_rollback_keep): a restored job resumes from
 * its checkpoint and writes again what it wrote after it, but not always the
 * same bytes (timestamps, a changed input): the cut tail is kept where that
 * is cheap (a clone shares the extents) and within a bound otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "files.h"
#include "log.h"

/* Clone, else copy (within the budget), [from, len) of @fd into @out. */
static int keep_bytes(struct keep_state *ks, int fd, int out, uint64_t from, uint64_t len,
		      const char **how)
{
	struct file_clone_range fcr = {.src_fd = fd, .src_offset = from, .src_length = len - from};
	loff_t in = (loff_t)from, to = 0;
	uint64_t left = len - from;

	if (!ioctl(out, FICLONERANGE, &fcr)) {
		*how = "cloned";
		return 0;
	}
	if (ks->copied + left > ks->keep->max_copy) {
		*how = "not kept";
		return 1;
	}
	while (left) {
		ssize_t n = copy_file_range(fd, &in, out, &to, left, 0);

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		left -= n;
	}
	ks->copied += len - from;
	*how = "copied";
	return 0;
}

int keep_tail(struct keep_state *ks, int wfd, const char *path, uint64_t from, uint64_t len)
{
	const char *how = "not kept";
	char name[32];
	int fd, out, idx, ret;

	/* the task's fd may be write-only: the same file, for reading */
	snprintf(name, sizeof(name), "/proc/self/fd/%d", wfd);
	fd = open(name, O_RDONLY | O_CLOEXEC);
	snprintf(name, sizeof(name), "%u.tail", ++ks->n);
	out = fd < 0 ? -1
		     : openat(ks->keep->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ret = out < 0 ? -errno : keep_bytes(ks, fd, out, from, len, &how);
	if (out >= 0)
		close(out);
	if (fd >= 0)
		close(fd);
	if (ret == 1) { /* over the budget: not kept, the rollback goes on */
		unlinkat(ks->keep->dirfd, name, 0);
		ret = 0;
	}
	idx = ret ? -1
		  : openat(ks->keep->dirfd, "index", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			   0600);
	if (!ret &&
	    (idx < 0 || dprintf(idx, "%u\t%llu\t%llu\t%s\t%s\n", ks->n, (unsigned long long)from,
				(unsigned long long)(len - from), how, path) < 0))
		ret = -errno ?: -EIO;
	if (idx >= 0)
		close(idx);
	if (ret)
		pr_err("Can't keep the %llu bytes of %s past its checkpoint length before cutting "
		       "it: %s\n",
		       (unsigned long long)(len - from), path, strerror(-ret));
	else
		pr_info("%s: %llu bytes past the checkpoint %s (%s)\n", path,
			(unsigned long long)(len - from), how, name);
	return ret;
}
