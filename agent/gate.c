// SPDX-License-Identifier: LGPL-2.1-or-later
/* crd's TCP gate: first messages read by crd's loop, under a deadline (gate.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gate.h"
#include "log.h"

void gate_init(struct gate *g)
{
	memset(g, 0, sizeof(*g));
}

static void _drop(struct gate *g, size_t i)
{
	close(g->c[i].fd);
	free(g->c[i].data);
	g->c[i] = g->c[--g->n];
}

void gate_fini(struct gate *g)
{
	while (g->n)
		_drop(g, g->n - 1);
}

static size_t _from_addr(const struct gate *g, const struct in6_addr *a)
{
	size_t k = 0;

	for (size_t i = 0; i < g->n; i++)
		k += !memcmp(&g->c[i].addr, a, sizeof(*a));
	return k;
}

/* A full gate: the connection nearest its deadline goes (a finished one waits its turn). */
static int _evict(struct gate *g)
{
	size_t victim = g->n;

	for (size_t i = 0; i < g->n; i++)
		if (!g->c[i].ready &&
		    (victim == g->n || g->c[i].deadline_ms < g->c[victim].deadline_ms))
			victim = i;
	if (victim == g->n)
		return -ENOSPC;
	_drop(g, victim);
	g->st.evicted++;
	return 0;
}

void gate_accept(struct gate *g, int lfd, int64_t now)
{
	struct sockaddr_in6 sa = {0};
	socklen_t len;
	int fd;

	for (int k = 0; k < GATE_ACCEPT_MAX; k++) {
		/* only what is queued: crd's loop must never wait in accept */
		if (poll(&(struct pollfd){.fd = lfd, .events = POLLIN}, 1, 0) != 1)
			return;
		len = sizeof(sa);
		fd = accept4(lfd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		if (sa.sin6_family != AF_INET6 || _from_addr(g, &sa.sin6_addr) >= GATE_PER_ADDR ||
		    (g->n == GATE_MAX && _evict(g))) {
			g->st.refused_addr++;
			close(fd);
			continue;
		}
		g->c[g->n++] = (struct gate_conn){
			.fd = fd, .addr = sa.sin6_addr, .deadline_ms = now + GATE_DEADLINE_MS};
		g->st.accepted++;
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

/* The header is whole: a first message is CTL or NODE, and small. */
static int _check_hdr(struct gate_conn *c)
{
	if ((c->hdr.type != CR_MSG_CTL && c->hdr.type != CR_MSG_NODE) || c->hdr.len < CR_HDR_SIZE ||
	    c->hdr.len > GATE_MSG_MAX)
		return -EPROTO;
	if (c->hdr.len > CR_HDR_SIZE && !(c->data = malloc(c->hdr.len - CR_HDR_SIZE)))
		return -ENOMEM;
	return 0;
}

/* Read what is there: 1 once the message is whole, 0 for more, -errno to drop. */
static int _read_some(struct gate_conn *c)
{
	ssize_t n;

	for (;;) {
		if (c->got < CR_HDR_SIZE)
			n = read(c->fd, (char *)&c->hdr + c->got, CR_HDR_SIZE - c->got);
		else if (c->got < c->hdr.len)
			n = read(c->fd, c->data + (c->got - CR_HDR_SIZE), c->hdr.len - c->got);
		else
			return 1;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (n == 0)
			return -EPIPE;
		c->got += n;
		if (c->got == CR_HDR_SIZE && _check_hdr(c))
			return -EPROTO;
	}
}

void gate_read(struct gate *g, int fd)
{
	size_t i;
	int ret;

	for (i = 0; i < g->n && g->c[i].fd != fd; i++)
		;
	if (i == g->n || g->c[i].ready)
		return;
	ret = _read_some(&g->c[i]);
	if (ret < 0) {
		g->st.bad += ret == -EPROTO;
		_drop(g, i);
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
			_drop(g, i);
			continue;
		}
		if (next < 0 || g->c[i].deadline_ms - now < next)
			next = g->c[i].deadline_ms - now;
		i++;
	}
	return (int)next;
}

int gate_take(struct gate *g, int *fd, struct cr_msg *m)
{
	for (size_t i = 0; i < g->n; i++) {
		struct gate_conn *c = &g->c[i];

		if (!c->ready)
			continue;
		/* the worker reads on with blocking reads and deadlines of its own */
		fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
		*fd = c->fd;
		memset(m, 0, sizeof(*m));
		m->hdr = c->hdr;
		m->data = c->data;
		g->c[i] = g->c[--g->n];
		return 1;
	}
	return 0;
}
