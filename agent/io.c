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
