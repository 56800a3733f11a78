/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crd's gates: a connection is read by crd's own loop, without a worker,
 * until its first message is whole. Only then is it handed to a worker.
 * A client that sends slowly or not at all holds an fd and a small buffer
 * until the gate's deadline for the whole first message; one source (an
 * address, or a /64 for native IPv6; on the unix socket, a uid) holds at
 * most per_src of the places (its newest closes its oldest), and when every
 * place is taken a source with more than one place makes room. Two gates: the TCP port's
 * (unauthenticated clients, anyone on the network) and the unix socket's (Slurm's prolog and epilog
 * as root, the batch steps' relays as their users), each with its own workers, so neither can take
 * the other's.
 */
#ifndef CR_GATE_H
#define CR_GATE_H

#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/*
 * Fixed, not cr.conf keys: they bound what an unauthenticated client can
 * hold, and no legitimate client comes near them (a request's first
 * message is a few hundred bytes sent at once; a node has one coordinator
 * per job talking to it). crd lowers the places to a quarter of its
 * open-file limit if that is lower (gate_places).
 */
#define GATE_MAX	 256
#define GATE_PER_ADDR	 8
#define GATE_DEADLINE_MS 5000
#define GATE_MSG_MAX	 (64u * 1024) /* a credential and a small request */
#define GATE_ACCEPT_MAX	 32	      /* accepted per call: the other socket is not starved */
/* A source whose credential was refused gets no worker for this long. */
#define GATE_COOL_MS  1000
#define GATE_COOL_MAX 64

struct gate_conf {
	size_t places;	  /* <= GATE_MAX */
	size_t per_src;	  /* places one source may hold */
	int deadline_ms;  /* for the whole first message, from accept */
	uint32_t types;	  /* accepted first messages: 1u << CR_MSG_* */
	int cred;	  /* the first message is a munge credential, nothing else */
	int unix_socket;  /* sources are peer uids; root's are never refused nor evicted */
	uint32_t msg_max; /* a first message's most bytes; 0: GATE_MSG_MAX */
};

struct gate_conn {
	int fd;
	int ready; /* the first message is whole, waiting for a worker */
	int root;  /* unix socket: uid 0 (Slurm's prolog and epilog) */
	struct in6_addr src;
	int64_t deadline_ms;
	size_t got; /* bytes of header and payload read */
	struct cr_hdr hdr;
	uint8_t *data;
};

/* Counters, for the log. */
struct gate_stats {
	unsigned long accepted, refused_addr, evicted, expired, bad;
	unsigned long refused_cred; /* gate_cool: a worker refused the credential */
	int64_t held_ms;	    /* the longest a connection stayed, accept to close or worker */
};

struct gate_cool {
	struct in6_addr src;
	int64_t until_ms;
};

struct gate {
	struct gate_conf conf;
	struct gate_conn c[GATE_MAX];
	size_t n;
	struct gate_cool cool[GATE_COOL_MAX];
	struct gate_stats st;
};

/* Places for a gate given crd's open-file limit: a quarter of it, at most GATE_MAX. */
size_t gate_places(unsigned long nofile);
void gate_init(struct gate *g, const struct gate_conf *conf);
void gate_fini(struct gate *g);
/* Accept what the listening socket holds (up to GATE_ACCEPT_MAX). */
void gate_accept(struct gate *g, int lfd, int64_t now);
/* pfd[i] for connection i that is still being read; returns how many. */
size_t gate_pollfds(const struct gate *g, struct pollfd *pfd);
/* Read what connection @fd has; a bad or closed one is dropped. */
void gate_read(struct gate *g, int fd, int64_t now);
/* Close connections past their deadline; the ms until the next one (or -1). */
int gate_expire(struct gate *g, int64_t now);
/*
 * Hand over a connection whose first message is whole, root's first, then
 * the oldest, none from a source cooling down: its fd in *fd, the message
 * in *m (the caller owns both), its source in *src and its deadline in
 * *deadline_ms. 0 when there is none.
 */
int gate_take(struct gate *g, int64_t now, int *fd, struct cr_msg *m, struct in6_addr *src,
	      int64_t *deadline_ms);
/* @src's credential was refused: none of its connections gets a worker until now + ms. */
void gate_cool(struct gate *g, const struct in6_addr *src, int64_t now, int ms);

#endif
