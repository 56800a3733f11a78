/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node-to-node conversation's authentication (protoauth.c), on top of
 * proto.h's framing. A coordinator (or a crd forwarding cr-rsh) opens a
 * conversation with NODE, whose payload travels inside a munge credential
 * that only root can decode:
 *
 *	u32 version (CR_NODE_VERSION), u32 op, u32 jobid, str target node,
 *	bytes nonce (CR_NONCE_LEN), bytes key (CR_CHAN_KEY_LEN), str arguments
 *
 * The target names the node the request is for (a credential sent to
 * another node is refused there), the nonce lets that node refuse a second
 * delivery (nonces.c), and the key is this conversation's alone: every later
 * message, either way, is sealed with it. A sealed message is a proto.h
 * message whose payload ends with a trailer:
 *
 *	payload, u64 seq, u8 mac[CR_CHAN_MAC_LEN]
 *	mac = HMAC-SHA-512-256(key, u32 direction, u64 seq, u32 type,
 *	                       u32 payload length, payload)
 *
 * seq counts from 1 in each direction; the direction is the sender's end.
 * A message whose MAC does not verify, whose seq is not the next one or that
 * is too short for a trailer is refused: the conversation is over (no
 * resynchronisation; that end sends nothing more on it, so the other end
 * sees it close, never an answer to what it did not ask). Integrity and
 * order only: the follow-ups are not encrypted (docs/reliability.md).
 */
#ifndef CR_PROTOAUTH_H
#define CR_PROTOAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* The NODE payload's layout; nodes with another version refuse the request. */
#define CR_NODE_VERSION	 2
#define CR_NONCE_LEN	 16
#define CR_CHAN_KEY_LEN	 32 /* crypto_auth_KEYBYTES */
#define CR_CHAN_MAC_LEN	 32 /* crypto_auth_BYTES */
#define CR_CHAN_TRAILER	 (8 + CR_CHAN_MAC_LEN)
#define CR_NODE_NAME_MAX 128

/* The two ends of a conversation: the one that sent NODE, and the node. */
enum cr_chan_end {
	CR_END_INITIATOR = 1,
	CR_END_NODE = 2,
};

/* What NODE carries inside its credential. Strings point into the message. */
struct cr_node_req {
	uint32_t op, jobid;
	const char *target, *args;
	uint8_t nonce[CR_NONCE_LEN];
	uint8_t key[CR_CHAN_KEY_LEN];
};

/* One end of a sealed conversation on fd. */
struct cr_chan {
	int fd;
	uint32_t end;	  /* enum cr_chan_end: ours */
	uint64_t seq_out; /* the last sealed and sent */
	uint64_t seq_in;  /* the last opened */
	uint8_t key[CR_CHAN_KEY_LEN];
	int broken;	   /* a message was refused: nothing more is sent or opened */
	uint32_t bad_type; /* the type of the message last refused */
	char why[96];	   /* why it was refused */
};

/* A fresh request: random nonce and key (libsodium must be initialised). */
void cr_node_req_fresh(struct cr_node_req *r);
void cr_node_req_pack(struct cr_buf *b, const struct cr_node_req *r);
/* The whole payload, version first; -EPROTO when it is not one. */
int cr_node_req_unpack(struct cr_msg *m, struct cr_node_req *r);

/* Our end of the conversation that @r opens, on fd. */
void cr_chan_init(struct cr_chan *c, int fd, uint32_t end, const struct cr_node_req *r);
/* Forget the key. */
void cr_chan_fini(struct cr_chan *c);

/* Seal b's payload (NULL: empty) and send it as type. 0 or -errno (-EPIPE: broken). */
int cr_chan_send(struct cr_chan *c, uint32_t type, const struct cr_buf *b);
int cr_chan_send_ok(struct cr_chan *c, const char *text);
int cr_chan_send_err(struct cr_chan *c, uint32_t code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Seal in place: @b (the payload) gets its trailer. Used by cr_chan_send;
 * exposed for tests and fuzzing.
 */
int cr_chan_seal(struct cr_chan *c, uint32_t type, struct cr_buf *b);
/*
 * Open a received message: its trailer is checked and taken off (m->hdr.len
 * shrinks to the payload's). -EBADMSG with c->why and c->bad_type when it
 * is refused: the conversation is broken from then on.
 */
int cr_chan_open(struct cr_chan *c, struct cr_msg *m);
/*
 * The next sealed message: cr_recv and cr_chan_open. -EBADMSG (refused,
 * c->why), or cr_recv's -errno (the peer is gone, a timeout).
 */
int cr_chan_recv(struct cr_chan *c, struct cr_msg *m);
/* A sealed OK or ERR, as cr_recv_reply. */
int cr_chan_recv_reply(struct cr_chan *c, uint32_t *code, char *buf, size_t size);

#endif /* CR_PROTOAUTH_H */
