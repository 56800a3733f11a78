// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The coordinator's exchanges with the nodes of a job (layout in
 * coordio.h). A lost connection is how either side learns the other is
 * gone: a node's helper that loses its coordinator lets its part go as it
 * was (node.c).
 */
#include <errno.h>
#include <jansson.h>
#include <munge.h>
#include <poll.h>
#include <sodium.h>
#include <slurm/slurm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "coordio.h"
#include "log.h"
#include "proto.h"
#include "protoauth.h"

double coordio_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void coordio_progress(struct coord *c, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (!c->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	c->progress(buf, c->arg);
}

static int _node_addr(const char *node, char *addr, size_t len)
{
	node_info_msg_t *ni = NULL;

	if (slurm_load_node_single(&ni, (char *)node, SHOW_ALL) == 0 && ni &&
	    ni->record_count == 1 && ni->node_array[0].node_addr)
		snprintf(addr, len, "%s", ni->node_array[0].node_addr);
	else
		snprintf(addr, len, "%s", node);
	if (ni)
		slurm_free_node_info_msg(ni);
	return 0;
}

static int _connect(const struct crd_ctx *ctx, const char *node, char *err, size_t errlen)
{
	char addr[256];
	int fd;

	_node_addr(node, addr, sizeof(addr));
	fd = cr_tcp_connect(addr, ctx->conf.port, 10);
	if (fd == -EHOSTUNREACH)
		snprintf(err, errlen, "cannot resolve node %s (%s)", node, addr);
	else if (fd < 0)
		snprintf(err, errlen, "cannot reach crd on node %s (%s port %u): %s", node, addr,
			 ctx->conf.port, strerror(-fd));
	return fd < 0 ? -EHOSTUNREACH : fd;
}

int coordio_node_alive(const struct crd_ctx *ctx, const char *node, int timeout_s)
{
	char addr[256];
	int fd;

	_node_addr(node, addr, sizeof(addr));
	fd = cr_tcp_connect(addr, ctx->conf.port, timeout_s);
	if (fd >= 0)
		close(fd);
	return fd >= 0 || fd == -ECONNREFUSED;
}

/*
 * The munge credential of a node request, which only root can decode (its
 * key must stay between the two crds); 0 or -errno.
 */
static int _encode(const struct crd_ctx *crd, const struct cr_buf *req, char **cred)
{
	munge_ctx_t ctx = munge_ctx_create();
	munge_err_t e = EMUNGE_NO_MEMORY;

	if (ctx && *crd->munge_socket)
		munge_ctx_set(ctx, MUNGE_OPT_SOCKET, crd->munge_socket);
	if (ctx && !req->oom) {
		e = munge_ctx_set(ctx, MUNGE_OPT_UID_RESTRICTION, (uid_t)0);
		if (e == EMUNGE_SUCCESS)
			e = munge_encode(cred, ctx, req->data, req->len);
	}
	if (ctx)
		munge_ctx_destroy(ctx);
	return e == EMUNGE_SUCCESS ? 0 : e == EMUNGE_NO_MEMORY ? -ENOMEM : -EACCES;
}

/*
 * CR_MSG_NODE: the request travels inside a munge credential, so nodes know
 * it is root's; it names the node, and its key seals the rest of the
 * conversation, which ch is our end of (protoauth.h).
 */
static int _send_node(const struct crd_ctx *crd, int fd, const char *node, uint32_t op,
		      uint32_t jobid, json_t *args, struct cr_chan *ch)
{
	struct cr_node_req r = {.op = op, .jobid = jobid, .target = node};
	struct cr_buf req, msg;
	char *cred = NULL, *s;
	int ret;

	s = json_dumps(args, JSON_COMPACT);
	if (!s || sodium_init() < 0) {
		free(s);
		return -ENOMEM;
	}
	r.args = s;
	cr_node_req_fresh(&r);
	cr_buf_init(&req);
	cr_node_req_pack(&req, &r);
	free(s);
	ret = _encode(crd, &req, &cred);
	sodium_memzero(req.data, req.len);
	cr_buf_free(&req);
	if (!ret) {
		cr_chan_init(ch, fd, CR_END_INITIATOR, &r);
		cr_buf_init(&msg);
		cr_pack_str(&msg, cred);
		ret = cr_send(fd, CR_MSG_NODE, &msg, NULL, 0);
		cr_buf_free(&msg);
	}
	sodium_memzero(r.key, sizeof(r.key));
	free(cred);
	return ret;
}

int coordio_node_open(const struct crd_ctx *ctx, const char *node, uint32_t op, uint32_t jobid,
		      json_t *args, struct cr_chan *ch, char *err, size_t errlen)
{
	int fd = _connect(ctx, node, err, errlen), ret;

	if (fd < 0)
		return fd;
	ret = _send_node(ctx, fd, node, op, jobid, args, ch);
	if (ret) {
		snprintf(err, errlen, "cannot send to crd on node %s: %s", node, strerror(-ret));
		close(fd);
		cr_chan_fini(ch);
		return ret;
	}
	return 0;
}

void coordio_close(struct coord *c)
{
	for (size_t i = 0; i < c->npeers; i++) {
		if (c->peers[i].fd >= 0)
			close(c->peers[i].fd);
		c->peers[i].fd = -1;
		cr_chan_fini(&c->peers[i].ch);
		json_decref(c->peers[i].reply);
		c->peers[i].reply = NULL;
	}
}

/* How bad a failure is: a bad image, then a node's own error, then one that may pass. */
static int _rank(int ret)
{
	return ret == -EBADMSG ? 3 : ret == -EREMOTEIO ? 2 : ret ? 1 : 0;
}

/* A failure from peer p: kept when it is the worst so far (c->err says the worst). */
static int _peer_failed(struct coord *c, int ret, int now, const char *text)
{
	if (!*c->err || _rank(now) > _rank(ret))
		snprintf(c->err, sizeof(c->err), "%.2000s", text);
	return _rank(now) > _rank(ret) ? now : ret;
}

/* Does peer p take part in the round (coordio.h)? */
static int _in_round(const struct coord *c, const struct peer *p)
{
	return c->round < 0 || p->unit == (uint32_t)c->round;
}

int coordio_round_used(const struct coord *c, int round)
{
	for (size_t i = 0; i < c->npeers; i++)
		if (c->peers[i].unit == (uint32_t)round)
			return 1;
	return 0;
}

int coordio_collect(struct coord *c, int timeout_s)
{
	struct pollfd pfd[MAX_NODES];
	double end = coordio_now() + timeout_s;
	char text[CR_MSG_MAX > 65536 ? 65536 : CR_MSG_MAX];
	int ret = 0, left = 0, n;

	for (size_t i = 0; i < c->npeers; i++) {
		struct peer *p = &c->peers[i];

		/* a peer closed when it could not take the request fails it: no silent success */
		if (p->lost) {
			snprintf(text, sizeof(text), "lost the connection to crd on node %s",
				 p->node);
			ret = _peer_failed(c, ret, -EAGAIN, text);
			p->lost = 0;
		}
		p->done = p->fd < 0 || !_in_round(c, p);
		left += !p->done;
	}
	while (left > 0) {
		int wait_ms = (int)((end - coordio_now()) * 1000);
		if (wait_ms <= 0) {
			/* A silent node's connection goes: it undoes its part when it sees that. */
			for (size_t i = 0; i < c->npeers; i++) {
				if (c->peers[i].done)
					continue;
				if (!*c->err)
					snprintf(c->err, sizeof(c->err),
						 "node %s did not answer within %d s",
						 c->peers[i].node, timeout_s);
				close(c->peers[i].fd);
				c->peers[i].fd = -1;
			}
			return ret ? ret : -ETIMEDOUT;
		}
		for (size_t i = 0; i < c->npeers; i++)
			pfd[i] = (struct pollfd){.fd = c->peers[i].done ? -1 : c->peers[i].fd,
						 .events = POLLIN};
		n = poll(pfd, c->npeers, wait_ms);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (size_t i = 0; n > 0 && i < c->npeers; i++) {
			struct peer *p = &c->peers[i];
			int r;

			if (p->done || !pfd[i].revents)
				continue;
			p->done = 1;
			left--;
			r = cr_chan_recv_reply(&p->ch, &p->code, text, sizeof(text));
			if (r == -EBADMSG)
				log_warnx("job %u: %s from node %s refused: %s: dropping the "
					  "conversation",
					  c->jobid, cr_msg_name(p->ch.bad_type), p->node,
					  p->ch.why);
			if (r) {
				close(p->fd);
				p->fd = -1;
				snprintf(text, sizeof(text),
					 "lost the connection to crd on node %s (%s)", p->node,
					 strerror(-r));
				ret = _peer_failed(c, ret, -EAGAIN, text);
				continue;
			}
			if (p->code) {
				r = p->code == CR_E_BADIMG			    ? -EBADMSG
				    : p->code == CR_E_AGAIN || p->code == CR_E_BUSY ? -EAGAIN
										    : -EREMOTEIO;
				ret = _peer_failed(c, ret, r, text);
				continue;
			}
			json_decref(p->reply);
			p->reply = json_loads(text, 0, NULL);
		}
	}
	return ret;
}

void coordio_send_all(struct coord *c, uint32_t type, const struct cr_buf *b)
{
	for (size_t i = 0; i < c->npeers; i++)
		if (c->peers[i].fd >= 0 && cr_chan_send(&c->peers[i].ch, type, b)) {
			close(c->peers[i].fd);
			c->peers[i].fd = -1;
			c->peers[i].lost = 1;
		}
}

void coordio_send_release(struct coord *c, uint32_t how)
{
	struct cr_buf b;

	cr_buf_init(&b);
	cr_pack_u32(&b, how);
	coordio_send_all(c, CR_MSG_RELEASE, &b);
	cr_buf_free(&b);
}

/* RELEASE on every node; what they answer is logged (an abort's not even that). */
void coordio_release_all(struct coord *c, uint32_t how)
{
	char saved[sizeof(c->err)];

	coordio_send_release(c, how);
	memcpy(saved, c->err, sizeof(saved));
	c->err[0] = '\0';
	if (coordio_collect(c, c->maxwait) && how != CR_REL_ABORT)
		log_warnx("job %u: release: %s", c->jobid, c->err);
	memcpy(c->err, saved, sizeof(saved));
}

int coordio_start_all(struct coord *c, uint32_t op, json_t *(*args_for)(struct peer *, void *),
		      void *arg)
{
	json_t *a;
	int fd, ret;

	for (size_t i = 0; i < c->npeers; i++) {
		struct peer *p = &c->peers[i];
		if (!_in_round(c, p))
			continue;
		fd = _connect(c->ctx, p->node, c->err, sizeof(c->err));
		if (fd < 0)
			return fd;
		p->fd = fd;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){c->maxwait + 30, 0},
			   sizeof(struct timeval));
		a = args_for(p, arg);
		ret = a ? _send_node(c->ctx, fd, p->node, op, c->jobid, a, &p->ch) : -ENOMEM;
		json_decref(a);
		if (ret) {
			snprintf(c->err, sizeof(c->err), "cannot send to crd on node %s: %s",
				 p->node, strerror(-ret));
			/* no conversation to go on with there (no key to seal a RELEASE) */
			close(fd);
			p->fd = -1;
			return ret;
		}
	}
	return 0;
}

size_t coordio_expand(const char *nodelist, char names[][128], size_t max)
{
	hostlist_t hl = slurm_hostlist_create(nodelist);
	size_t n = 0;
	char *h;

	while (hl && n < max && (h = slurm_hostlist_shift(hl))) {
		snprintf(names[n++], 128, "%s", h);
		free(h);
	}
	if (hl)
		slurm_hostlist_destroy(hl);
	return n;
}
