/*
 * udp: UDP sockets (arg v4, v6): one bound with SO_REUSEADDR, SO_BROADCAST
 * (v4) or IPV6_V6ONLY (v6), SO_RCVBUF, SO_PRIORITY; one bound and connected
 * to it, O_NONBLOCK, IP_TTL or IPV6_UNICAST_HOPS; one connected only (its
 * port picked by the kernel at connect). Datagrams queued at checkpoint are
 * dropped (UDP may drop): none is queued here.
 * Checks: addresses (the picked port too), peers, options and flags are
 * kept; datagrams flow between them both ways, with the right source.
 * Skip proof: file:udp.
 */
#include "inet.h"

static int v6, srv, cli, cli2, cli2_port;

static int mk(int port, int nonblock)
{
	struct sockaddr_storage ss;
	socklen_t len = inet_addr_of(v6, port, 0, &ss);
	int fd = socket(ss.ss_family, SOCK_DGRAM | (nonblock ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0)
		test_fatal("socket: %m");
	if (port && bind(fd, (struct sockaddr *)&ss, len))
		test_fatal("bind %d: %m", port);
	return fd;
}

static void bind_to(int fd, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = inet_addr_of(v6, port, 0, &ss);

	if (bind(fd, (struct sockaddr *)&ss, len))
		test_fatal("bind %d: %m", port);
}

static void to(int fd, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = inet_addr_of(v6, port, 0, &ss);

	if (connect(fd, (struct sockaddr *)&ss, len))
		test_fatal("connect %d: %m", port);
}

/* A datagram from @from reaches srv, with from's port; srv answers. */
static void exchange(int from, int port, const char *what)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	char buf[32] = {0};
	int fl = fcntl(from, F_GETFL);
	ssize_t n;

	CHECK(send(from, what, strlen(what), 0) == (ssize_t)strlen(what), "%s: send: %m", what);
	n = recvfrom(srv, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &l);
	CHECK(n == (ssize_t)strlen(what) && !memcmp(buf, what, n), "%s: srv got %zd bytes", what,
	      n);
	CHECK(ntohs(((struct sockaddr_in *)&ss)->sin_port) == port, "%s: from port %d, want %d",
	      what, ntohs(((struct sockaddr_in *)&ss)->sin_port), port);
	CHECK(sendto(srv, "back", 4, 0, (struct sockaddr *)&ss, l) == 4, "%s: answer: %m", what);
	fcntl(from, F_SETFL, 0);
	CHECK(recv(from, buf, sizeof(buf), 0) == 4 && !memcmp(buf, "back", 4), "%s: no answer",
	      what);
	fcntl(from, F_SETFL, fl);
}

int main(int argc, char **argv)
{
	v6 = argc > 1 && !strcmp(argv[1], "v6");
	inet_netns();
	srv = mk(0, 0);
	setint(srv, SOL_SOCKET, SO_REUSEADDR, 1);
	if (v6)
		setint(srv, SOL_IPV6, IPV6_V6ONLY, 1);
	else
		setint(srv, SOL_SOCKET, SO_BROADCAST, 1);
	setint(srv, SOL_SOCKET, SO_RCVBUF, 100000);
	setint(srv, SOL_SOCKET, SO_PRIORITY, 5);
	bind_to(srv, 6001);
	cli = mk(6002, 1);
	to(cli, 6001);
	setint(cli, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_UNICAST_HOPS : IP_TTL, 33);
	cli2 = mk(0, 0);
	to(cli2, 6001);
	cli2_port = inet_port(cli2);
	exchange(cli, 6002, "before");
	test_ready();
	test_wait_go();
	CHECK(inet_port(srv) == 6001 && inet_port(cli) == 6002 && inet_port(cli2) == cli2_port,
	      "ports %d %d %d, want 6001 6002 %d", inet_port(srv), inet_port(cli), inet_port(cli2),
	      cli2_port);
	CHECK(getint(cli, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_UNICAST_HOPS : IP_TTL) == 33,
	      "ttl/hops differ");
	CHECK(fcntl(cli, F_GETFL) & O_NONBLOCK, "O_NONBLOCK lost");
	CHECK(getint(srv, SOL_SOCKET, SO_REUSEADDR) == 1 &&
		      getint(srv, SOL_SOCKET, SO_RCVBUF) == 200000 &&
		      getint(srv, SOL_SOCKET, SO_PRIORITY) == 5 &&
		      (v6 ? getint(srv, SOL_IPV6, IPV6_V6ONLY)
			  : getint(srv, SOL_SOCKET, SO_BROADCAST)) == 1,
	      "options of the bound socket differ");
	exchange(cli, 6002, "after");
	exchange(cli2, cli2_port, "after, picked port");
	test_done();
}
