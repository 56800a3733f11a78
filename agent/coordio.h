/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The coordinator's exchanges with the nodes of a job (coordio.c): one TCP
 * connection to every node's crd (its node door, node.c), each request in a
 * munge credential of root's; a message to every node, and one reply from
 * each collected within a deadline. The steps that use them are coord.c's.
 */
#ifndef CR_COORDIO_H
#define CR_COORDIO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ctx.h"
#include "proto.h"
#include "protoauth.h"

#define MAX_NODES 256

struct peer {
	char node[128];
	uint32_t slot;
	uint32_t unit;	   /* a restore: which of the job's containers on its node (jobstat.h) */
	int fd;		   /* -1: not connected */
	struct cr_chan ch; /* the conversation on fd (ch.fd is fd while connected) */
	int done;
	int lost; /* a message could not be sent: the next collect fails for it */
	uint32_t code;
	json_t *reply;
};

struct coord {
	const struct crd_ctx *ctx;
	uint32_t jobid;
	struct peer peers[MAX_NODES];
	size_t npeers;
	int maxwait;
	/* start and collect only the peers of this unit (a restore's rounds); -1: all */
	int round;
	void (*progress)(const char *text, void *arg); /* a coord_progress_fn */
	void *arg;
	char err[2048];
};

/* CLOCK_MONOTONIC in seconds. */
double coordio_now(void);
/* A line for the coordinator's caller (crctl's progress), if it wants one. */
void coordio_progress(struct coord *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Close every connection and drop the replies. */
void coordio_close(struct coord *c);
/*
 * One reply from every connected peer, within the deadline. Returns 0 when
 * all said OK, else the worst failure: -EBADMSG (some image does not
 * verify), -EREMOTEIO (a node failed), -EAGAIN (a node lost or a transient
 * failure there: the same may work again) or -ETIMEDOUT; c->err says it.
 */
int coordio_collect(struct coord *c, int timeout_s);

/* Has any peer this unit (a round of a restore)? */
int coordio_round_used(const struct coord *c, int round);
/*
 * The message to every connected peer; a peer that cannot take it is closed
 * and the next coordio_collect fails for it (-EAGAIN).
 */
void coordio_send_all(struct coord *c, uint32_t type, const struct cr_buf *b);
/* RELEASE(how: enum cr_release_how) to every connected peer. */
void coordio_send_release(struct coord *c, uint32_t how);
/* RELEASE and collect; failures are logged (an abort's not even that), c->err kept. */
void coordio_release_all(struct coord *c, uint32_t how);
/* Connect to every peer and send it NODE(op, args_for(peer, arg)); -errno with c->err. */
int coordio_start_all(struct coord *c, uint32_t op, json_t *(*args_for)(struct peer *, void *),
		      void *arg);
/*
 * Does node's crd host answer within timeout_s (a TCP connection to crd's
 * port, accepted or refused)? 0 when it cannot be reached: the node is gone.
 */
int coordio_node_alive(const struct crd_ctx *ctx, const char *node, int timeout_s);

/*
 * One connection to node's crd, NODE(op, jobid, args) sent on it: 0 and
 * the conversation's end in ch (ch->fd, to be closed and cr_chan_fini'd),
 * or -errno with err.
 */
int coordio_node_open(const struct crd_ctx *ctx, const char *node, uint32_t op, uint32_t jobid,
		      json_t *args, struct cr_chan *ch, char *err, size_t errlen);
/* A Slurm node list, expanded into names (at most max). */
size_t coordio_expand(const char *nodelist, char names[][128], size_t max);

#endif
