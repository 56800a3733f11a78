// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fds on a file whose contents the image holds: a memfd, or a file deleted
 * while open. The object is saved once by shmem.c (a cr_shmem_rec, shared
 * with the mappings of it) and made again by prepare_shmem(); each open
 * file reopens it through /proc/self/fd, with its own flags and offset.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "files: "
#include "log.h"
#include "files.h"
#include "shmem.h"

static bool recognise_shmem_file(const struct fd_info *fi)
{
	return S_ISREG(fi->st.st_mode) && shmem_kind_of(fi->link, false);
}

static int dump_shmem_file(struct cr_img *img, struct dump_ctx *ctx, const struct fd_info *fi,
			   struct cr_file_rec *rec)
{
	char link[64];

	snprintf(link, sizeof(link), "/proc/%d/fd/%d", fi->pid, fi->fd);
	return dump_shmem_object(img, ctx, link, shmem_kind_of(fi->link, false), rec->path,
				 &rec->obj_id);
}

static int open_shmem_file(struct rst_image *img, const struct cr_restore_opts *opts,
			   const struct cr_file_rec *rec, int *fd)
{
	/* not O_NOFOLLOW (shm_open() sets it): /proc/self/fd/N is a link */
	int flags = rec->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY | O_NOFOLLOW);
	char path[64];

	(void)opts;
	/* its own open file description: own flags and offset */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", shmem_fd(img, rec->obj_id));
	*fd = open(path, flags | O_CLOEXEC);
	if (*fd < 0 || lseek(*fd, rec->pos, SEEK_SET) < 0) {
		int err = errno;

		pr_perror("Can't reopen %s (file %u)", rec->path, rec->id);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -err;
	}
	return 0;
}

const struct file_ops shmem_file_ops = {
	.name = "shmem",
	.kind = CR_FILE_SHMEM,
	.recognise = recognise_shmem_file,
	.dump = dump_shmem_file,
	.open = open_shmem_file,
};
