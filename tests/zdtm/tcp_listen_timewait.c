/*
 * tcp_listen_timewait: TCP listeners without SO_REUSEADDR (arg v4:
 * 127.0.0.1; v6: ::1, and a dual-stack one on ::) whose accepted
 * connection the server closed first: a TIME_WAIT socket on the listener's
 * port stays in the net namespace after the kill, and, coming from a socket
 * without SO_REUSEADDR, keeps the restored listener from binding the port
 * for 60 s (EADDRINUSE) unless the restart destroys it.
 * Checks: each listener is bound to its port, listens, and accepts a
 * connection that carries data both ways.
 * Skip proof: file:tcp.
 */
#include <netinet/tcp.h>

#include "inet.h"

struct lsn {
	int any, port;
	int fd;
};

static int v6;
static struct lsn lsn[] = {
	{0, 5011, -1},
	{1, 5012, -1},
};

/* The TIME_WAIT sockets of our net namespace on local port @port. */
static int time_waits(int port)
{
	FILE *f = fopen(v6 ? "/proc/net/tcp6" : "/proc/net/tcp", "re");
	unsigned int lport, st;
	char line[256];
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", &lport, &st) == 2 &&
		    (int)lport == port && st == 6 /* TCP_TIME_WAIT */)
			n++;
	if (f)
		fclose(f);
	return n;
}

/* One connection accepted and closed by the server first: TIME_WAIT on its port. */
static void leave_time_wait(struct lsn *l)
{
	struct sockaddr_storage ss;
	socklen_t len = inet_addr_of(v6, l->port, 0, &ss);
	int c = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0), a, i;
	char b;

	if (c < 0 || connect(c, (struct sockaddr *)&ss, len))
		test_fatal("port %d: connect: %m", l->port);
	a = accept(l->fd, NULL, NULL);
	if (a < 0)
		test_fatal("port %d: accept: %m", l->port);
	close(a); /* the server's end closes first: it is the one left in TIME_WAIT */
	if (read(c, &b, 1) != 0)
		test_fatal("port %d: no EOF at the client", l->port);
	close(c);
	for (i = 0; i < 100 && !time_waits(l->port); i++)
		usleep(10000);
	if (i == 100)
		test_fatal("port %d: no TIME_WAIT socket after 1 s", l->port);
}

static void setup(struct lsn *l)
{
	struct sockaddr_storage ss;
	socklen_t len = inet_addr_of(v6, l->port, l->any, &ss);

	l->fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	if (l->fd < 0)
		test_fatal("socket: %m");
	if (v6)
		setint(l->fd, SOL_IPV6, IPV6_V6ONLY, !l->any);
	if (bind(l->fd, (struct sockaddr *)&ss, len) || listen(l->fd, 5))
		test_fatal("bind/listen %d: %m", l->port);
	leave_time_wait(l);
}

static void check(struct lsn *l)
{
	struct sockaddr_storage ss;
	socklen_t len = inet_addr_of(v6, l->port, 0, &ss);
	int c, a;
	char buf[8] = {0};

	CHECK(inet_port(l->fd) == l->port, "fd %d: bound to port %d, want %d", l->fd,
	      inet_port(l->fd), l->port);
	CHECK(getint(l->fd, SOL_SOCKET, SO_ACCEPTCONN) == 1, "port %d: not listening", l->port);
	c = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&ss, len)) {
		fail("port %d: connect: %m", l->port);
		close(c);
		return;
	}
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

int main(int argc, char **argv)
{
	v6 = argc > 1 && !strcmp(argv[1], "v6");
	inet_netns();
	for (size_t i = 0; i < ARRAY_SIZE(lsn); i++)
		setup(&lsn[i]);
	test_ready();
	test_wait_go();
	for (size_t i = 0; i < ARRAY_SIZE(lsn); i++)
		check(&lsn[i]);
	test_done();
}
