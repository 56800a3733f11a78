/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * NETLINK_SOCK_DIAG: queries about one unix socket, by inode, and the dump's
 * index of the tree's sockets (sockdiag.c).
 */
#ifndef CR_SOCKDIAG_H
#define CR_SOCKDIAG_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

#define CR_UNIX_NAME_LEN 108 /* sizeof(sun_path) */

struct unix_diag_info {
	uint32_t ino;
	uint32_t peer;	  /* inode of the peer, 0: none (or it was closed) */
	uint8_t type;	  /* SOCK_* */
	uint8_t state;	  /* TCP_LISTEN, TCP_ESTABLISHED, TCP_CLOSE */
	uint8_t shutdown; /* RCV_SHUTDOWN 1, SEND_SHUTDOWN 2 */
	uint32_t rqueue;  /* bytes queued to read; listener: connections waiting */
	uint32_t wqueue;  /* bytes not yet read by the peer; listener: its backlog */
	uint32_t namelen; /* bytes of name; 0: unbound; name[0] == 0: abstract */
	char name[CR_UNIX_NAME_LEN];
	uint32_t *icons; /* listener: the inodes of the pending connections (malloc'ed) */
	uint32_t nicons;
};

/*
 * What sock_diag says of the unix socket @ino (in our network namespace):
 * 0, -ENOENT if there is no such socket (closed), or -errno (logged).
 * The caller frees info->icons.
 */
int unix_diag_get(uint32_t ino, struct unix_diag_info *info);

/* @name (namelen bytes, abstract ones with an '@') as text, for messages. */
const char *unix_name_str(const char *name, uint32_t namelen, char *buf, size_t len);

/*
 * The index of the tree's sockets, for what the check and dump of one socket
 * ask of all the others (is its peer in the tree?): built once per
 * checkpoint, on first use, in the dump context (ctx->sk, freed by
 * sk_index_free), each part when first asked for: the socket inodes held by
 * the tree's fds (one walk of them), the unix sockets of the namespace and
 * the clients pending on the tree's listeners (one sock_diag dump), the TCP
 * sockets of the namespace by inode and by addresses (one INET_DIAG dump).
 * The tree is frozen, so its sockets stay what the index says. Each returns
 * 0 or -errno (logged).
 */
/* *yes: socket @ino is held by an fd of a task of the tree. */
int sk_index_held(struct dump_ctx *ctx, uint32_t ino, bool *yes);
/* *yes: @ino is the client of a connection pending on a unix listener the tree holds. */
int sk_index_pending(struct dump_ctx *ctx, uint32_t ino, bool *yes);
/*
 * *info: what sock_diag said of unix socket @ino (icons only for the tree's
 * listeners), NULL if the namespace has no such socket; owned by the index.
 */
int sk_index_unix(struct dump_ctx *ctx, uint32_t ino, const struct unix_diag_info **info);
/* Holder @i of the tree's sockets, in inode order (once per fd): -ENOENT past the last. */
int sk_index_holder(struct dump_ctx *ctx, size_t i, uint32_t *ino, pid_t *pid, int *fd);
/* *peer: the inode of the other end of TCP connection @ino in the namespace, 0 if none. */
int sk_index_tcp_peer(struct dump_ctx *ctx, uint32_t ino, uint32_t *peer);
void sk_index_free(struct dump_ctx *ctx);

/*
 * Restore: destroy (SOCK_DESTROY) the TCP sockets in TIME_WAIT on local
 * port @port (host order) of this net namespace, those on address @addr
 * (4 or 16 bytes of @family, in network order) if it is not the wildcard;
 * *n: how many there were. 0 or -errno (logged).
 */
int tcp_time_wait_destroy(int family, const void *addr, uint16_t port, int *n);

#endif /* CR_SOCKDIAG_H */
