// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The wire protocol as crd and crctl read it: a stream of messages
 * (cr_recv: header, length, payload) and each message's unpackers in an
 * order the input chooses (two bits of the header's pid field per field),
 * then the reply reader (cr_recv_reply_progress) over the same bytes. The
 * node conversation's layer (protoauth.h) too: each payload as a NODE
 * request (cr_node_req_unpack), each message opened as received by the node
 * end of a conversation whose key is all zeroes (corpus/proto/sealed-* are
 * sealed with it, so they open), and each payload sealed by the coordinator
 * end, opened and unpacked again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "proto.h"
#include "protoauth.h"

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

/*
 * The seal's layer over one received message; @in and @out are the two ends
 * of one conversation (each open on a copy of @in: a refusal breaks an end).
 */
static void node_layer(const struct cr_msg *m, const struct cr_chan *in, struct cr_chan *out)
{
	size_t plen = m->hdr.len - CR_HDR_SIZE;
	struct cr_msg c = *m;
	struct cr_node_req r;
	struct cr_chan n = *in;
	struct cr_buf b;

	c.pos = 0;
	(void)cr_node_req_unpack(&c, &r);
	c = *m;
	c.pos = 0;
	c.nfds = 0;
	if (!cr_chan_open(&n, &c))
		unpack_all(&c);
	/* sealed by the other end: always opens */
	cr_buf_init(&b);
	cr_pack_raw(&b, m->data, plen);
	if (!cr_chan_seal(out, m->hdr.type, &b)) {
		memset(&c, 0, sizeof(c));
		c.hdr = m->hdr;
		c.hdr.len = CR_HDR_SIZE + b.len;
		c.data = b.data;
		n = *in;
		n.seq_in = out->seq_out - 1;
		if (cr_chan_open(&n, &c))
			abort();
		unpack_all(&c);
	}
	cr_buf_free(&b);
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
	struct cr_node_req r = {0}; /* the key: all zeroes */
	struct cr_chan node, coord;

	cr_chan_init(&node, fd, CR_END_NODE, &r);
	cr_chan_init(&coord, fd, CR_END_INITIATOR, &r);
	while (!cr_recv(fd, &m)) {
		(void)cr_msg_name(m.hdr.type);
		unpack_all(&m);
		if (m.hdr.len > CR_HDR_SIZE) /* the recorded payload: cr_recv's exact size */
			node_layer(&m, &node, &coord);
		cr_msg_free(&m);
	}
	close(fd);
	fd = stream(data, size);
	(void)cr_recv_reply_progress(fd, &code, reply, sizeof(reply), progress, NULL);
	close(fd);
	return 0;
}
