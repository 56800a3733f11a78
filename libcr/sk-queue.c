// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The receive queue of a unix socket. Dump: read with MSG_PEEK from
 * SO_PEEK_OFF, so the tree loses nothing and datagrams keep their
 * boundaries. Peeking at a message with fds in flight (SCM_RIGHTS) installs
 * copies of them in our own fd table: at most SCM_MAX_FD (253) a message,
 * and a control buffer too short drops them, saying only MSG_CTRUNC (so
 * ours has room for 253 and more; MSG_CTRUNC is refused). Each is a file
 * like a task's (files.c, dump_inflight_fd): the same open file as a task's
 * fd gets its id, else it is dumped on its own. The queue record lists the
 * file ids of each message. A stream glues its messages together when
 * read, but a read ends after the one carrying fds: where that one begins is
 * found by peeking single bytes (a binary search), so that each message
 * with fds comes back whole, by one sendmsg, at its byte offset.
 * Refused by name: a unix socket in flight whose own queue holds fds in
 * flight (sockets in each other's queues can make circles, and the kernel
 * limits how deep they nest: not rebuilt).
 * Restore, once every file is open: one sendmsg a message, its fds with it.
 * Credentials of queued messages (what SO_PASSCRED shows the reader, the
 * pidfd of SO_PASSPIDFD) are not kept: a message sent again carries the
 * restarter's.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "unix: "
#include "log.h"
#include "sk-queue.h"

#define MAX_MSG (4u << 20) /* a datagram is smaller than the largest sndbuf */
#define MAX_FDS 253	   /* SCM_MAX_FD: the most fds one message carries */
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04 /* with SO_PASSPIDFD: a pidfd of the sender, installed here */
#endif

/* What one recvmsg(MSG_PEEK) gave: bytes, and the fds in flight it installed here. */
struct peeked {
	ssize_t n; /* -1: nothing more queued */
	int flags; /* msg_flags */
	int nfds;
	int fds[MAX_FDS];
};

static void close_fds(struct peeked *pk)
{
	for (int i = 0; i < pk->nfds; i++)
		close(pk->fds[i]);
	pk->nfds = 0;
}

/* The fds in flight of the control data: kept; a sender's pidfd (SCM_PIDFD) closed. */
static void take_cmsgs(struct msghdr *mh, struct peeked *pk)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		const char *p = (const char *)CMSG_DATA(c);
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (c->cmsg_level != SOL_SOCKET ||
		    (c->cmsg_type != SCM_RIGHTS && c->cmsg_type != SCM_PIDFD))
			continue;
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, p + i * sizeof(fd), sizeof(fd));
			if (c->cmsg_type == SCM_RIGHTS && pk->nfds < MAX_FDS)
				pk->fds[pk->nfds++] = fd;
			else
				close(fd);
		}
	}
}

/*
 * One recvmsg(MSG_PEEK) of socket @ino (@fi's) into @buf: from byte @off if
 * @off >= 0, else from where the last one ended; pk->n -1 when no more.
 */
static int peek_at(const struct fd_info *fi, int sk, uint64_t ino, int off, char *buf, size_t len,
		   struct peeked *pk)
{
	char cbuf[CMSG_SPACE(MAX_FDS * sizeof(int)) + CMSG_SPACE(sizeof(struct ucred)) +
		  CMSG_SPACE(sizeof(int)) + 256];
	struct iovec iov = {buf, len};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};

	pk->nfds = 0;
	pk->n = -1;
	if (off >= 0 && setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)) < 0) {
		pr_perror("Task %d fd %d: can't set SO_PEEK_OFF of unix socket %llu", fi->pid,
			  fi->fd, (unsigned long long)ino);
		return -errno;
	}
	pk->n = recvmsg(sk, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (pk->n < 0 && errno == EAGAIN)
		return 0;
	if (pk->n < 0) {
		pr_perror("Task %d fd %d: can't peek at unix socket %llu", fi->pid, fi->fd,
			  (unsigned long long)ino);
		return -errno;
	}
	pk->flags = mh.msg_flags;
	take_cmsgs(&mh, pk);
	if (mh.msg_flags & MSG_CTRUNC) {
		close_fds(pk);
		/* or our fd table is full (RLIMIT_NOFILE): the kernel says the same */
		pr_err("Task %d fd %d: the control data of a message queued on unix socket %llu "
		       "was cut short (MSG_CTRUNC: over %zu bytes, or no room for its fds in "
		       "flight in cr's fd table): its fds in flight would be lost\n",
		       fi->pid, fi->fd, (unsigned long long)ino, sizeof(cbuf));
		return -ENOTSUP;
	}
	return 0;
}

/*
 * Does a message queued on unix socket @fd carry fds in flight (@want 0) or
 * socket @want in flight? *yes says; the socket's SO_PEEK_OFF is kept.
 */
static int scan_queue(const struct fd_info *fi, int fd, uint64_t ino, uint64_t want, bool *yes)
{
	int type = 0, saved = -1, ret;
	socklen_t len = sizeof(type);
	char *buf = malloc(MAX_MSG);
	struct peeked pk;
	struct stat st;

	*yes = false;
	if (!buf)
		return -ENOMEM;
	getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
	len = sizeof(saved);
	if (getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &saved, &len) < 0)
		saved = -1;
	/* to the end: nothing more queued, or EOF (not a message) for a stream or seqpacket */
	for (ret = peek_at(fi, fd, ino, 0, buf, MAX_MSG, &pk);
	     !ret && pk.n >= 0 && !*yes && (pk.n || type == SOCK_DGRAM);
	     ret = peek_at(fi, fd, ino, -1, buf, MAX_MSG, &pk)) {
		for (int i = 0; i < pk.nfds; i++)
			*yes |= !want || (!fstat(pk.fds[i], &st) && st.st_ino == want);
		close_fds(&pk);
	}
	close_fds(&pk);
	setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &saved, sizeof(saved));
	free(buf);
	return ret;
}

int sk_queue_holds(const struct fd_info *fi, uint64_t ino, bool *yes)
{
	int sk = steal_fd(fi), ret;

	*yes = false;
	if (sk < 0)
		return sk;
	ret = scan_queue(fi, sk, fi->st.st_ino, ino, yes);
	close(sk);
	return ret;
}

/* An fd in flight that is a unix socket: its own queue must hold no fds in flight. */
static int check_inflight_sock(const struct fd_info *fi, uint64_t ino, int fd)
{
	int domain = 0, ret;
	socklen_t len = sizeof(domain);
	bool yes = false;
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_UNIX)
		return 0;
	ret = scan_queue(fi, fd, st.st_ino, 0, &yes);
	if (ret || !yes)
		return ret;
	pr_err("Task %d fd %d: unix socket %llu holds unix socket %lu in flight, which has fds in "
	       "flight itself: not supported\n",
	       fi->pid, fi->fd, (unsigned long long)ino, (unsigned long)st.st_ino);
	return -ENOTSUP;
}

static int queue_add(struct sk_queue *q, const void *data, uint32_t len)
{
	uint32_t need = q->len + sizeof(len) + len;

	if (need > q->cap) {
		char *nb = realloc(q->buf, need * 2);

		if (!nb)
			return -ENOMEM;
		q->buf = nb;
		q->cap = need * 2;
	}
	memcpy(q->buf + q->len, &len, sizeof(len));
	memcpy(q->buf + q->len + sizeof(len), data, len);
	q->len = need;
	q->nmsgs++;
	return 0;
}

static int fdw_add(struct sk_queue *q, uint32_t w)
{
	if (q->nfdw == q->fdcap) {
		uint32_t cap = q->fdcap ? q->fdcap * 2 : 64;
		uint32_t *nw = realloc(q->fdw, cap * sizeof(*nw));

		if (!nw)
			return -ENOMEM;
		q->fdw = nw;
		q->fdcap = cap;
	}
	q->fdw[q->nfdw++] = w;
	return 0;
}

/* The fds in flight of the next message: checked, dumped, named by their file ids. */
static int take_fds(struct cr_img *img, const struct fd_info *fi, uint64_t ino, struct sk_queue *q,
		    struct peeked *pk)
{
	int ret = 0;

	for (int i = 0; i < pk->nfds && !ret; i++)
		ret = check_inflight_sock(fi, ino, pk->fds[i]);
	if (!ret)
		ret = fdw_add(q, q->nmsgs);
	if (!ret)
		ret = fdw_add(q, pk->nfds);
	for (int i = 0; i < pk->nfds; i++) {
		uint32_t id = 0;

		if (ret) {
			close(pk->fds[i]);
			continue;
		}
		/* the fd is the core's now, closed or kept */
		ret = dump_inflight_fd(img, fi->ctx, fi->pid, fi->fd, pk->fds[i], &id);
		if (!ret)
			ret = fdw_add(q, id);
	}
	pk->nfds = 0;
	return ret;
}

/* Datagrams and seqpackets: one peek a message, from offset 0 on. */
static int peek_msgs(struct cr_img *img, const struct fd_info *fi, int sk,
		     const struct unix_diag_info *di, struct sk_queue *q, char *buf)
{
	struct peeked pk;
	int ret;

	for (int off = 0;; off = -1) {
		ret = peek_at(fi, sk, di->ino, off, buf, MAX_MSG, &pk);
		if (ret || pk.n < 0)
			break;
		if (pk.flags & MSG_TRUNC) {
			pr_err("Task %d fd %d: a message of unix socket %u is over %u bytes\n",
			       fi->pid, fi->fd, di->ino, MAX_MSG);
			ret = -ENOTSUP;
			break;
		}
		/* a shut down seqpacket read to its end: EOF, not a message */
		if (pk.n == 0 && di->type != SOCK_DGRAM && q->len >= di->rqueue + q->nmsgs * 4)
			break;
		if (pk.nfds)
			ret = take_fds(img, fi, di->ino, q, &pk);
		if (!ret)
			ret = queue_add(q, buf, pk.n);
		if (ret)
			break;
	}
	close_fds(&pk);
	return ret;
}

/* The first byte in [lo, hi] of a stream queue whose message carries fds (hi's does). */
static int find_fds_start(const struct fd_info *fi, int sk, uint32_t ino, int lo, int hi,
			  int *start)
{
	struct peeked pk;
	int ret = 0;
	char b;

	while (lo < hi && !ret) {
		int mid = lo + (hi - lo) / 2;

		ret = peek_at(fi, sk, ino, mid, &b, 1, &pk);
		if (!ret && pk.n != 1) {
			pr_err("Task %d fd %d: the queue of unix socket %u changed while read\n",
			       fi->pid, fi->fd, ino);
			ret = -EIO;
		}
		if (pk.nfds)
			hi = mid;
		else
			lo = mid + 1;
		close_fds(&pk);
	}
	*start = lo;
	return ret;
}

/*
 * A stream: the bytes up to a message with fds as they come, that message
 * (from where it begins: a read would have glued it to the bytes before)
 * as one of its own, and so on from the byte after it.
 */
static int peek_stream(struct cr_img *img, const struct fd_info *fi, int sk,
		       const struct unix_diag_info *di, struct sk_queue *q, char *buf)
{
	int off = 0, start = 0, ret;
	struct peeked pk;

	while (!(ret = peek_at(fi, sk, di->ino, off, buf, MAX_MSG, &pk)) && pk.n > 0) {
		if (!pk.nfds) {
			off += pk.n;
			if ((ret = queue_add(q, buf, pk.n)))
				break;
			continue;
		}
		close_fds(&pk);
		ret = find_fds_start(fi, sk, di->ino, off, off + pk.n - 1, &start);
		if (!ret && start > off)
			ret = queue_add(q, buf, start - off);
		if (!ret)
			ret = peek_at(fi, sk, di->ino, start, buf, MAX_MSG, &pk);
		if (!ret && (pk.n <= 0 || !pk.nfds)) {
			pr_err("Task %d fd %d: the queue of unix socket %u changed while read\n",
			       fi->pid, fi->fd, di->ino);
			ret = -EIO;
		}
		if (!ret)
			ret = take_fds(img, fi, di->ino, q, &pk);
		if (!ret)
			ret = queue_add(q, buf, pk.n);
		if (ret)
			break;
		off = start + pk.n;
	}
	close_fds(&pk);
	return ret;
}

/* The fd table goes after the messages, in one payload. */
static int seal(struct sk_queue *q)
{
	size_t need = q->len + (size_t)q->nfdw * sizeof(uint32_t);
	char *nb;

	if (!q->nfdw)
		return 0;
	if (need > UINT32_MAX || !(nb = realloc(q->buf, need)))
		return -ENOMEM;
	memcpy(nb + q->len, q->fdw, (size_t)q->nfdw * sizeof(uint32_t));
	q->buf = nb;
	q->cap = need;
	return 0;
}

int sk_queue_peek(struct cr_img *img, const struct fd_info *fi, int sk,
		  const struct unix_diag_info *di, struct sk_queue *q)
{
	char *buf = malloc(MAX_MSG);
	int ret;

	if (!buf)
		return -ENOMEM;
	if (di->type == SOCK_STREAM)
		ret = peek_stream(img, fi, sk, di, q, buf);
	else
		ret = peek_msgs(img, fi, sk, di, q, buf);
	free(buf);
	return ret ? ret : seal(q);
}

void sk_queue_free(struct sk_queue *q)
{
	free(q->buf);
	free(q->fdw);
	*q = (struct sk_queue){0};
}

/* ---- restore ---- */

/* Word @i of @r's fd table (after the messages; maybe unaligned). */
static uint32_t fd_word(const struct cr_unix_sk_rec *r, uint32_t i)
{
	uint32_t w;

	memcpy(&w, (const char *)(r + 1) + r->ndata + (size_t)i * sizeof(w), sizeof(w));
	return w;
}

int sk_queue_check(const struct cr_unix_sk_rec *r)
{
	uint32_t i = 0, msg, n;
	int64_t last = -1;

	while (i < r->nfdwords) {
		if (r->nfdwords - i < 2)
			goto bad;
		msg = fd_word(r, i);
		n = fd_word(r, i + 1);
		if (msg >= r->nmsgs || (int64_t)msg <= last || !n || n > MAX_FDS ||
		    n > r->nfdwords - i - 2)
			goto bad;
		last = msg;
		i += 2 + n;
	}
	return 0;
bad:
	pr_err("Unix socket %llu: its table of fds in flight is bad at word %u\n",
	       (unsigned long long)r->ino, i);
	return -EBADMSG;
}

/* Message @i's fds in flight (table word *w on): the restarter's fds of their files. */
static int msg_fds(const struct rst_image *img, const struct cr_unix_sk_rec *r, uint32_t i,
		   uint32_t *w, int *fds)
{
	uint32_t n;

	if (*w >= r->nfdwords || fd_word(r, *w) != i)
		return 0;
	n = fd_word(r, *w + 1);
	for (uint32_t k = 0; k < n; k++) {
		uint32_t id = fd_word(r, *w + 2 + k);

		fds[k] = file_svc_fd(img, id);
		if (fds[k] < 0) {
			pr_err("Unix socket %llu: file %u, in flight in message %u, was not "
			       "opened\n",
			       (unsigned long long)r->ino, id, i + 1);
			return -EBADMSG;
		}
	}
	*w += 2 + n;
	return n;
}

/* One message; its fds in flight go with its first bytes. */
static int send_msg(const struct cr_unix_sk_rec *r, int via, const struct sockaddr_un *to,
		    socklen_t tolen, const char *p, uint32_t len, const int *fds, int nfds)
{
	char cbuf[CMSG_SPACE(MAX_FDS * sizeof(int))] = {0};
	uint32_t done = 0;

	do {
		struct iovec iov = {(char *)p + done, len - done};
		struct msghdr mh = {.msg_name = (void *)to,
				    .msg_namelen = tolen,
				    .msg_iov = &iov,
				    .msg_iovlen = 1};
		ssize_t n;

		if (nfds && !done) {
			struct cmsghdr *c;

			mh.msg_control = cbuf;
			mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
			memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
		}
		n = sendmsg(via, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			return -errno;
		done += n;
	} while (done < len && r->type == SOCK_STREAM);
	return 0;
}

int sk_queue_refill(struct rst_image *img, const struct cr_restore_opts *opts,
		    const struct cr_unix_sk_rec *r, int via, const struct sockaddr_un *to,
		    socklen_t tolen)
{
	const char *p = (const char *)(r + 1), *end = p + r->ndata;
	int big = 64 << 20, fds[MAX_FDS], nfds, ret = 0;
	uint32_t w = 0;

	/* the queue was within the sender's limit; room until finish() sets it */
	setsockopt(via, SOL_SOCKET, opts && opts->owner ? SO_SNDBUF : SO_SNDBUFFORCE, &big,
		   sizeof(big));
	for (uint32_t i = 0; i < r->nmsgs && !ret; i++) {
		uint32_t len;

		if (end - p < (ptrdiff_t)sizeof(len))
			return -EBADMSG;
		memcpy(&len, p, sizeof(len));
		p += sizeof(len);
		if (end - p < (ptrdiff_t)len)
			return -EBADMSG;
		nfds = msg_fds(img, r, i, &w, fds);
		if (nfds < 0)
			return nfds;
		ret = send_msg(r, via, to, tolen, p, len, fds, nfds);
		if (ret) {
			errno = -ret;
			pr_perror("Can't refill unix socket %llu (message %u of %u, %d fds in "
				  "flight)",
				  (unsigned long long)r->ino, i + 1, r->nmsgs, nfds);
		}
		p += len;
	}
	return ret;
}
