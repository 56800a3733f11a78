// SPDX-License-Identifier: LGPL-2.1-or-later
/* crd's TCP port: a munge-authenticated request, to the crctl door or the node door. */
#include <errno.h>
#include <jansson.h>
#include <munge.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "door.h"
#include "log.h"
#include "node.h"
#include "nonces.h"
#include "proto.h"
#include "protoauth.h"

/* The credential's payload and uid, and when it expires (munge refuses it from then on). */
struct door_cred {
	void *payload;
	int plen;
	uid_t uid;
	time_t expires;
};

static int _decode(int fd, struct cr_msg *m, const char *munge_socket, struct door_cred *dc)
{
	const char *cred;
	munge_ctx_t ctx;
	munge_err_t e;
	time_t encoded = 0;
	int ttl = 0;
	gid_t gid;

	if (cr_unpack_str(m, &cred) || cr_unpack_done(m))
		return -EPROTO;
	ctx = munge_ctx_create();
	if (!ctx)
		return -ENOMEM;
	if (*munge_socket) /* an array in crd_ctx: never NULL */
		munge_ctx_set(ctx, MUNGE_OPT_SOCKET, munge_socket);
	e = munge_decode(cred, ctx, &dc->payload, &dc->plen, &dc->uid, &gid);
	if (e == EMUNGE_SUCCESS && (munge_ctx_get(ctx, MUNGE_OPT_ENCODE_TIME, &encoded) ||
				    munge_ctx_get(ctx, MUNGE_OPT_TTL, &ttl)))
		e = EMUNGE_SNAFU;
	munge_ctx_destroy(ctx);
	dc->expires = encoded + ttl;
	if (e == EMUNGE_CRED_REPLAYED && m->hdr.type == CR_MSG_NODE) {
		/* a node request's credential is used once: a second one is an attack */
		log_warnx("node request from %s refused: replayed credential (munge: %s)",
			  cr_peer_text(fd).s, munge_strerror(e));
	}
	if (e != EMUNGE_SUCCESS) {
		/*
		 * Not logged as a warning: anyone can send one, as often as crd
		 * takes them. crd counts them (gate_cool) and the client is told why.
		 */
		log_debug("ctl: fd %d: munge: %s", fd, munge_strerror(e));
		cr_send_err(fd, CR_E_PERM, "munge credential refused: %s", munge_strerror(e));
		return -EACCES;
	}
	return dc->plen < 0 ? -EPROTO : 0;
}

/*
 * The node door: only another crd (root) coordinates, with a request for
 * this node that no one sent here before; the rest of the conversation is
 * sealed with the request's key (protoauth.h).
 */
static void _node_door(const struct crd_ctx *ctx, int fd, const struct door_cred *dc,
		       struct cr_msg *req)
{
	const char *me = ctx->conf.node_name;
	struct cr_node_req r;
	struct cr_chan ch;
	int ret;

	if (dc->uid != 0 || cr_node_req_unpack(req, &r)) {
		log_warnx("node request from uid %u at %s refused (%d bytes)", dc->uid,
			  cr_peer_text(fd).s, dc->plen);
		cr_send_err(fd, CR_E_PERM, "node requests come from crd only");
		return;
	}
	if (!r.target || strcmp(r.target, me)) { /* (never NULL once unpacked) */
		log_warnx("job %u: node request for node %s from %s refused: this is node %s",
			  r.jobid, r.target ?: "?", cr_peer_text(fd).s, me);
		cr_send_err(fd, CR_E_PERM, "node %s: the request is for node %s", me,
			    r.target ?: "?");
		goto out;
	}
	ret = nonce_claim(ctx->conf.state_dir, r.nonce, sizeof(r.nonce), dc->expires);
	if (ret) {
		log_warnx("job %u: node request from %s refused: %s", r.jobid, cr_peer_text(fd).s,
			  ret == -EALREADY ? "replayed (its nonce was seen before)"
					   : "cannot record its nonce");
		cr_send_err(fd, CR_E_PERM, "node %s: request refused: %s", me,
			    ret == -EALREADY ? "replayed" : "cannot record its nonce");
		goto out;
	}
	cr_chan_init(&ch, fd, CR_END_NODE, &r);
	node_request(ctx, &ch, r.op, r.jobid, r.args);
	cr_chan_fini(&ch);
out:
	sodium_memzero(r.key, sizeof(r.key));
}

/* The crctl door: a user's or an admin's request. */
static void _ctl_door(const struct crd_ctx *ctx, int fd, uid_t uid, uint32_t cmd, uint32_t jobid,
		      struct cr_msg *req)
{
	uint32_t flags;
	const char *text;
	json_t *opts;

	if (cr_unpack_u32(req, &flags) || cr_unpack_str(req, &text) || cr_unpack_done(req) ||
	    cmd == 0 || cmd >= CR_CTL_MAXCMD || !(opts = json_loads(text, 0, NULL))) {
		log_warnx("ctl: uid %u: malformed request (%u bytes): closing", uid,
			  (unsigned)(req->hdr.len - CR_HDR_SIZE));
		return;
	}
	ctl_request(ctx, fd, uid, cmd, jobid, opts);
	json_decref(opts);
}

int door_request(const struct crd_ctx *ctx, int fd, struct cr_msg *first, int authed_fd)
{
	pid_t me = getpid();
	uint32_t version, cmd, jobid;
	struct cr_msg m = *first, req = {0};
	struct door_cred dc = {0};
	int ret;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){5, 0}, sizeof(struct timeval));
	ret = _decode(fd, &m, ctx->munge_socket, &dc);
	if (ret) {
		ret = ret == -ENOMEM ? ret : -EACCES; /* not a credential is refused too */
		goto out;
	}
	setitimer(ITIMER_REAL, &(struct itimerval){0},
		  NULL);			  /* crd's worker: the gate's deadline */
	(void)!write(authed_fd, &me, sizeof(me)); /* atomic: less than PIPE_BUF */
	req.hdr.len = CR_HDR_SIZE + dc.plen;
	req.data = dc.payload;
	if (m.hdr.type == CR_MSG_NODE) {
		_node_door(ctx, fd, &dc, &req);
		goto out;
	}
	if (cr_unpack_u32(&req, &version) || version != CR_PROTO_VERSION ||
	    cr_unpack_u32(&req, &cmd) || cr_unpack_u32(&req, &jobid)) {
		log_warnx("ctl: uid %u: malformed request (%d bytes): closing", dc.uid, dc.plen);
		ret = -EPROTO;
		goto out;
	}
	_ctl_door(ctx, fd, dc.uid, cmd, jobid, &req);
out:
	if (dc.payload)
		sodium_memzero(dc.payload, dc.plen > 0 ? dc.plen : 0);
	free(dc.payload);
	cr_msg_free(&m);
	return ret;
}
