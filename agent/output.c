// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The job's stdout/stderr as written up to a checkpoint, kept in the job's
 * checkpoint directory (output.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "errmsg.h"
#include "io.h"
#include "output.h"
#include "userfs.h"

static int _output_name(const char *name)
{
	return name && (!strcmp(name, "stdout") || !strcmp(name, "stderr"));
}

static int _write_chunk(void *arg, const uint8_t *p, size_t n, uint64_t at)
{
	return io_write_all(*(int *)arg, p, n, (off_t)at);
}

/* srcfd's [off, end) to the same offsets of dstfd; stops early where srcfd ends. */
static int _copy_range(int srcfd, int dstfd, uint64_t off, uint64_t end, uint8_t *buf,
		       uint64_t *copied)
{
	return io_read_chunks(srcfd, off, end, buf, DIGEST_CHUNK, _write_chunk, &dstfd, copied);
}

static int _output_append(int fd, const char *name, int srcfd, uint64_t committed, uint64_t *len,
			  char digest[STORE_DIGEST_HEX], uint8_t *buf, char *err, size_t errlen)
{
	struct stat src, dst;
	uint64_t start, n = 0;
	int ret;

	if (fstat(srcfd, &src) < 0)
		return err_sys(err, errlen, -errno, "%s: the job's output", name);
	if (!S_ISREG(src.st_mode))
		return err_set(err, errlen, -EINVAL, "%s: the job's output is not a regular file",
			       name);
	if (fstat(fd, &dst) < 0)
		return err_sys(err, errlen, -errno, "%s: fstat", name);
	if (!S_ISREG(dst.st_mode))
		return err_set(err, errlen, -EINVAL, "%s: not a regular file", name);
	/* The job's output was truncated, or our copy lost what was committed: start over. */
	start = committed;
	if ((uint64_t)src.st_size < committed || (uint64_t)dst.st_size < committed)
		start = 0;
	if (ftruncate(fd, (off_t)start) < 0)
		return err_sys(err, errlen, -errno, "%s: truncate to %llu", name,
			       (unsigned long long)start);
	ret = _copy_range(srcfd, fd, start, (uint64_t)src.st_size, buf, &n);
	if (ret)
		return err_sys(err, errlen, ret, "%s: copying the job's output", name);
	if (fdatasync(fd) < 0)
		return err_sys(err, errlen, -errno, "%s: fdatasync", name);
	*len = start + n;
	ret = digest_fd(fd, *len, -1, buf, digest, &n);
	if (ret)
		return err_sys(err, errlen, ret, "%s: read", name);
	if (n != *len)
		return err_set(err, errlen, -EIO, "%s: shrank while being saved", name);
	return 0;
}

int store_output_save(int jobfd, const char *name, int srcfd, uint64_t committed, uint64_t *len,
		      char digest[STORE_DIGEST_HEX], char *err, size_t errlen)
{
	uint8_t *buf;
	int fd, ret;

	if (!_output_name(name))
		return err_set(err, errlen, -EINVAL, "output \"%s\": not stdout or stderr",
			       name ? name : "");
	if (sodium_init() < 0)
		return err_set(err, errlen, -EIO, "libsodium initialisation failed");
	buf = malloc(DIGEST_CHUNK);
	if (!buf)
		return err_set(err, errlen, -ENOMEM, "%s: out of memory", name);
	fd = userfs_open_beneath(jobfd, name, O_RDWR | O_CREAT | O_NONBLOCK, 0600);
	if (fd < 0) {
		free(buf);
		return userfs_open_err(err, errlen, fd, name);
	}
	ret = _output_append(fd, name, srcfd, committed, len, digest, buf, err, errlen);
	close(fd);
	free(buf);
	return ret;
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

static int _output_copy(int fd, const char *name, uint64_t len, const char *digest, int dstfd,
			uint8_t *buf, char *err, size_t errlen)
{
	char hex[STORE_DIGEST_HEX];
	struct stat st;
	uint64_t got = 0;
	int ret;

	if (fstat(fd, &st) < 0)
		return err_sys(err, errlen, -errno, "%s: fstat", name);
	if (!S_ISREG(st.st_mode))
		return err_set(err, errlen, -EBADMSG, "%s: not a regular file", name);
	if ((uint64_t)st.st_size < len)
		return err_set(err, errlen, -EBADMSG,
			       "%s: %lld bytes saved, the checkpoint has %llu", name,
			       (long long)st.st_size, (unsigned long long)len);
	ret = digest_fd(fd, len, -1, buf, hex, &got);
	if (ret)
		return err_sys(err, errlen, ret, "%s: read", name);
	if (got != len || strcmp(hex, digest))
		return err_set(err, errlen, -EBADMSG,
			       "%s: saved output does not match the checkpoint's digest", name);
	if (dstfd < 0)
		return 0;
	ret = _output_rewind(dstfd);
	if (ret)
		return err_sys(err, errlen, ret, "%s: truncating the job's output", name);
	/* Hashed again while copying: the user could change the saved copy in between. */
	ret = digest_fd(fd, len, dstfd, buf, hex, &got);
	if (ret)
		return err_sys(err, errlen, ret, "%s: restoring the job's output", name);
	if (got != len || strcmp(hex, digest))
		return err_set(err, errlen, -EBADMSG, "%s: saved output changed while restored",
			       name);
	return 0;
}

int store_output_restore(int jobfd, const char *name, uint64_t len, const char *digest, int dstfd,
			 char *err, size_t errlen)
{
	uint8_t *buf;
	int fd, ret;

	if (!_output_name(name))
		return err_set(err, errlen, -EINVAL, "output \"%s\": not stdout or stderr",
			       name ? name : "");
	if (!digest || strlen(digest) != STORE_DIGEST_HEX - 1)
		return err_set(err, errlen, -EBADMSG, "%s: malformed digest", name);
	if (sodium_init() < 0)
		return err_set(err, errlen, -EIO, "libsodium initialisation failed");
	fd = userfs_open_beneath(jobfd, name, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0)
		return userfs_open_err(err, errlen, fd, name);
	buf = malloc(DIGEST_CHUNK);
	if (!buf)
		ret = err_set(err, errlen, -ENOMEM, "%s: out of memory", name);
	else
		ret = _output_copy(fd, name, len, digest, dstfd, buf, err, errlen);
	free(buf);
	close(fd);
	return ret;
}
