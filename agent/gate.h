/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crd's TCP gate: a connection is read by crd's own loop, without a worker,
 * until its first message (the munge credential) is whole. Only then is a
 * worker forked for it. A client that sends slowly or not at all holds an
 * fd and a small buffer for at most GATE_DEADLINE_MS; one source address
 * holds at most GATE_PER_ADDR of the GATE_MAX places, and when every place
 * is taken the connection closest to its deadline makes room.
 */
#ifndef CR_GATE_H
#define CR_GATE_H

#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define GATE_MAX	 256
#define GATE_PER_ADDR	 8
#define GATE_DEADLINE_MS 5000
#define GATE_MSG_MAX	 (64u * 1024) /* a credential and a small request */
#define GATE_ACCEPT_MAX	 32	      /* accepted per call: the unix socket is not starved */

struct gate_conn {
	int fd;
	int ready; /* the first message is whole, waiting for a worker */
	struct in6_addr addr;
	int64_t deadline_ms;
	size_t got; /* bytes of header and payload read */
	struct cr_hdr hdr;
	uint8_t *data;
};

/* Counters, for the log. */
struct gate_stats {
	unsigned long accepted, refused_addr, evicted, expired, bad;
};

struct gate {
	struct gate_conn c[GATE_MAX];
	size_t n;
	struct gate_stats st;
};

void gate_init(struct gate *g);
void gate_fini(struct gate *g);
/* Accept what the listening socket holds (up to GATE_ACCEPT_MAX). */
void gate_accept(struct gate *g, int lfd, int64_t now);
/* pfd[i] for connection i that is still being read; returns how many. */
size_t gate_pollfds(const struct gate *g, struct pollfd *pfd);
/* Read what connection @fd has; a bad or closed one is dropped. */
void gate_read(struct gate *g, int fd);
/* Close connections past their deadline; the ms until the next one (or -1). */
int gate_expire(struct gate *g, int64_t now);
/*
 * Hand over a connection whose first message is whole: its fd in *fd and
 * the message in *m (the caller owns both). 0 when there is none.
 */
int gate_take(struct gate *g, int *fd, struct cr_msg *m);

#endif
