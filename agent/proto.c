// SPDX-License-Identifier: LGPL-2.1-or-later
/* Wire protocol: framing, fd passing, pack/unpack. No logging, no exit. */
#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

static const char *const msg_names[CR_MSG_MAXTYPE] = {
	[CR_MSG_OK] = "OK",
	[CR_MSG_ERR] = "ERR",
	[CR_MSG_JOB_START] = "JOB_START",
	[CR_MSG_JOB_END] = "JOB_END",
	[CR_MSG_HELLO] = "HELLO",
	[CR_MSG_ADOPT] = "ADOPT",
	[CR_MSG_SPAWN] = "SPAWN",
	[CR_MSG_STARTED] = "STARTED",
	[CR_MSG_SIGNAL] = "SIGNAL",
	[CR_MSG_EXIT] = "EXIT",
	[CR_MSG_STATUS] = "STATUS",
	[CR_MSG_SET] = "SET",
	[CR_MSG_CTL] = "CTL",
	[CR_MSG_NODE] = "NODE",
	[CR_MSG_DUMP] = "DUMP",
	[CR_MSG_RELEASE] = "RELEASE",
	[CR_MSG_RESTORE] = "RESTORE",
	[CR_MSG_RESUME] = "RESUME",
	[CR_MSG_PROGRESS] = "PROGRESS",
	[CR_MSG_RSH] = "RSH",
};

const char *cr_msg_name(uint32_t type)
{
	if (type < CR_MSG_MAXTYPE && msg_names[type])
		return msg_names[type];
	return "UNKNOWN";
}

void cr_buf_init(struct cr_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void cr_buf_free(struct cr_buf *b)
{
	free(b->data);
	cr_buf_init(b);
}

static void _buf_add(struct cr_buf *b, const void *p, size_t len)
{
	uint8_t *n;
	size_t cap;

	if (b->oom)
		return;
	if (b->len + len > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + len)
			cap *= 2;
		n = realloc(b->data, cap);
		if (!n) {
			b->oom = 1;
			return;
		}
		b->data = n;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
}

void cr_pack_u32(struct cr_buf *b, uint32_t v)
{
	_buf_add(b, &v, sizeof(v));
}

void cr_pack_u64(struct cr_buf *b, uint64_t v)
{
	_buf_add(b, &v, sizeof(v));
}

void cr_pack_bytes(struct cr_buf *b, const void *p, uint32_t len)
{
	cr_pack_u32(b, len);
	_buf_add(b, p, len);
}

void cr_pack_raw(struct cr_buf *b, const void *p, size_t len)
{
	_buf_add(b, p, len);
}

void cr_pack_str(struct cr_buf *b, const char *s)
{
	if (!s)
		s = "";
	cr_pack_bytes(b, s, strlen(s) + 1);
}

static size_t _left(const struct cr_msg *m)
{
	return m->hdr.len - CR_HDR_SIZE - m->pos;
}

int cr_unpack_u32(struct cr_msg *m, uint32_t *v)
{
	if (_left(m) < sizeof(*v))
		return -EPROTO;
	memcpy(v, m->data + m->pos, sizeof(*v));
	m->pos += sizeof(*v);
	return 0;
}

int cr_unpack_u64(struct cr_msg *m, uint64_t *v)
{
	if (_left(m) < sizeof(*v))
		return -EPROTO;
	memcpy(v, m->data + m->pos, sizeof(*v));
	m->pos += sizeof(*v);
	return 0;
}

int cr_unpack_bytes(struct cr_msg *m, const void **p, uint32_t *len)
{
	if (cr_unpack_u32(m, len))
		return -EPROTO;
	if (_left(m) < *len)
		return -EPROTO;
	*p = m->data + m->pos;
	m->pos += *len;
	return 0;
}

int cr_unpack_str(struct cr_msg *m, const char **s)
{
	const void *p;
	uint32_t len;

	if (cr_unpack_bytes(m, &p, &len))
		return -EPROTO;
	if (len == 0 || ((const char *)p)[len - 1] != '\0' || strlen(p) != len - 1)
		return -EPROTO;
	*s = p;
	return 0;
}

int cr_unpack_done(const struct cr_msg *m)
{
	return _left(m) == 0 ? 0 : -EPROTO;
}

static int _write_all(int fd, const void *p, size_t len)
{
	const uint8_t *c = p;
	ssize_t n;

	while (len) {
		n = send(fd, c, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOTSOCK)
			n = write(fd, c, len);
		if (n < 0)
			return -errno;
		c += n;
		len -= n;
	}
	return 0;
}

int cr_send(int fd, uint32_t type, const struct cr_buf *b, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * CR_FDS_MAX)];
		struct cmsghdr align;
	} u;
	struct cr_hdr hdr = {0};
	struct msghdr mh = {0};
	struct iovec iov;
	struct cmsghdr *c;
	size_t plen = b ? b->len : 0;
	ssize_t n;

	if (b && b->oom)
		return -ENOMEM;
	if (nfds < 0 || nfds > CR_FDS_MAX || CR_HDR_SIZE + plen > CR_MSG_MAX)
		return -EMSGSIZE;
	hdr.type = type;
	hdr.len = CR_HDR_SIZE + plen;
	hdr.pid = getpid();
	iov.iov_base = &hdr;
	iov.iov_len = sizeof(hdr);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(hdr)) {
		if (_write_all(fd, (char *)&hdr + n, sizeof(hdr) - n))
			return -EIO;
	}
	if (plen)
		return _write_all(fd, b->data, plen);
	return 0;
}

int cr_send_u32(int fd, uint32_t type, uint32_t v)
{
	struct cr_buf b;
	int ret;

	cr_buf_init(&b);
	cr_pack_u32(&b, v);
	ret = cr_send(fd, type, &b, NULL, 0);
	cr_buf_free(&b);
	return ret;
}

int cr_send_ok(int fd, const char *text)
{
	struct cr_buf b;
	int ret;

	cr_buf_init(&b);
	cr_pack_str(&b, text);
	ret = cr_send(fd, CR_MSG_OK, &b, NULL, 0);
	cr_buf_free(&b);
	return ret;
}

int cr_send_err(int fd, uint32_t code, const char *fmt, ...)
{
	struct cr_buf b;
	char text[1024];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	cr_buf_init(&b);
	cr_pack_u32(&b, code);
	cr_pack_str(&b, text);
	ret = cr_send(fd, CR_MSG_ERR, &b, NULL, 0);
	cr_buf_free(&b);
	return ret;
}

int64_t cr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The rest of a message that has begun: all of it by @deadline (ms), however
 * the sender paces it (a byte now and then must not hold the reader).
 */
static int _read_all(int fd, void *p, size_t len, int64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	uint8_t *c = p;
	int64_t left;
	ssize_t n;

	while (len) {
		left = deadline - cr_now_ms();
		n = left <= 0 ? 0 : poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ETIMEDOUT;
		n = read(fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		c += n;
		len -= n;
	}
	return 0;
}

static void _close_fds(struct cr_msg *m)
{
	for (int i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	m->nfds = 0;
}

int cr_recv(int fd, struct cr_msg *m)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * CR_FDS_MAX)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {0};
	struct iovec iov;
	struct cmsghdr *c;
	int64_t deadline;
	ssize_t n;
	int ret;

	memset(m, 0, sizeof(*m));
	iov.iov_base = &m->hdr;
	iov.iov_len = sizeof(m->hdr);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == ENOTSOCK)
		n = read(fd, &m->hdr, sizeof(m->hdr));
	else if (n >= 0) {
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (int i = 0; i < k; i++) {
				int f;
				memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (m->nfds < CR_FDS_MAX)
					m->fds[m->nfds++] = f;
				else
					close(f);
			}
		}
		if (mh.msg_flags & MSG_CTRUNC) {
			_close_fds(m);
			return -EPROTO;
		}
	}
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	deadline = cr_now_ms() + CR_MSG_DEADLINE_MS;
	if ((size_t)n < sizeof(m->hdr)) {
		ret = _read_all(fd, (char *)&m->hdr + n, sizeof(m->hdr) - n, deadline);
		if (ret)
			goto fail;
	}
	ret = -EPROTO;
	if (m->hdr.len < CR_HDR_SIZE || m->hdr.len > CR_MSG_MAX || m->hdr.type == 0 ||
	    m->hdr.type >= CR_MSG_MAXTYPE)
		goto fail;
	if (m->hdr.len > CR_HDR_SIZE) {
		m->data = malloc(m->hdr.len - CR_HDR_SIZE);
		ret = -ENOMEM;
		if (!m->data)
			goto fail;
		ret = _read_all(fd, m->data, m->hdr.len - CR_HDR_SIZE, deadline);
		if (ret)
			goto fail;
	}
	return 0;
fail:
	_close_fds(m);
	free(m->data);
	m->data = NULL;
	return ret;
}

void cr_msg_free(struct cr_msg *m)
{
	_close_fds(m);
	free(m->data);
	m->data = NULL;
}

int cr_recv_reply(int fd, uint32_t *code, char *buf, size_t size)
{
	return cr_recv_reply_progress(fd, code, buf, size, NULL, NULL);
}

int cr_recv_reply_progress(int fd, uint32_t *code, char *buf, size_t size,
			   void (*progress)(const char *text, void *arg), void *arg)
{
	struct cr_msg m;
	const char *text = "";
	int ret;

	*code = 0;
	if (size)
		buf[0] = '\0';
	for (;;) {
		ret = cr_recv(fd, &m);
		if (ret)
			return ret;
		if (m.hdr.type != CR_MSG_PROGRESS)
			break;
		ret = cr_unpack_str(&m, &text) ?: cr_unpack_done(&m);
		if (!ret && progress)
			progress(text, arg);
		cr_msg_free(&m);
		if (ret)
			return -EPROTO;
	}
	ret = cr_parse_reply(&m, code, buf, size);
	cr_msg_free(&m);
	return ret;
}

int cr_parse_reply(struct cr_msg *m, uint32_t *code, char *buf, size_t size)
{
	const char *text;

	if (m->hdr.type == CR_MSG_ERR) {
		if (cr_unpack_u32(m, code) || cr_unpack_str(m, &text) || cr_unpack_done(m))
			return -EPROTO;
		if (*code == 0)
			*code = CR_E_FAILED;
	} else if (m->hdr.type == CR_MSG_OK) {
		if (cr_unpack_str(m, &text) || cr_unpack_done(m))
			return -EPROTO;
	} else {
		return -EPROTO;
	}
	if (size)
		snprintf(buf, size, "%s", text);
	return 0;
}

int cr_tcp_connect(const char *host, uint32_t port, int send_timeout_s)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	char serv[16];
	int fd = -1, ret = -ECONNREFUSED;

	snprintf(serv, sizeof(serv), "%u", port);
	if (getaddrinfo(host, serv, &hints, &res))
		return -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			ret = -errno;
			continue;
		}
		if (send_timeout_s > 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO,
				   &(struct timeval){send_timeout_s, 0}, sizeof(struct timeval));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		ret = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd >= 0 ? fd : ret;
}

int cr_unix_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, saved;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		saved = errno;
		close(fd);
		return -saved;
	}
	return fd;
}

int cr_unix_listen(const char *path, mode_t mode)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, saved;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, mode) < 0 ||
	    listen(fd, 64) < 0) {
		saved = errno;
		close(fd);
		return -saved;
	}
	return fd;
}

struct cr_addr_text cr_peer_text(int fd)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	struct cr_addr_text a = {"?"};
	char host[INET6_ADDRSTRLEN], port[8];

	if (!getpeername(fd, (struct sockaddr *)&sa, &len) &&
	    !getnameinfo((struct sockaddr *)&sa, len, host, sizeof(host), port, sizeof(port),
			 NI_NUMERICHOST | NI_NUMERICSERV))
		snprintf(a.s, sizeof(a.s), "%s port %s", host, port);
	return a;
}
