// SPDX-License-Identifier: LGPL-2.1-or-later
/* Frames between cr-rsh and its remote relay (layout in rshio.h). */
#include <errno.h>
#include <unistd.h>

#include "io.h"
#include "rshio.h"

int rshio_read_all(int fd, void *p, size_t len)
{
	uint8_t *c = p;
	ssize_t n;

	while (len) {
		n = read(fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		c += n;
		len -= n;
	}
	return 0;
}

void rshio_header(uint8_t *buf, uint8_t type, uint32_t len)
{
	buf[0] = type;
	buf[1] = len >> 24;
	buf[2] = len >> 16;
	buf[3] = len >> 8;
	buf[4] = len;
}

int rshio_send(int fd, uint8_t type, const void *p, uint32_t len)
{
	uint8_t hdr[RSHIO_HDR];
	int ret;

	rshio_header(hdr, type, len);
	ret = io_write_all(fd, hdr, sizeof(hdr), -1);
	return ret ? ret : io_write_all(fd, p, len, -1);
}

int rshio_recv(int fd, uint8_t *type, uint8_t *buf, uint32_t *len)
{
	uint8_t hdr[RSHIO_HDR];
	int ret = rshio_read_all(fd, hdr, sizeof(hdr));

	if (ret)
		return ret;
	*type = hdr[0];
	*len = (uint32_t)hdr[1] << 24 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 8 | hdr[4];
	if (*len > RSHIO_CHUNK)
		return -EPROTO;
	return rshio_read_all(fd, buf, *len);
}
