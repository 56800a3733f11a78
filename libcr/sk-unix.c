// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unix sockets: each socket once (a cr_unix_sk_rec, by inode), with what
 * sock_diag says of it (peer, name, state, shutdown, a listener's pending
 * connections) and what only the socket answers (buffer sizes, SO_PASSCRED,
 * the queued messages, read with MSG_PEEK from SO_PEEK_OFF so the tree
 * loses nothing and datagrams keep their boundaries).
 * Restore, in the restarter before any fork: a listener is bound and
 * listens; a pair whose ends both are in the image is made at once, by
 * socketpair() or, when one end has its listener's name (accepted), by
 * connect() and accept() on that listener; a pending connection by a
 * connect() left unaccepted; a datagram socket connected one way by
 * connect() to its restored peer. Each receive queue is refilled by sending
 * from the peer end (or a temporary socket, for a named datagram socket),
 * then buffer sizes, SO_PASSCRED and shutdown are set.
 * The queues (fds in flight too) are read and sent again by sk-queue.c;
 * one with fds in flight is refilled last, once every file is open.
 * Refused: a peer outside the tree, a relative path name, data on a
 * connection not yet accepted; in flight (sk-queue.c): a unix socket whose
 * own queue holds fds in flight.
 * Under the owner policy all of it is done as the owner (owner_act_begin):
 * names are bound, stale socket files removed and connected to with the
 * owner's rights, and buffer sizes set with SO_SNDBUF/SO_RCVBUF, which the
 * kernel caps at net.core.[wr]mem_max, instead of the *FORCE options.
 */
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "unix: "
#include "log.h"
#include "files.h"
#include "owner-act.h"
#include "sk-queue.h"
#include "sockdiag.h"

/* The domain only the socket knows: asked of a copy of the fd. */
static bool recognise_unix(const struct fd_info *fi)
{
	int domain = 0, fd;
	socklen_t len = sizeof(domain);

	if (!S_ISSOCK(fi->st.st_mode) || (fd = steal_fd(fi)) < 0)
		return false;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
		domain = 0;
	close(fd);
	return domain == AF_UNIX;
}

/* ---- the tree's sockets (check) ---- */

/*
 * A datagram queue may start with an empty message (fds alone): rqueue,
 * the first one's length, is 0 then.
 */
static bool may_hold_data(const struct unix_diag_info *di)
{
	return di->state != TCP_LISTEN && (di->rqueue || di->type != SOCK_STREAM);
}

/* Is @ino in flight in a queue of a unix socket the tree holds? (the slow way: peeked) */
static int in_flight(struct dump_ctx *ctx, uint32_t ino, bool *yes)
{
	const struct unix_diag_info *di;
	uint32_t hino, last = 0;
	struct fd_info fi;
	int ret = 0;

	*yes = false;
	for (size_t i = 0; !ret && !*yes; i++) {
		fi = (struct fd_info){.ctx = ctx, .root = ctx->root};
		ret = sk_index_holder(ctx, i, &hino, &fi.pid, &fi.fd);
		if (ret == -ENOENT)
			return 0;
		if (ret || hino == last || (ret = sk_index_unix(ctx, hino, &di)) || !di ||
		    !may_hold_data(di))
			continue;
		last = hino;
		fi.st.st_ino = hino;
		ret = sk_queue_holds(&fi, ino, yes);
	}
	return ret;
}

/*
 * Is @ino held by a task of the tree (unless @pending_only), in flight in
 * a queue of one of its sockets, or the client of a connection pending on a
 * listener of it? (the dump's index: sockdiag.h)
 */
static int in_tree(struct dump_ctx *ctx, uint32_t ino, bool pending_only, bool *yes)
{
	int ret = pending_only ? 0 : sk_index_held(ctx, ino, yes);

	if (!ret && (pending_only || !*yes))
		ret = sk_index_pending(ctx, ino, yes);
	if (!ret && !pending_only && !*yes)
		ret = in_flight(ctx, ino, yes);
	return ret;
}

static int refuse_outside(const struct fd_info *fi, uint32_t ino, uint32_t peer, const char *what)
{
	const struct unix_diag_info *pd;
	char nb[CR_UNIX_NAME_LEN + 2];
	const char *name = "closed";
	bool yes;
	int ret = in_tree(fi->ctx, peer, false, &yes);

	if (ret || yes)
		return ret;
	ret = sk_index_unix(fi->ctx, peer, &pd);
	if (ret)
		return ret;
	if (pd)
		name = unix_name_str(pd->name, pd->namelen, nb, sizeof(nb));
	pr_err("Task %d fd %d: unix socket %u %s socket %u (%s) outside the tree: not supported\n",
	       fi->pid, fi->fd, ino, what, peer, name);
	return -ENOTSUP;
}

/* A listener: each pending connection must come from the tree and carry no data yet. */
static int check_pending(const struct fd_info *fi, const struct unix_diag_info *di)
{
	const struct unix_diag_info *cd;
	int ret = 0;

	/* ICONS names the clients: the accepting ends have no inode yet */
	for (uint32_t k = 0; k < di->nicons && !ret; k++) {
		if (!di->icons[k] || (ret = sk_index_unix(fi->ctx, di->icons[k], &cd)) || !cd)
			continue; /* the client is gone: nothing to connect */
		if (cd->wqueue) {
			pr_err("Task %d fd %d: a connection pending on unix listener %u holds %u "
			       "bytes not yet accepted: not supported\n",
			       fi->pid, fi->fd, di->ino, cd->wqueue);
			ret = -ENOTSUP;
		} else {
			ret = refuse_outside(fi, di->ino, cd->ino, "has a pending connection from");
		}
	}
	return ret;
}

/* Connected, no peer, not shut down by a closing peer: pending on a listener of the tree? */
static int check_client(const struct fd_info *fi, const struct unix_diag_info *di)
{
	bool yes;
	int ret = in_tree(fi->ctx, di->ino, true, &yes);

	if (ret || yes)
		return ret;
	pr_err("Task %d fd %d: unix socket %u waits to be accepted by a listener outside the "
	       "tree: not supported\n",
	       fi->pid, fi->fd, di->ino);
	return -ENOTSUP;
}

static int check_unix(const struct fd_info *fi)
{
	const struct unix_diag_info *di;
	int ret = sk_index_unix(fi->ctx, fi->st.st_ino, &di);

	if (ret)
		return ret;
	if (!di) {
		pr_err("Task %d fd %d: unix socket %lu is not in our network namespace\n", fi->pid,
		       fi->fd, (unsigned long)fi->st.st_ino);
		return -ENOTSUP;
	}
	if (di->namelen && di->name[0] && di->name[0] != '/') {
		pr_err("Task %d fd %d: unix socket %u is bound to the relative path %.*s: "
		       "not supported\n",
		       fi->pid, fi->fd, di->ino, (int)di->namelen, di->name);
		return -ENOTSUP;
	}
	if (di->peer)
		return refuse_outside(fi, di->ino, di->peer, "is connected to");
	if (di->state == TCP_LISTEN)
		return check_pending(fi, di);
	if (di->type != SOCK_DGRAM && di->state == TCP_ESTABLISHED && (di->shutdown & 3) != 3)
		return check_client(fi, di);
	return 0;
}

/* ---- dump ---- */

static int sockopt(int sk, int opt, uint32_t *val)
{
	int v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(sk, SOL_SOCKET, opt, &v, &len) < 0)
		return -errno;
	*val = v;
	return 0;
}

/* Buffer sizes, SO_PASSCRED, the queue: from a copy of the task's fd. */
static int dump_from_fd(struct cr_img *img, const struct fd_info *fi,
			const struct unix_diag_info *di, struct cr_unix_sk_rec *r,
			struct sk_queue *q)
{
	int sk = steal_fd(fi), peek_off = -1, ret;
	socklen_t len = sizeof(peek_off);

	if (sk < 0)
		return sk;
	ret = sockopt(sk, SO_SNDBUF, &r->sndbuf);
	if (!ret)
		ret = sockopt(sk, SO_RCVBUF, &r->rcvbuf);
	if (!ret)
		ret = sockopt(sk, SO_PASSCRED, &r->passcred);
	if (ret) {
		errno = -ret;
		pr_perror("Task %d fd %d: can't read the options of unix socket %u", fi->pid,
			  fi->fd, di->ino);
	}
	if (!ret && may_hold_data(di)) {
		/* SO_PEEK_OFF belongs to the socket: the task's own is put back */
		if (getsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &peek_off, &len) < 0)
			peek_off = -1;
		ret = sk_queue_peek(img, fi, sk, di, q);
		setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &peek_off, sizeof(peek_off));
	}
	close(sk);
	return ret;
}

static void fill_rec(struct cr_unix_sk_rec *r, const struct unix_diag_info *di)
{
	r->ino = di->ino;
	r->peer = di->peer;
	r->type = di->type;
	r->state = di->state;
	r->shutdown = di->shutdown;
	r->backlog = di->state == TCP_LISTEN ? di->wqueue : 0;
	r->namelen = di->namelen;
	memcpy(r->name, di->name, di->namelen);
}

/* The pending connections of a listener: records of their own, held by no fd. */
#define PENDING_ID(client) (1ULL << 32 | (client)) /* never an inode (32 bits) */
static int dump_pending(struct cr_img *img, struct dump_ctx *ctx, const struct unix_diag_info *l)
{
	struct cr_unix_sk_rec r;
	int ret = 0;

	for (uint32_t k = 0; k < l->nicons && !ret; k++) {
		if (!l->icons[k])
			continue;
		ret = claim_dump_object(ctx, CR_REC_UNIX_SK, PENDING_ID(l->icons[k]));
		if (ret <= 0)
			continue;
		r = (struct cr_unix_sk_rec){.ino = PENDING_ID(l->icons[k]),
					    .peer = l->icons[k],
					    .listener = l->ino,
					    .type = l->type,
					    .state = TCP_ESTABLISHED};
		ret = cr_img_write(img, CR_REC_UNIX_SK, &r, sizeof(r));
	}
	return ret;
}

static int dump_unix(struct cr_img *img, struct dump_ctx *ctx, const struct fd_info *fi,
		     struct cr_file_rec *rec)
{
	struct cr_unix_sk_rec *r;
	struct unix_diag_info di;
	struct sk_queue q = {0};
	int ret;

	rec->obj_id = fi->st.st_ino;
	ret = claim_dump_object(ctx, CR_REC_UNIX_SK, rec->obj_id);
	if (ret <= 0)
		return ret;
	ret = unix_diag_get(fi->st.st_ino, &di);
	if (ret)
		return ret;
	r = calloc(1, sizeof(*r));
	if (!r) {
		free(di.icons);
		return -ENOMEM;
	}
	fill_rec(r, &di);
	ret = dump_from_fd(img, fi, &di, r, &q);
	r->nmsgs = q.nmsgs;
	r->ndata = q.len;
	r->nfdwords = q.nfdw;
	if (!ret)
		ret = cr_img_write2(img, CR_REC_UNIX_SK, r, sizeof(*r), q.buf,
				    q.len + q.nfdw * sizeof(uint32_t));
	if (!ret && di.state == TCP_LISTEN)
		ret = dump_pending(img, ctx, &di);
	sk_queue_free(&q);
	free(r);
	free(di.icons);
	return ret;
}

/* ---- restore ---- */

static int collect_unix(struct cr_img *img, const struct cr_rec_hdr *h, struct rst_file_obj *obj)
{
	struct cr_unix_sk_rec *r = obj->rec;
	size_t tail = h->len < sizeof(*r) ? 0 : r->ndata + (size_t)r->nfdwords * sizeof(uint32_t);
	int ret = image_check_len(img, h, sizeof(*r), tail);

	if (!ret)
		ret = sk_queue_check(r);
	if (ret)
		return ret;
	if (r->namelen > sizeof(r->name)) {
		pr_err("Unix socket %llu: name of %u bytes\n", (unsigned long long)r->ino,
		       r->namelen);
		return -EBADMSG;
	}
	obj->id = r->ino;
	return 0;
}

static struct rst_file_obj *sk_obj(struct rst_image *img, uint64_t ino)
{
	return ino ? find_file_obj(img, CR_REC_UNIX_SK, ino) : NULL;
}

static bool same_name(const struct cr_unix_sk_rec *a, const struct cr_unix_sk_rec *b)
{
	return a->namelen && a->namelen == b->namelen && !memcmp(a->name, b->name, a->namelen);
}

/* The listener of the image bound to @r's name (r accepted from it), or NULL. */
static struct rst_file_obj *listener_of(struct rst_image *img, const struct cr_unix_sk_rec *r)
{
	for (size_t i = 0; i < img->nfobjs; i++) {
		const struct cr_unix_sk_rec *l = img->fobjs[i].rec;

		if (img->fobjs[i].type == CR_REC_UNIX_SK && l != r && l->state == TCP_LISTEN &&
		    same_name(l, r))
			return &img->fobjs[i];
	}
	return NULL;
}

static socklen_t sk_addr(const struct cr_restore_opts *opts, const struct cr_unix_sk_rec *r,
			 struct sockaddr_un *a)
{
	char buf[CR_PATH_LEN], path[sizeof(a->sun_path) + 1] = "";
	const char *p;

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (r->namelen && !r->name[0]) {
		memcpy(a->sun_path, r->name, r->namelen);
		return offsetof(struct sockaddr_un, sun_path) + r->namelen;
	}
	memcpy(path, r->name, r->namelen);
	p = remap_path(opts, path, buf, sizeof(buf));
	if (strlen(p) >= sizeof(a->sun_path)) {
		/* never a shorter, other path: 0 makes bind() and connect() fail (EINVAL) */
		pr_err("Unix socket %llu: path %s is too long for a socket name\n",
		       (unsigned long long)r->ino, p);
		return 0;
	}
	snprintf(a->sun_path, sizeof(a->sun_path), "%s", p);
	return offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1;
}

/*
 * The socket file left at a path by the dumped socket: removed only if it
 * is a socket that nobody answers on (a live one is someone's: refused).
 */
static int clear_stale(const struct cr_unix_sk_rec *r, const struct sockaddr_un *a, socklen_t alen)
{
	struct stat st;
	int probe, err;

	if (lstat(a->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		pr_err("Unix socket %llu: %s exists and is not a socket\n",
		       (unsigned long long)r->ino, a->sun_path);
		return -EEXIST;
	}
	probe = socket(AF_UNIX, r->type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (probe < 0)
		return -errno;
	err = connect(probe, (const struct sockaddr *)a, alen) ? errno : 0;
	close(probe);
	if (err == EACCES) {
		pr_err("Unix socket %llu: the stale socket file %s can't be reached\n",
		       (unsigned long long)r->ino, a->sun_path);
		return -EACCES;
	}
	if (err != ECONNREFUSED) {
		pr_err("Unix socket %llu: %s is in use by a live socket\n",
		       (unsigned long long)r->ino, a->sun_path);
		return -EADDRINUSE;
	}
	if (unlink(a->sun_path) < 0) {
		pr_perror("Unix socket %llu: can't remove the stale socket file %s",
			  (unsigned long long)r->ino, a->sun_path);
		return -errno;
	}
	return 0;
}

/* A new socket of @r's type, bound to its name unless a listener of the image holds it. */
static int make_sock(struct rst_image *img, const struct cr_restore_opts *opts,
		     const struct cr_unix_sk_rec *r, int *fd)
{
	struct sockaddr_un a;
	socklen_t alen = sk_addr(opts, r, &a);
	int ret = 0;

	/* non-blocking: a connect() to a full backlog fails, never waits (open_unix sets flags) */
	if (*fd < 0)
		*fd = socket(AF_UNIX, r->type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (*fd < 0) {
		pr_perror("Can't make unix socket %llu", (unsigned long long)r->ino);
		return -errno;
	}
	if (!r->namelen || (r->state != TCP_LISTEN && listener_of(img, r)))
		return 0; /* accepted: the name is its listener's */
	if (!alen)
		return -ENAMETOOLONG;
	if (a.sun_path[0])
		ret = clear_stale(r, &a, alen);
	if (!ret && bind(*fd, (struct sockaddr *)&a, alen) < 0)
		ret = -errno;
	if (ret) {
		int hfd;
		pid_t pid = owner_holder(img, CR_FILE_UNIX_SK, r->ino, &hfd);

		pr_err("Task %d fd %d: Can't bind unix socket %llu to %s: %s\n", pid, hfd,
		       (unsigned long long)r->ino, a.sun_path[0] ? a.sun_path : "its abstract name",
		       strerror(-ret));
	}
	return ret;
}

/* Datagrams to a named socket: from a temporary socket, as their senders may be gone. */
static int refill_by_name(struct rst_image *img, const struct cr_restore_opts *opts,
			  const struct cr_unix_sk_rec *r)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret;
	struct sockaddr_un a;

	if (fd < 0 || !r->namelen || r->type != SOCK_DGRAM) {
		pr_err("Unix socket %llu: no way to refill its queue\n",
		       (unsigned long long)r->ino);
		ret = -ENOTSUP;
	} else {
		ret = sk_queue_refill(img, opts, r, fd, &a, sk_addr(opts, r, &a));
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

/*
 * A queue with fds in flight is refilled (and its socket finished after:
 * a shutdown would stop the refill) by complete_unix, once every file is open.
 */
static bool waits_for_files(const struct cr_unix_sk_rec *r)
{
	return r->nfdwords != 0;
}

static int finish(const struct cr_restore_opts *opts, int fd, const struct cr_unix_sk_rec *r)
{
	int snd = r->sndbuf / 2, rcv = r->rcvbuf / 2, pc = r->passcred;
	int how = (r->shutdown & 3) == 3 ? SHUT_RDWR : (r->shutdown & 1) ? SHUT_RD : SHUT_WR;
	bool own = opts && opts->owner; /* as the owner could: capped at [wr]mem_max */

	if (setsockopt(fd, SOL_SOCKET, own ? SO_SNDBUF : SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, own ? SO_RCVBUF : SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &pc, sizeof(pc)) < 0 ||
	    (r->shutdown & 3 && shutdown(fd, how) < 0)) {
		pr_perror("Can't set the options of unix socket %llu", (unsigned long long)r->ino);
		return -errno;
	}
	return 0;
}

/*
 * @fd (non-blocking) connected to @to's name. A listener whose backlog is
 * full fails at once (EAGAIN): net.core.somaxconn here may be lower than
 * where the pending connections were made.
 */
static int connect_to(const struct cr_restore_opts *opts, int fd, const struct cr_unix_sk_rec *r,
		      const struct cr_unix_sk_rec *to)
{
	struct sockaddr_un a;
	char *max;
	int ret;

	if (!connect(fd, (struct sockaddr *)&a, sk_addr(opts, to, &a)))
		return 0;
	ret = -errno;
	if (ret != -EAGAIN) {
		pr_perror("Can't connect unix socket %llu to %llu", (unsigned long long)r->ino,
			  (unsigned long long)to->ino);
		return ret;
	}
	max = proc_read_file("/proc/sys/net/core/somaxconn");
	pr_err("Can't connect unix socket %llu to listener %llu: its backlog is full (backlog %u "
	       "in the image, net.core.somaxconn %d here)\n",
	       (unsigned long long)r->ino, (unsigned long long)to->ino, to->backlog,
	       max ? atoi(max) : -1);
	free(max);
	return ret;
}

/* The queues of a pair, each sent from the other end; then both finished. */
static int fill_pair(struct rst_image *img, const struct cr_restore_opts *opts,
		     const struct rst_file_obj *o, const struct rst_file_obj *po)
{
	const struct cr_unix_sk_rec *r = o->rec, *pr = po->rec;
	int ret = sk_queue_refill(img, opts, r, po->svc_fd[0], NULL, 0);

	if (!ret)
		ret = sk_queue_refill(img, opts, pr, o->svc_fd[0], NULL, 0);
	if (!ret)
		ret = finish(opts, o->svc_fd[0], r);
	return ret ? ret : finish(opts, po->svc_fd[0], pr);
}

/* Connected to each other: by connect()/accept() on their listener, else socketpair(). */
static int make_pair(struct rst_image *img, const struct cr_restore_opts *opts,
		     struct rst_file_obj *o, struct rst_file_obj *po)
{
	const struct cr_unix_sk_rec *r = o->rec, *pr = po->rec;
	struct rst_file_obj *l = listener_of(img, r), *pl = listener_of(img, pr);
	int fd[2] = {-1, -1}, ret;

	if ((l && l->svc_fd[0] < 0) || (pl && pl->svc_fd[0] < 0))
		return CR_AGAIN;
	if (l || pl) { /* fd[0] the accepted end */
		bool mine = l != NULL;

		ret = make_sock(img, opts, mine ? pr : r, &fd[1]);
		if (!ret)
			ret = connect_to(opts, fd[1], mine ? pr : r, (mine ? l : pl)->rec);
		if (!ret &&
		    (fd[0] = accept4((mine ? l : pl)->svc_fd[0], NULL, NULL, SOCK_CLOEXEC)) < 0)
			ret = -errno;
		if (!mine) {
			int t = fd[0];

			fd[0] = fd[1];
			fd[1] = t;
		}
	} else {
		ret = socketpair(AF_UNIX, r->type | SOCK_CLOEXEC, 0, fd) ? -errno : 0;
		if (!ret)
			ret = make_sock(img, opts, r, &fd[0]);
		if (!ret)
			ret = make_sock(img, opts, pr, &fd[1]);
	}
	o->svc_fd[0] = fd[0];
	po->svc_fd[0] = fd[1];
	if (ret) {
		errno = -ret;
		pr_perror("Can't connect unix sockets %llu and %llu", (unsigned long long)r->ino,
			  (unsigned long long)pr->ino);
		return ret;
	}
	if (waits_for_files(r) || waits_for_files(pr))
		return 0;
	return fill_pair(img, opts, o, po);
}

/* Does an accepted pair of listener @l wait to be made? (it must go first) */
static bool accepts_left(struct rst_image *img, const struct rst_file_obj *l)
{
	for (size_t i = 0; i < img->nfobjs; i++) {
		const struct cr_unix_sk_rec *r = img->fobjs[i].rec;

		if (img->fobjs[i].type == CR_REC_UNIX_SK && !r->listener && r->peer &&
		    r->state != TCP_LISTEN && same_name(r, l->rec) && img->fobjs[i].svc_fd[0] < 0)
			return true;
	}
	return false;
}

/* Connected one way: the queue first (a connected datagram socket takes only its peer's). */
static int fill_connected(struct rst_image *img, const struct cr_restore_opts *opts,
			  const struct rst_file_obj *o, const struct rst_file_obj *to)
{
	const struct cr_unix_sk_rec *r = o->rec;
	int ret = r->ndata ? refill_by_name(img, opts, r) : 0;

	if (!ret)
		ret = connect_to(opts, o->svc_fd[0], r, to->rec);
	return ret ? ret : finish(opts, o->svc_fd[0], r);
}

/* Connected one way: to a named datagram socket, or to a listener (pending). */
static int make_connected(struct rst_image *img, const struct cr_restore_opts *opts,
			  struct rst_file_obj *o, struct rst_file_obj *po)
{
	const struct cr_unix_sk_rec *r = o->rec, *pr = po->rec;
	struct rst_file_obj *to = pr->listener ? sk_obj(img, pr->listener) : po;
	int fd = -1, ret;

	if (!to) {
		pr_err("Unix socket %llu: listener %llu is missing from the image\n",
		       (unsigned long long)r->ino, (unsigned long long)pr->listener);
		return -EBADMSG;
	}
	if (to->svc_fd[0] < 0 || (pr->listener && accepts_left(img, to)))
		return CR_AGAIN;
	ret = make_sock(img, opts, r, &fd);
	o->svc_fd[0] = fd;
	if (ret || waits_for_files(r))
		return ret;
	return fill_connected(img, opts, o, to);
}

/* No peer: its queue sent from @sender (the peer, closed since) or from no socket. */
static int fill_alone(struct rst_image *img, const struct cr_restore_opts *opts,
		      const struct rst_file_obj *o, int sender)
{
	const struct cr_unix_sk_rec *r = o->rec;
	int ret = 0;

	if (sender >= 0)
		ret = sk_queue_refill(img, opts, r, sender, NULL, 0);
	else if (r->ndata)
		ret = refill_by_name(img, opts, r);
	return ret ? ret : finish(opts, o->svc_fd[0], r);
}

/* No peer: a listener, an unconnected socket, or one whose peer was closed. */
static int make_alone(struct rst_image *img, const struct cr_restore_opts *opts,
		      struct rst_file_obj *o)
{
	const struct cr_unix_sk_rec *r = o->rec;
	bool gone = r->type != SOCK_DGRAM ? r->state == TCP_ESTABLISHED : r->ndata && !r->namelen;
	int fd[2] = {-1, -1}, ret = 0;

	/* a closed peer: made, made to send the data, then closed again */
	if (gone && socketpair(AF_UNIX, r->type | SOCK_CLOEXEC, 0, fd) < 0) {
		pr_perror("Can't make unix socket %llu", (unsigned long long)r->ino);
		return -errno;
	}
	ret = make_sock(img, opts, r, &fd[0]);
	o->svc_fd[0] = fd[0];
	if (!ret && r->state == TCP_LISTEN && listen(fd[0], r->backlog) < 0) {
		ret = -errno;
		pr_perror("Can't listen on unix socket %llu", (unsigned long long)r->ino);
	}
	if (!ret && waits_for_files(r)) {
		o->svc_fd[1] = fd[1]; /* the sender, kept for complete_unix */
		return 0;
	}
	if (!ret)
		ret = fill_alone(img, opts, o, fd[1]);
	if (fd[1] >= 0)
		close(fd[1]);
	return ret;
}

static int prepare_one(struct rst_image *img, const struct cr_restore_opts *opts,
		       struct rst_file_obj *obj)
{
	const struct cr_unix_sk_rec *r = obj->rec;
	struct rst_file_obj *po = sk_obj(img, r->peer);

	if (obj->svc_fd[0] >= 0 || r->listener)
		return 0; /* made with its peer; a pending connection: by its client */
	if (r->peer && !po) {
		pr_err("Unix socket %llu: its peer %llu is missing from the image\n",
		       (unsigned long long)r->ino, (unsigned long long)r->peer);
		return -EBADMSG;
	}
	if (!po && r->type != SOCK_DGRAM && r->state == TCP_ESTABLISHED)
		po = sk_obj(img, PENDING_ID(r->ino)); /* waits to be accepted? */
	if (!po)
		return make_alone(img, opts, obj);
	if (!((const struct cr_unix_sk_rec *)po->rec)->listener &&
	    ((const struct cr_unix_sk_rec *)po->rec)->peer == r->ino)
		return make_pair(img, opts, obj, po);
	return make_connected(img, opts, obj, po);
}

static int prepare_unix(struct rst_image *img, const struct cr_restore_opts *opts,
			struct rst_file_obj *obj)
{
	struct owner_act act;
	int ret = owner_act_begin(opts ? opts->owner : NULL, &act);

	if (ret)
		return ret;
	ret = prepare_one(img, opts, obj);
	owner_act_end(&act);
	return ret;
}

/* What prepare_one left for when every file is open: queues with fds in flight. */
static int complete_one(struct rst_image *img, const struct cr_restore_opts *opts,
			struct rst_file_obj *o)
{
	const struct cr_unix_sk_rec *r = o->rec, *pr;
	struct rst_file_obj *po = sk_obj(img, r->peer);
	int ret;

	if (r->listener)
		return 0;
	pr = po ? po->rec : NULL;
	if (pr && !pr->listener && pr->peer == r->ino) /* a pair: once, from its first */
		return (waits_for_files(r) || waits_for_files(pr)) && o < po
			       ? fill_pair(img, opts, o, po)
			       : 0;
	if (!waits_for_files(r))
		return 0;
	if (pr) {
		struct rst_file_obj *to = pr->listener ? sk_obj(img, pr->listener) : po;

		return to ? fill_connected(img, opts, o, to) : -EBADMSG; /* (prepare said) */
	}
	ret = fill_alone(img, opts, o, o->svc_fd[1]);
	if (o->svc_fd[1] >= 0)
		close(o->svc_fd[1]);
	o->svc_fd[1] = -1;
	return ret;
}

static int complete_unix(struct rst_image *img, const struct cr_restore_opts *opts,
			 struct rst_file_obj *obj)
{
	struct owner_act act;
	int ret = owner_act_begin(opts ? opts->owner : NULL, &act);

	if (ret)
		return ret;
	ret = complete_one(img, opts, obj);
	owner_act_end(&act);
	return ret;
}

static int open_unix(struct rst_image *img, const struct cr_restore_opts *opts,
		     const struct cr_file_rec *rec, int *fd)
{
	struct rst_file_obj *obj = find_file_obj(img, CR_REC_UNIX_SK, rec->obj_id);

	(void)opts;
	if (!obj || obj->svc_fd[0] < 0) {
		pr_err("Unix socket %llu of file %u was not made\n",
		       (unsigned long long)rec->obj_id, rec->id);
		return -EINVAL;
	}
	*fd = fcntl(obj->svc_fd[0], F_DUPFD_CLOEXEC, 0);
	if (*fd < 0 || fcntl(*fd, F_SETFL, rec->flags & O_NONBLOCK) < 0) {
		int err = errno;

		pr_perror("Can't set up unix socket %llu", (unsigned long long)rec->obj_id);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -err;
	}
	return 0;
}

const struct file_ops unix_sk_ops = {
	.name = "unix",
	.kind = CR_FILE_UNIX_SK,
	.obj_type = CR_REC_UNIX_SK,
	.recognise = recognise_unix,
	.check = check_unix,
	.dump = dump_unix,
	.collect = collect_unix,
	.prepare = prepare_unix,
	.open = open_unix,
	.complete = complete_unix,
};
