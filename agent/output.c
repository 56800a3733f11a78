// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The job's stdout/stderr as written up to a checkpoint, saved in the
 * checkpoint (output.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"
#include "img-digest.h"
#include "img-read.h"
#include "io.h"
#include "output.h"
#include "userfs.h"

static int _output_name(const char *name)
{
	return name && (!strcmp(name, "stdout") || !strcmp(name, "stderr"));
}

struct digested_copy {
	struct img_digester *d;
	int fd;
};

static int _digest_write(void *arg, const uint8_t *p, size_t n, uint64_t at)
{
	struct digested_copy *c = arg;

	imgd_update(c->d, p, n);
	return io_write_all(c->fd, p, n, (off_t)at);
}

/* srcfd from its start into fd, each chunk digested from the bytes written. */
static int _copy_digested(int srcfd, int fd, struct img_digester *d, uint8_t *buf, uint64_t *len)
{
	struct digested_copy c = {.d = d, .fd = fd};
	int ret =
		io_read_chunks(srcfd, 0, UINT64_MAX, buf, CR_DIGEST_CHUNK, _digest_write, &c, len);

	if (ret)
		return ret;
	return fdatasync(fd) < 0 ? -errno : 0;
}

int store_output_save(int nodefd, const char *name, int srcfd, struct cr_digests *list,
		      uint64_t *len, char *err, size_t errlen)
{
	struct img_digester *d;
	struct stat st;
	uint8_t *buf;
	int fd, ret;

	if (!_output_name(name))
		return err_set(err, errlen, -EINVAL, "output \"%s\": not stdout or stderr",
			       name ? name : "");
	if (fstat(srcfd, &st) < 0)
		return err_sys(err, errlen, -errno, "%s: the job's output", name);
	if (!S_ISREG(st.st_mode))
		return err_set(err, errlen, -EINVAL, "%s: the job's output is not a regular file",
			       name);
	fd = userfs_open_beneath(nodefd, name, O_WRONLY | O_CREAT | O_EXCL | O_NONBLOCK, 0600);
	if (fd < 0)
		return userfs_open_err(err, errlen, fd, name);
	buf = malloc(CR_DIGEST_CHUNK);
	d = imgd_new();
	ret = buf && d ? _copy_digested(srcfd, fd, d, buf, len) : -ENOMEM;
	close(fd);
	free(buf);
	if (!ret) {
		ret = imgd_finish(d, name, list);
		d = NULL;
	}
	imgd_free(d);
	if (ret)
		return err_sys(err, errlen, ret, "%s: saving the job's output", name);
	return 0;
}

/* Every byte the digests cover, checked chunk by chunk, into memfd. */
static int _load(struct img_reader *r, int memfd, uint8_t *buf, uint64_t *len)
{
	uint64_t size = r->want->size, off = 0;
	size_t n;
	int ret;

	while (off < size) {
		n = size - off < CR_DIGEST_CHUNK ? (size_t)(size - off) : CR_DIGEST_CHUNK;
		ret = imgr_read(r, buf, n);
		if (ret)
			return ret == -ENODATA ? -EBADMSG : ret;
		ret = io_write_all(memfd, buf, n, (off_t)off);
		if (ret)
			return ret;
		off += n;
	}
	*len = off;
	return imgr_check_all_read(r);
}

int store_output_load(int nodefd, const char *name, const struct cr_digests *list, int *memfd,
		      uint64_t *len, char *err, size_t errlen)
{
	struct img_reader r;
	uint8_t *buf = NULL;
	int ret;

	*memfd = -1;
	if (!_output_name(name))
		return err_set(err, errlen, -EINVAL, "output \"%s\": not stdout or stderr",
			       name ? name : "");
	ret = imgr_open(&r, nodefd, name, list);
	if (ret)
		return err_set(err, errlen, ret, "%s: %s", name,
			       ret == -EBADMSG ? "missing, or not in the checkpoint's digests"
					       : strerror(-ret));
	*memfd = memfd_create("crd-output", MFD_CLOEXEC);
	buf = *memfd >= 0 ? malloc(CR_DIGEST_CHUNK) : NULL;
	ret = *memfd < 0 ? -errno : buf ? _load(&r, *memfd, buf, len) : -ENOMEM;
	imgr_close(&r);
	free(buf);
	if (!ret)
		return 0;
	if (*memfd >= 0)
		close(*memfd);
	*memfd = -1;
	if (ret == -EBADMSG)
		return err_set(err, errlen, ret, "%s: saved output does not match its digest",
			       name);
	return err_sys(err, errlen, ret, "%s: reading the saved output", name);
}

/* dstfd from its start; a non-regular output (/dev/null, a tty) cannot be truncated. */
static int _output_rewind(int dstfd)
{
	struct stat st;

	if (fstat(dstfd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return 0;
	if (ftruncate(dstfd, 0) < 0)
		return -errno;
	/* Without O_APPEND writes would go on at the old offset, leaving a hole. */
	if (lseek(dstfd, 0, SEEK_SET) < 0)
		return -errno;
	return 0;
}

static int _put_chunk(void *arg, const uint8_t *p, size_t n, uint64_t at)
{
	(void)at;
	return io_write_all(*(int *)arg, p, n, -1);
}

int store_output_put(int memfd, uint64_t len, int dstfd, const char *name, char *err, size_t errlen)
{
	uint64_t done = 0;
	uint8_t *buf;
	int ret;

	ret = _output_rewind(dstfd);
	if (ret)
		return err_sys(err, errlen, ret, "%s: truncating the job's output", name);
	buf = malloc(CR_DIGEST_CHUNK);
	if (!buf)
		return err_set(err, errlen, -ENOMEM, "%s: out of memory", name);
	ret = io_read_chunks(memfd, 0, len, buf, CR_DIGEST_CHUNK, _put_chunk, &dstfd, &done);
	free(buf);
	if (!ret && done != len)
		ret = -EIO;
	if (ret)
		return err_sys(err, errlen, ret, "%s: restoring the job's output", name);
	return 0;
}
