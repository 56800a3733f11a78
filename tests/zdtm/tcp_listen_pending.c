/*
 * tcp_listen_pending: a TCP listener with a connection waiting in its accept
 * queue (arg v4, v6). No interface puts a connection back in an accept
 * queue: cr checkpoint must refuse it by name, and the tree runs on: the
 * connection is still accepted and carries data.
 */
#include "inet.h"

int main(int argc, char **argv)
{
	int v6 = argc > 1 && !strcmp(argv[1], "v6"), l, c, a;
	struct sockaddr_storage ss;
	socklen_t len = inet_addr_of(v6, 5010, 0, &ss);
	char buf[4];

	inet_netns();
	l = socket(ss.ss_family, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&ss, len) || listen(l, 5))
		test_fatal("listener: %m");
	c = socket(ss.ss_family, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&ss, len))
		test_fatal("connect: %m");
	printf("EXPECT: Task %d fd %d: a TCP listener with 1 connections waiting to be accepted "
	       "is not supported\n",
	       getpid(), l);
	fflush(stdout);
	test_ready();
	test_wait_go();
	a = accept(l, NULL, NULL);
	CHECK(a >= 0, "accept: %m");
	CHECK(write(c, "ping", 4) == 4 && read(a, buf, 4) == 4 && !memcmp(buf, "ping", 4),
	      "no data through the accepted connection");
	test_done();
}
