/*
 * unix_listen: a stream listener bound to a path with backlog 2; one
 * connection accepted (data queued both ways), one pending (its client in
 * a child, not accepted yet).
 * Checks after the restart: accept() gives the pending connection (the
 * child's data comes through it); the accepted pair still has its queued
 * data, its names (getsockname of the accepted end, getpeername of the
 * client: the listener's path); the backlog is 2 again (two more
 * connections wait, the third gets EAGAIN); the socket file is there.
 * Skip proof: file:unix.
 */
#include "zdtm.h"

#include <sys/socket.h>
#include <sys/un.h>

static void check_name(int fd, bool peer, const char *path, const char *what)
{
	struct sockaddr_un a = {0};
	socklen_t len = sizeof(a);
	int r = peer ? getpeername(fd, (struct sockaddr *)&a, &len)
		     : getsockname(fd, (struct sockaddr *)&a, &len);

	CHECK(r == 0 && !strcmp(a.sun_path, path), "%s: name '%s', want '%s'", what, a.sun_path,
	      path);
}

int main(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int l, c1, a1, c2, n = 0;
	struct barrier b;
	struct stat st;
	char buf[16];
	pid_t pid;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", test_path("listen.sock"));
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	c1 = socket(AF_UNIX, SOCK_STREAM, 0);
	c2 = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 2) ||
	    connect(c1, (struct sockaddr *)&a, sizeof(a)) || (a1 = accept(l, NULL, NULL)) < 0)
		test_fatal("listen, connect, accept");
	if (write(c1, "request", 7) != 7 || write(a1, "response", 8) != 8)
		test_fatal("write");
	if (connect(c2, (struct sockaddr *)&a, sizeof(a)))
		test_fatal("connect");
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		close(l);
		close(c1);
		close(a1);
		barrier_signal(&b);
		test_wait_go();
		CHECK(write(c2, "pending", 7) == 7, "child: write: %s", strerror(errno));
		CHECK(read(c2, buf, sizeof(buf)) == 2 && !memcmp(buf, "ok", 2), "child: no reply");
		test_child_done();
	}
	close(c2);
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();

	CHECK(stat(a.sun_path, &st) == 0 && S_ISSOCK(st.st_mode), "the socket file is gone");
	check_name(l, false, a.sun_path, "listener");
	check_name(a1, false, a.sun_path, "accepted end");
	check_name(c1, true, a.sun_path, "client's peer");
	CHECK(read(a1, buf, sizeof(buf)) == 7 && !memcmp(buf, "request", 7),
	      "accepted: no request");
	CHECK(read(c1, buf, sizeof(buf)) == 8 && !memcmp(buf, "response", 8),
	      "client: no response");
	c2 = accept(l, NULL, NULL);
	CHECK(c2 >= 0, "no pending connection: %s", strerror(errno));
	CHECK(read(c2, buf, sizeof(buf)) == 7 && !memcmp(buf, "pending", 7),
	      "the pending connection's data did not come");
	CHECK(write(c2, "ok", 2) == 2, "write to the pending connection");
	reap_child(pid, "child");
	for (int i = 0; i < 5; i++) {
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

		if (connect(s, (struct sockaddr *)&a, sizeof(a)))
			break;
		n++;
	}
	CHECK(n == 3, "%d connections wait in the backlog, want 3 (listen(2))", n);
	test_done();
}
