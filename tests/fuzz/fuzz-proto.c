// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The wire protocol as crd and crctl read it: a stream of messages
 * (cr_recv: header, length, payload) and each message's unpackers in an
 * order the input chooses (two bits of the header's pid field per field),
 * then the reply reader (cr_recv_reply_progress) over the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "proto.h"

static int stream(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-proto", MFD_CLOEXEC);

	if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET))
		abort();
	return fd;
}

static void unpack_all(struct cr_msg *m)
{
	uint32_t ops = m->hdr.pid, u32, len;
	const void *p;
	const char *s;
	uint64_t u64;

	for (int i = 0; i < 16; i++, ops >>= 2) {
		int ret = (ops & 3) == 0   ? cr_unpack_u32(m, &u32)
			  : (ops & 3) == 1 ? cr_unpack_u64(m, &u64)
			  : (ops & 3) == 2 ? cr_unpack_str(m, &s)
					   : cr_unpack_bytes(m, &p, &len);
		if (ret)
			break;
	}
	(void)cr_unpack_done(m);
}

static void progress(const char *text, void *arg)
{
	(void)text;
	(void)arg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char reply[256];
	struct cr_msg m;
	uint32_t code;
	int fd = stream(data, size);

	while (!cr_recv(fd, &m)) {
		(void)cr_msg_name(m.hdr.type);
		unpack_all(&m);
		cr_msg_free(&m);
	}
	close(fd);
	fd = stream(data, size);
	(void)cr_recv_reply_progress(fd, &code, reply, sizeof(reply), progress, NULL);
	close(fd);
	return 0;
}
