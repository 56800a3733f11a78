// SPDX-License-Identifier: LGPL-2.1-or-later
/* The node-to-node conversation's authentication (layout in protoauth.h). No logging, no exit. */
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "protoauth.h"

void cr_node_req_fresh(struct cr_node_req *r)
{
	randombytes_buf(r->nonce, sizeof(r->nonce));
	crypto_auth_keygen(r->key);
}

void cr_node_req_pack(struct cr_buf *b, const struct cr_node_req *r)
{
	cr_pack_u32(b, CR_NODE_VERSION);
	cr_pack_u32(b, r->op);
	cr_pack_u32(b, r->jobid);
	cr_pack_str(b, r->target);
	cr_pack_bytes(b, r->nonce, sizeof(r->nonce));
	cr_pack_bytes(b, r->key, sizeof(r->key));
	cr_pack_str(b, r->args);
}

/* A byte string of exactly len bytes, copied out. */
static int _unpack_fixed(struct cr_msg *m, uint8_t *out, uint32_t len)
{
	const void *p;
	uint32_t got;

	if (cr_unpack_bytes(m, &p, &got) || got != len)
		return -EPROTO;
	memcpy(out, p, len);
	return 0;
}

int cr_node_req_unpack(struct cr_msg *m, struct cr_node_req *r)
{
	uint32_t version;

	memset(r, 0, sizeof(*r));
	if (cr_unpack_u32(m, &version) || version != CR_NODE_VERSION || cr_unpack_u32(m, &r->op) ||
	    cr_unpack_u32(m, &r->jobid) || cr_unpack_str(m, &r->target) ||
	    strlen(r->target) >= CR_NODE_NAME_MAX || _unpack_fixed(m, r->nonce, sizeof(r->nonce)) ||
	    _unpack_fixed(m, r->key, sizeof(r->key)) || cr_unpack_str(m, &r->args) ||
	    cr_unpack_done(m)) {
		sodium_memzero(r->key, sizeof(r->key));
		return -EPROTO;
	}
	return 0;
}

void cr_chan_init(struct cr_chan *c, int fd, uint32_t end, const struct cr_node_req *r)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->end = end;
	memcpy(c->key, r->key, sizeof(c->key));
}

void cr_chan_fini(struct cr_chan *c)
{
	sodium_memzero(c->key, sizeof(c->key));
}

/* The MAC of one message: who sent it, its place in the conversation, its type and payload. */
static void _mac(const struct cr_chan *c, uint32_t from, uint64_t seq, uint32_t type,
		 const uint8_t *p, uint32_t len, uint8_t mac[CR_CHAN_MAC_LEN])
{
	crypto_auth_hmacsha512256_state st;

	crypto_auth_hmacsha512256_init(&st, c->key, sizeof(c->key));
	crypto_auth_hmacsha512256_update(&st, (const uint8_t *)&from, sizeof(from));
	crypto_auth_hmacsha512256_update(&st, (const uint8_t *)&seq, sizeof(seq));
	crypto_auth_hmacsha512256_update(&st, (const uint8_t *)&type, sizeof(type));
	crypto_auth_hmacsha512256_update(&st, (const uint8_t *)&len, sizeof(len));
	if (len)
		crypto_auth_hmacsha512256_update(&st, p, len);
	crypto_auth_hmacsha512256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

int cr_chan_seal(struct cr_chan *c, uint32_t type, struct cr_buf *b)
{
	uint8_t mac[CR_CHAN_MAC_LEN];
	uint64_t seq = c->seq_out + 1;

	if (b->oom)
		return -ENOMEM;
	if (b->len > CR_MSG_MAX - CR_HDR_SIZE - CR_CHAN_TRAILER)
		return -EMSGSIZE;
	_mac(c, c->end, seq, type, b->data, b->len, mac);
	cr_pack_u64(b, seq);
	cr_pack_raw(b, mac, sizeof(mac));
	if (b->oom)
		return -ENOMEM;
	c->seq_out = seq;
	return 0;
}

int cr_chan_send(struct cr_chan *c, uint32_t type, const struct cr_buf *b)
{
	struct cr_buf s;
	int ret;

	if (c->broken)
		return -EPIPE;
	if (b && b->oom)
		return -ENOMEM;
	cr_buf_init(&s);
	if (b && b->len)
		cr_pack_raw(&s, b->data, b->len);
	ret = cr_chan_seal(c, type, &s);
	if (!ret)
		ret = cr_send(c->fd, type, &s, NULL, 0);
	cr_buf_free(&s);
	return ret;
}

int cr_chan_send_ok(struct cr_chan *c, const char *text)
{
	struct cr_buf b;
	int ret;

	cr_buf_init(&b);
	cr_pack_str(&b, text);
	ret = cr_chan_send(c, CR_MSG_OK, &b);
	cr_buf_free(&b);
	return ret;
}

int cr_chan_send_err(struct cr_chan *c, uint32_t code, const char *fmt, ...)
{
	struct cr_buf b;
	char text[2048];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	cr_buf_init(&b);
	cr_pack_u32(&b, code);
	cr_pack_str(&b, text);
	ret = cr_chan_send(c, CR_MSG_ERR, &b);
	cr_buf_free(&b);
	return ret;
}

/* Refuse m: why, for the caller's log line. */
static int _refuse(struct cr_chan *c, const struct cr_msg *m, const char *why)
{
	c->broken = 1;
	c->bad_type = m->hdr.type;
	snprintf(c->why, sizeof(c->why), "%s", why);
	return -EBADMSG;
}

int cr_chan_open(struct cr_chan *c, struct cr_msg *m)
{
	uint8_t mac[CR_CHAN_MAC_LEN];
	uint32_t plen;
	uint64_t seq;
	uint32_t from = c->end == CR_END_NODE ? CR_END_INITIATOR : CR_END_NODE;

	if (c->broken)
		return _refuse(c, m, "the conversation was broken before");
	/* fds are never part of a node conversation (it is TCP) */
	if (m->nfds)
		return _refuse(c, m, "file descriptors attached");
	if (m->hdr.len < CR_HDR_SIZE + CR_CHAN_TRAILER)
		return _refuse(c, m, "no MAC (too short)");
	plen = m->hdr.len - CR_HDR_SIZE - CR_CHAN_TRAILER;
	memcpy(&seq, m->data + plen, sizeof(seq));
	_mac(c, from, seq, m->hdr.type, m->data, plen, mac);
	if (crypto_verify_32(mac, m->data + plen + sizeof(seq)))
		return _refuse(c, m, "bad MAC");
	if (seq != c->seq_in + 1)
		return _refuse(c, m,
			       seq <= c->seq_in ? "replayed (old sequence number)"
						: "out of sequence");
	c->seq_in = seq;
	m->hdr.len -= CR_CHAN_TRAILER;
	m->pos = 0;
	return 0;
}

int cr_chan_recv(struct cr_chan *c, struct cr_msg *m)
{
	int ret = cr_recv(c->fd, m);

	if (ret)
		return ret;
	ret = cr_chan_open(c, m);
	if (ret)
		cr_msg_free(m);
	return ret;
}

int cr_chan_recv_reply(struct cr_chan *c, uint32_t *code, char *buf, size_t size)
{
	struct cr_msg m;
	int ret;

	*code = 0;
	if (size)
		buf[0] = '\0';
	ret = cr_chan_recv(c, &m);
	if (ret)
		return ret;
	ret = cr_parse_reply(&m, code, buf, size);
	cr_msg_free(&m);
	return ret;
}
