// SPDX-License-Identifier: LGPL-2.1-or-later
/* crd's gates: first messages read by crd's loop, under a deadline (gate.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "gate.h"
#include "log.h"

size_t gate_places(unsigned long nofile)
{
	return nofile / 4 < GATE_MAX ? nofile / 4 : GATE_MAX;
}

void gate_init(struct gate *g, const struct gate_conf *conf)
{
	memset(g, 0, sizeof(*g));
	g->conf = *conf;
	if (g->conf.places > GATE_MAX)
		g->conf.places = GATE_MAX;
}

/* How long connection @i has been here, into the stats. */
static void _held(struct gate *g, size_t i, int64_t now)
{
	int64_t held = now - (g->c[i].deadline_ms - g->conf.deadline_ms);

	if (held > g->st.held_ms)
		g->st.held_ms = held;
}

static void _drop(struct gate *g, size_t i, int64_t now)
{
	_held(g, i, now);
	close(g->c[i].fd);
	free(g->c[i].data);
	g->c[i] = g->c[--g->n];
}

void gate_fini(struct gate *g)
{
	while (g->n)
		_drop(g, g->n - 1, 0);
}

static size_t _from(const struct gate *g, const struct in6_addr *a)
{
	size_t k = 0;

	for (size_t i = 0; i < g->n; i++)
		k += !memcmp(&g->c[i].src, a, sizeof(*a));
	return k;
}

/*
 * The oldest connection, not root's, whole (@ready) or still being read; of
 * @src only if given; of a source with several places only if @shared.
 */
static size_t _oldest(const struct gate *g, const struct in6_addr *src, int shared, int ready)
{
	size_t victim = g->n;

	for (size_t i = 0; i < g->n; i++) {
		const struct gate_conn *c = &g->c[i];

		if (c->ready != ready || c->root || (src && memcmp(&c->src, src, sizeof(*src))))
			continue;
		if (victim != g->n && c->deadline_ms >= g->c[victim].deadline_ms)
			continue;
		if (shared && _from(g, &c->src) < 2)
			continue;
		victim = i;
	}
	return victim;
}

/* Of @src (if given) or of a source with several places: the oldest being read, else whole. */
static size_t _victim(const struct gate *g, const struct in6_addr *src)
{
	size_t v = _oldest(g, src, !src, 0);

	return v < g->n ? v : _oldest(g, src, !src, 1);
}

/*
 * A full gate makes room: a source with several places gives up its oldest
 * (the newcomer's own, if it has several), so a source with one connection
 * is not pushed out by a flood from many others; a connection still being
 * read goes before a whole one (whole ones are evicted too: a flood of
 * whole messages must not hold every place).
 */
static int _evict(struct gate *g, const struct in6_addr *src, int64_t now)
{
	size_t victim = _from(g, src) >= 2 ? _victim(g, src) : g->n;

	if (victim == g->n)
		victim = _victim(g, NULL);
	if (victim == g->n)
		victim = _oldest(g, NULL, 0, 0);
	if (victim == g->n)
		return -ENOSPC;
	_drop(g, victim, now);
	g->st.evicted++;
	return 0;
}

/* Who is at the other end: an address (a /64 for native IPv6) or a uid. */
static int _source(const struct gate *g, int fd, const struct sockaddr_in6 *sa, struct gate_conn *c)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (g->conf.unix_socket) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
			return -errno;
		c->src.s6_addr32[3] = uc.uid;
		c->root = uc.uid == 0;
		return 0;
	}
	if (sa->sin6_family != AF_INET6)
		return -EAFNOSUPPORT;
	c->src = sa->sin6_addr;
	if (!IN6_IS_ADDR_V4MAPPED(&c->src)) /* one host has a /64 of its own */
		memset(c->src.s6_addr + 8, 0, 8);
	return 0;
}

/*
 * May @c wait here: a place for it, within its source's share. A source at
 * its share gives up its oldest connection still being read: a flood from
 * one address or uid cannot keep that source's own next client out.
 */
static int _admit(struct gate *g, const struct gate_conn *c, int64_t now)
{
	size_t victim;

	if (!c->root && _from(g, &c->src) >= g->conf.per_src) {
		victim = _victim(g, &c->src);
		if (victim == g->n)
			return 0;
		_drop(g, victim, now);
		g->st.refused_addr++;
		return 1;
	}
	return g->n < g->conf.places || !_evict(g, &c->src, now);
}

void gate_accept(struct gate *g, int lfd, int64_t now)
{
	struct sockaddr_in6 sa;
	struct gate_conn c;
	socklen_t len;
	int fd;

	for (int k = 0; k < GATE_ACCEPT_MAX; k++) {
		/* only what is queued: crd's loop must never wait in accept */
		if (poll(&(struct pollfd){.fd = lfd, .events = POLLIN}, 1, 0) != 1)
			return;
		len = sizeof(sa);
		memset(&sa, 0, sizeof(sa));
		fd = accept4(lfd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		c = (struct gate_conn){.fd = fd, .deadline_ms = now + g->conf.deadline_ms};
		if (_source(g, fd, &sa, &c) || !_admit(g, &c, now)) {
			g->st.refused_addr++;
			close(fd);
			continue;
		}
		g->c[g->n++] = c;
		g->st.accepted++;
		/* a client that sent with its connect is whole now, and no longer evictable */
		gate_read(g, fd, now);
	}
}

size_t gate_pollfds(const struct gate *g, struct pollfd *pfd)
{
	size_t k = 0;

	for (size_t i = 0; i < g->n; i++)
		if (!g->c[i].ready)
			pfd[k++] = (struct pollfd){.fd = g->c[i].fd, .events = POLLIN};
	return k;
}

/* The header is whole: a first message of an expected type, and small. */
static int _check_hdr(const struct gate *g, struct gate_conn *c)
{
	if (c->hdr.type >= 32 || !(g->conf.types & (1u << c->hdr.type)) ||
	    c->hdr.len < CR_HDR_SIZE ||
	    c->hdr.len > (g->conf.msg_max ? g->conf.msg_max : GATE_MSG_MAX))
		return -EPROTO;
	if (c->hdr.len > CR_HDR_SIZE && !(c->data = malloc(c->hdr.len - CR_HDR_SIZE)))
		return -ENOMEM;
	return 0;
}

/*
 * The message is whole: on the TCP port, exactly one string that looks like
 * a munge credential ("MUNGE:" and base64), so garbage costs no worker.
 */
static int _check_msg(const struct gate *g, const struct gate_conn *c)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=:";
	size_t plen = c->hdr.len - CR_HDR_SIZE;
	uint32_t slen;

	if (!g->conf.cred)
		return 0;
	if (plen < sizeof(slen) + 7)
		return -EPROTO;
	memcpy(&slen, c->data, sizeof(slen));
	if (slen != plen - sizeof(slen) || c->data[plen - 1] != '\0' ||
	    memcmp(c->data + sizeof(slen), "MUNGE:", 6))
		return -EPROTO;
	for (size_t i = sizeof(slen) + 6; i < plen - 1; i++)
		if (!c->data[i] || !strchr(b64, c->data[i]))
			return -EPROTO;
	return 0;
}

/* Read what is there: 1 once the message is whole, 0 for more, -errno to drop. */
static int _read_some(const struct gate *g, struct gate_conn *c)
{
	ssize_t n;

	for (;;) {
		if (c->got < CR_HDR_SIZE)
			n = read(c->fd, (char *)&c->hdr + c->got, CR_HDR_SIZE - c->got);
		else if (c->got < c->hdr.len)
			n = read(c->fd, c->data + (c->got - CR_HDR_SIZE), c->hdr.len - c->got);
		else
			return _check_msg(g, c) ?: 1;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (n == 0)
			return -EPIPE;
		c->got += n;
		if (c->got == CR_HDR_SIZE && _check_hdr(g, c))
			return -EPROTO;
	}
}

void gate_read(struct gate *g, int fd, int64_t now)
{
	size_t i;
	int ret;

	for (i = 0; i < g->n && g->c[i].fd != fd; i++)
		;
	if (i == g->n || g->c[i].ready)
		return;
	ret = _read_some(g, &g->c[i]);
	if (ret < 0) {
		g->st.bad += ret == -EPROTO;
		_drop(g, i, now);
	} else if (ret == 1) {
		g->c[i].ready = 1;
	}
}

int gate_expire(struct gate *g, int64_t now)
{
	int64_t next = -1;

	for (size_t i = 0; i < g->n;) {
		if (g->c[i].deadline_ms <= now) {
			g->st.expired++;
			_drop(g, i, now);
			continue;
		}
		if (next < 0 || g->c[i].deadline_ms - now < next)
			next = g->c[i].deadline_ms - now;
		i++;
	}
	return (int)next;
}

static int _cooling(const struct gate *g, const struct in6_addr *src, int64_t now)
{
	for (size_t i = 0; i < GATE_COOL_MAX; i++)
		if (g->cool[i].until_ms > now && !memcmp(&g->cool[i].src, src, sizeof(*src)))
			return 1;
	return 0;
}

void gate_cool(struct gate *g, const struct in6_addr *src, int64_t now, int ms)
{
	size_t k = 0;

	/* the same source's entry, else the one that ends first (an ended one: 0 or past) */
	for (size_t i = 0; i < GATE_COOL_MAX; i++) {
		if (!memcmp(&g->cool[i].src, src, sizeof(*src))) {
			k = i;
			break;
		}
		if (g->cool[i].until_ms < g->cool[k].until_ms)
			k = i;
	}
	g->cool[k] = (struct gate_cool){.src = *src, .until_ms = now + ms};
	g->st.refused_cred++;
}

int gate_take(struct gate *g, int64_t now, int *fd, struct cr_msg *m, struct in6_addr *src,
	      int64_t *deadline_ms)
{
	size_t k = g->n;

	for (size_t i = 0; i < g->n; i++) {
		struct gate_conn *c = &g->c[i];

		if (!c->ready || _cooling(g, &c->src, now))
			continue;
		if (k < g->n && (g->c[k].root > c->root || (g->c[k].root == c->root &&
							    g->c[k].deadline_ms <= c->deadline_ms)))
			continue;
		k = i; /* root's first, then the oldest */
	}
	if (k == g->n)
		return 0;
	_held(g, k, now);
	/* the worker reads on with blocking reads and deadlines of its own */
	fcntl(g->c[k].fd, F_SETFL, fcntl(g->c[k].fd, F_GETFL) & ~O_NONBLOCK);
	*fd = g->c[k].fd;
	*src = g->c[k].src;
	*deadline_ms = g->c[k].deadline_ms;
	memset(m, 0, sizeof(*m));
	m->hdr = g->c[k].hdr;
	m->data = g->c[k].data;
	g->c[k] = g->c[--g->n];
	return 1;
}
