// SPDX-License-Identifier: LGPL-2.1-or-later
/* crd's TCP port: a munge-authenticated request, to the crctl door or the node door. */
#include <errno.h>
#include <jansson.h>
#include <munge.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "ctl.h"
#include "door.h"
#include "log.h"
#include "node.h"
#include "proto.h"

static int _decode(int fd, struct cr_msg *m, const char *munge_socket, void **payload, int *plen,
		   uid_t *uid)
{
	const char *cred;
	munge_ctx_t ctx;
	munge_err_t e;
	gid_t gid;

	if (cr_unpack_str(m, &cred) || cr_unpack_done(m))
		return -EPROTO;
	ctx = munge_ctx_create();
	if (!ctx)
		return -ENOMEM;
	if (munge_socket && *munge_socket)
		munge_ctx_set(ctx, MUNGE_OPT_SOCKET, munge_socket);
	e = munge_decode(cred, ctx, payload, plen, uid, &gid);
	munge_ctx_destroy(ctx);
	if (e != EMUNGE_SUCCESS) {
		/*
		 * Not logged as a warning: anyone can send one, as often as crd
		 * takes them. crd counts them (gate_cool) and the client is told why.
		 */
		log_debug("ctl: fd %d: munge: %s", fd, munge_strerror(e));
		cr_send_err(fd, CR_E_PERM, "munge credential refused: %s", munge_strerror(e));
		return -EACCES;
	}
	return *plen < 0 ? -EPROTO : 0;
}

/* The node door: only another crd (root) coordinates. */
static void _node_door(const struct crd_ctx *ctx, int fd, uid_t uid, uint32_t op, uint32_t jobid,
		       struct cr_msg *req)
{
	const char *text;

	if (uid != 0 || cr_unpack_str(req, &text) || cr_unpack_done(req)) {
		log_warnx("node request from uid %u refused", uid);
		cr_send_err(fd, CR_E_PERM, "node requests come from crd only");
		return;
	}
	node_request(ctx, fd, op, jobid, text);
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
	void *payload = NULL;
	int plen = 0, ret;
	uid_t uid;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){5, 0}, sizeof(struct timeval));
	ret = _decode(fd, &m, ctx->munge_socket, &payload, &plen, &uid);
	if (ret) {
		ret = ret == -ENOMEM ? ret : -EACCES; /* not a credential is refused too */
		goto out;
	}
	setitimer(ITIMER_REAL, &(struct itimerval){0},
		  NULL);			  /* crd's worker: the gate's deadline */
	(void)!write(authed_fd, &me, sizeof(me)); /* atomic: less than PIPE_BUF */
	req.hdr.len = CR_HDR_SIZE + plen;
	req.data = payload;
	if (cr_unpack_u32(&req, &version) || version != CR_PROTO_VERSION ||
	    cr_unpack_u32(&req, &cmd) || cr_unpack_u32(&req, &jobid)) {
		log_warnx("ctl: uid %u: malformed request (%d bytes): closing", uid, plen);
		ret = -EPROTO;
		goto out;
	}
	if (m.hdr.type == CR_MSG_NODE)
		_node_door(ctx, fd, uid, cmd, jobid, &req);
	else
		_ctl_door(ctx, fd, uid, cmd, jobid, &req);
out:
	free(payload);
	cr_msg_free(&m);
	return ret;
}
