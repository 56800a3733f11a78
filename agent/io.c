// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "io.h"

int io_write_all(int fd, const void *p, size_t len, off_t off)
{
	const uint8_t *c = p;
	ssize_t n;

	while (len) {
		n = off < 0 ? write(fd, c, len) : pwrite(fd, c, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		c += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
	return 0;
}

int io_read_chunks(int fd, uint64_t off, uint64_t end, uint8_t *buf, size_t size,
		   int (*use)(void *arg, const uint8_t *p, size_t n, uint64_t at), void *arg,
		   uint64_t *done)
{
	uint64_t start = off;
	size_t want;
	ssize_t n;
	int ret;

	while (off < end) {
		want = end - off < size ? (size_t)(end - off) : size;
		n = pread(fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		ret = use(arg, buf, (size_t)n, off);
		if (ret)
			return ret;
		off += (uint64_t)n;
	}
	*done = off - start;
	return 0;
}
