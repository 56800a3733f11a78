/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* NETLINK_SOCK_DIAG queries about one unix socket, by inode (sockdiag.c). */
#ifndef CR_SOCKDIAG_H
#define CR_SOCKDIAG_H

#include <stdint.h>

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

#endif /* CR_SOCKDIAG_H */
