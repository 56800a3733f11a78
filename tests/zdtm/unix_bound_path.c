/*
 * unix_bound_path: a datagram socket bound to a path, holding messages
 * from an unconnected sender (closed since), and a second one bound to a
 * path in a child process, connected to the first and with a message of
 * its own queued (sent by the first).
 * Checks after the restart: the socket files are there and are sockets;
 * getsockname gives the paths; the messages come out whole and in order;
 * a new sender reaches the first by its path; the child's socket still
 * sends to the first.
 * Skip proof: file:unix.
 */
#include "zdtm.h"

#include <sys/socket.h>
#include <sys/un.h>

static void expect(int fd, const char *msg, const char *what)
{
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	CHECK(n == (ssize_t)strlen(msg) && !memcmp(buf, msg, n), "%s: got %zd bytes, want '%s'",
	      what, n, msg);
}

static void check_path(int fd, const char *path)
{
	struct sockaddr_un a = {0};
	socklen_t len = sizeof(a);
	struct stat st;

	CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode), "%s is not a socket file", path);
	CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0 && !strcmp(a.sun_path, path),
	      "name '%s', want '%s'", a.sun_path, path);
}

int main(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX}, b2 = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_DGRAM, 0), o = socket(AF_UNIX, SOCK_DGRAM, 0), c, n;
	struct barrier b;
	pid_t pid;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", test_path("dgram.sock"));
	snprintf(b2.sun_path, sizeof(b2.sun_path), "%s", test_path("child.sock"));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)))
		test_fatal("bind");
	if (sendto(o, "alpha", 5, 0, (struct sockaddr *)&a, sizeof(a)) != 5 ||
	    sendto(o, "be", 2, 0, (struct sockaddr *)&a, sizeof(a)) != 2)
		test_fatal("sendto");
	close(o);
	c = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (bind(c, (struct sockaddr *)&b2, sizeof(b2)) ||
	    connect(c, (struct sockaddr *)&a, sizeof(a)) ||
	    sendto(s, "to child", 8, 0, (struct sockaddr *)&b2, sizeof(b2)) != 8)
		test_fatal("child socket");
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		close(s);
		barrier_signal(&b);
		test_wait_go();
		check_path(c, b2.sun_path);
		expect(c, "to child", "child");
		CHECK(send(c, "from child", 10, 0) == 10, "child: send: %s", strerror(errno));
		test_child_done();
	}
	close(c);
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();

	check_path(s, a.sun_path);
	expect(s, "alpha", "message 1");
	expect(s, "be", "message 2");
	reap_child(pid, "child");
	expect(s, "from child", "the child's message after the restart");
	n = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK(sendto(n, "new", 3, 0, (struct sockaddr *)&a, sizeof(a)) == 3, "sendto the path: %s",
	      strerror(errno));
	expect(s, "new", "new sender");
	test_done();
}
