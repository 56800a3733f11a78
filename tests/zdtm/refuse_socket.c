/*
 * refuse_socket: sockets: a connected AF_UNIX socketpair between the main
 * process and a child, and a listening TCP socket on 127.0.0.1 in the
 * main process. cr checkpoint must refuse the tree (exit 3), naming the
 * task and the socket fd, write nothing and leave the tree running.
 * Checks (without a restart): the socketpair still carries data both ways
 * and the TCP socket still accepts a connection.
 * Skip proof: none (refused).
 */
#include "zdtm.h"

#include <netinet/in.h>
#include <sys/socket.h>

int main(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	struct barrier b;
	int sp[2], l, c;
	char buf[8];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
		test_fatal("socketpair");
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4) ||
	    getsockname(l, (struct sockaddr *)&a, &alen))
		test_fatal("tcp listen");
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		close(sp[0]);
		close(l);
		barrier_signal(&b);
		test_wait_go();
		CHECK(read(sp[1], buf, 4) == 4 && !memcmp(buf, "ping", 4), "child: no ping");
		CHECK(write(sp[1], "pong", 4) == 4, "child: write");
		test_child_done();
	}
	close(sp[1]);
	dprintf(1, "EXPECT: Task %d fd %d (socket:[\n", getpid(), sp[0] < l ? sp[0] : l);
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();

	CHECK(write(sp[0], "ping", 4) == 4, "write ping");
	CHECK(read(sp[0], buf, 4) == 4 && !memcmp(buf, "pong", 4), "no pong");
	c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(c >= 0 && connect(c, (struct sockaddr *)&a, sizeof(a)) == 0,
	      "can't connect to the listening socket: %s", strerror(errno));
	CHECK(accept(l, NULL, NULL) >= 0, "accept: %s", strerror(errno));
	reap_child(pid, "child");
	test_done();
}
