// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Files reopened by path: regular files and directories that still have
 * a name, the plain character devices (/dev/null...), and O_PATH fds. The
 * file itself is not saved: only its size, so that one written after the
 * checkpoint can be rolled back (cr_restore_opts.rollback_files).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "files: "
#include "log.h"
#include "files.h"
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

static int dump_reg(struct cr_img *img, struct dump_ctx *ctx, const struct fd_info *fi,
		    struct cr_file_rec *rec)
{
	(void)img;
	(void)ctx;
	if (!(fi->flags & O_PATH) && (S_ISREG(fi->st.st_mode) || S_ISDIR(fi->st.st_mode)))
		rec->size = fi->st.st_size;
	return 0;
}

/* A file written after the checkpoint goes back to its size then. */
static int rollback_file(int fd, const struct cr_file_rec *rec)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		pr_perror("Can't stat %s", rec->path);
		return -errno;
	}
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

static int open_reg(struct rst_image *img, const struct cr_restore_opts *opts,
		    const struct cr_file_rec *rec, int *fd)
{
	int flags = rec->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY), ret = 0;
	char buf[CR_PATH_LEN];

	(void)img;
	*fd = open(remap_path(opts, rec->path, buf, sizeof(buf)), flags | O_CLOEXEC);
	if (*fd < 0) {
		pr_perror("Can't reopen %s (file %u)", rec->path, rec->id);
		return -errno;
	}
	if (opts && opts->rollback_files && S_ISREG(rec->mode) &&
	    (rec->flags & O_ACCMODE) != O_RDONLY)
		ret = rollback_file(*fd, rec);
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

const struct file_ops reg_file_ops = {
	.name = "file",
	.kind = CR_FILE_REG,
	.recognise = recognise_reg,
	.dump = dump_reg,
	.open = open_reg,
};
