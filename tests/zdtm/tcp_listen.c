/*
 * tcp_listen: TCP listeners (arg v4: 127.0.0.1; v6: ::1 v6-only and a
 * dual-stack one on ::) with options: SO_REUSEADDR, backlogs 3 and 50,
 * TCP_NODELAY, SO_KEEPALIVE with TCP_KEEPIDLE/INTVL/CNT, TCP_DEFER_ACCEPT,
 * SO_RCVBUF/SO_SNDBUF, IP_TOS or IPV6_UNICAST_HOPS, one O_NONBLOCK; one
 * socket closed state (bound, never listened to) too.
 * Checks: each is bound to its address, listens with its backlog, has its
 * options and flags, and accepts a connection that carries data both ways
 * (the dual-stack one from an IPv4 client too).
 * Skip proof: file:tcp.
 */
#include "inet.h"

struct lsn {
	int any, port, backlog, v6only, listening;
	int fd;
};

static int v6;
static struct lsn lsn[] = {
	{0, 5001, 3, 1, 1, -1},
	{1, 5002, 50, 0, 1, -1},
	{0, 5003, 0, 1, 0, -1}, /* bound, not listening */
};

static void setup(struct lsn *l, int nonblock)
{
	struct sockaddr_storage ss;
	socklen_t len = inet_addr_of(v6, l->port, l->any, &ss);

	l->fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (l->fd < 0)
		test_fatal("socket: %m");
	setint(l->fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (v6)
		setint(l->fd, SOL_IPV6, IPV6_V6ONLY, l->v6only);
	setint(l->fd, SOL_TCP, TCP_NODELAY, 1);
	setint(l->fd, SOL_SOCKET, SO_KEEPALIVE, 1);
	setint(l->fd, SOL_TCP, TCP_KEEPIDLE, 77 + l->port % 10);
	setint(l->fd, SOL_TCP, TCP_KEEPINTVL, 13);
	setint(l->fd, SOL_TCP, TCP_KEEPCNT, 4);
	setint(l->fd, SOL_TCP, TCP_DEFER_ACCEPT, 0);
	setint(l->fd, SOL_SOCKET, SO_RCVBUF, 70000);
	setint(l->fd, SOL_SOCKET, SO_SNDBUF, 90000);
	if (v6)
		setint(l->fd, SOL_IPV6, IPV6_UNICAST_HOPS, 17);
	else
		setint(l->fd, SOL_IP, IP_TOS, 0x10);
	if (bind(l->fd, (struct sockaddr *)&ss, len))
		test_fatal("bind %d: %m", l->port);
	if (l->listening && listen(l->fd, l->backlog))
		test_fatal("listen: %m");
}

static void talk(struct lsn *l, int client_v6)
{
	struct sockaddr_storage ss;
	socklen_t len = inet_addr_of(client_v6, l->port, 0, &ss);
	int c = socket(client_v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0), a;
	char buf[8] = {0};

	if (connect(c, (struct sockaddr *)&ss, len)) {
		fail("port %d: connect: %m", l->port);
		close(c);
		return;
	}
	fcntl(l->fd, F_SETFL, 0);
	a = accept(l->fd, NULL, NULL);
	CHECK(a >= 0, "port %d: accept: %m", l->port);
	if (a >= 0) {
		CHECK(write(c, "ping", 4) == 4 && read(a, buf, 4) == 4 && !memcmp(buf, "ping", 4),
		      "port %d: no data client to server", l->port);
		CHECK(write(a, "pong", 4) == 4 && read(c, buf, 4) == 4 && !memcmp(buf, "pong", 4),
		      "port %d: no data server to client", l->port);
		close(a);
	}
	close(c);
}

static void check(struct lsn *l, int nonblock)
{
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);

	CHECK(inet_port(l->fd) == l->port, "fd %d: bound to port %d, want %d", l->fd,
	      inet_port(l->fd), l->port);
	CHECK(getint(l->fd, SOL_SOCKET, SO_ACCEPTCONN) == l->listening, "port %d: SO_ACCEPTCONN %d",
	      l->port, getint(l->fd, SOL_SOCKET, SO_ACCEPTCONN));
	CHECK(!getsockopt(l->fd, SOL_TCP, TCP_INFO, &ti, &tl), "port %d: TCP_INFO: %m", l->port);
	CHECK(!l->listening || ti.tcpi_sacked == (unsigned)l->backlog,
	      "port %d: backlog %u, want %d", l->port, ti.tcpi_sacked, l->backlog);
	CHECK(getint(l->fd, SOL_SOCKET, SO_REUSEADDR) == 1, "port %d: SO_REUSEADDR", l->port);
	CHECK(getint(l->fd, SOL_TCP, TCP_NODELAY) == 1, "port %d: TCP_NODELAY", l->port);
	CHECK(getint(l->fd, SOL_SOCKET, SO_KEEPALIVE) == 1, "port %d: SO_KEEPALIVE", l->port);
	CHECK(getint(l->fd, SOL_TCP, TCP_KEEPIDLE) == 77 + l->port % 10 &&
		      getint(l->fd, SOL_TCP, TCP_KEEPINTVL) == 13 &&
		      getint(l->fd, SOL_TCP, TCP_KEEPCNT) == 4,
	      "port %d: keepalive times differ", l->port);
	CHECK(getint(l->fd, SOL_SOCKET, SO_RCVBUF) == 140000 &&
		      getint(l->fd, SOL_SOCKET, SO_SNDBUF) == 180000,
	      "port %d: buffers %d/%d", l->port, getint(l->fd, SOL_SOCKET, SO_RCVBUF),
	      getint(l->fd, SOL_SOCKET, SO_SNDBUF));
	CHECK(!v6 || getint(l->fd, SOL_IPV6, IPV6_V6ONLY) == l->v6only, "port %d: IPV6_V6ONLY",
	      l->port);
	CHECK(v6 ? getint(l->fd, SOL_IPV6, IPV6_UNICAST_HOPS) == 17
		 : getint(l->fd, SOL_IP, IP_TOS) == 0x10,
	      "port %d: hops/tos differ", l->port);
	CHECK(!!(fcntl(l->fd, F_GETFL) & O_NONBLOCK) == nonblock, "port %d: O_NONBLOCK", l->port);
	if (!l->listening)
		return;
	talk(l, v6);
	if (v6 && !l->v6only)
		talk(l, 0);
}

int main(int argc, char **argv)
{
	v6 = argc > 1 && !strcmp(argv[1], "v6");
	inet_netns();
	for (size_t i = 0; i < ARRAY_SIZE(lsn); i++)
		setup(&lsn[i], i == 1);
	test_ready();
	test_wait_go();
	for (size_t i = 0; i < ARRAY_SIZE(lsn); i++)
		check(&lsn[i], i == 1);
	test_done();
}
