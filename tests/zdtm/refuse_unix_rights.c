/*
 * refuse_unix_rights: fds in flight (SCM_RIGHTS) cr can't restore, one per
 * argv[1]. pidfd: a pidfd (of a child, also held by the task) sent on a
 * socketpair; the restarter has no task to point one at. socket: a unix
 * socket in flight that has fds in flight itself: datagram socket X1 holds a message with a pipe's
 * write end in flight, and is itself sent with "x" on a stream socketpair, then closed (in flight
 * only). cr checkpoint must refuse (exit 3), naming the task, the fd and the socket holding X1, and
 * X1, write nothing and leave the tree running, every message still queued with its fds (the
 * dumper's peeks took copies of the fds, not the originals). Checks (without a restart): "x" comes
 * with X1, X1's message with the pipe's write end, which still writes into the pipe. Skip proof:
 * none (refused).
 */
#include "unix_rights.h"

/* A pidfd of a child in flight: refused, still queued after. */
static void pidfd_in_flight(void)
{
	int sp[2], pfd, fds[MAX_RIGHTS], n;
	pid_t c = fork();
	char buf[8];

	if (c == 0)
		for (;;)
			pause();
	pfd = syscall(SYS_pidfd_open, c, 0);
	if (c < 0 || pfd < 0 || socketpair(AF_UNIX, SOCK_DGRAM, 0, sp))
		test_fatal("fork, pidfd, socketpair");
	send_fds(sp[0], "p", 1, &pfd, 1);
	dprintf(1, "EXPECT: Task %d fd %d: the unix socket holds a pidfd in flight\n", getpid(),
		sp[1]);
	test_ready();
	test_wait_go();
	CHECK(recv_fds(sp[1], buf, sizeof(buf), fds, &n) == 1 && n == 1 && same_file(fds[0], pfd),
	      "the pidfd in flight is lost");
	kill(c, SIGKILL);
	wait_child(c, 10000);
	test_done();
}

int main(int argc, char **argv)
{
	int sp[2], x[2], p[2], fds[MAX_RIGHTS], n;
	char buf[8];
	ssize_t r;

	if (argc > 1 && !strcmp(argv[1], "pidfd"))
		pidfd_in_flight();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) || socketpair(AF_UNIX, SOCK_DGRAM, 0, x) ||
	    pipe(p))
		test_fatal("socketpairs, pipe");
	send_fds(x[0], "p", 1, &p[1], 1);
	close(p[1]);
	dprintf(1,
		"EXPECT: Task %d fd %d: unix socket %lu holds unix socket %lu in flight, which "
		"has fds in flight itself\n",
		getpid(), sp[1], (unsigned long)inode_of(sp[1]), (unsigned long)inode_of(x[1]));
	send_fds(sp[0], "x", 1, &x[1], 1);
	close(x[1]);
	test_ready();
	test_wait_go();

	r = recv_fds(sp[1], buf, sizeof(buf), fds, &n);
	CHECK(r == 1 && buf[0] == 'x' && n == 1, "x: %zd bytes, %d fds (want 1)", r, n);
	if (n == 1) {
		x[1] = fds[0];
		r = recv_fds(x[1], buf, sizeof(buf), fds, &n);
		CHECK(r == 1 && buf[0] == 'p' && n == 1, "p: %zd bytes, %d fds (want 1)", r, n);
		CHECK(n == 1 && write(fds[0], "y", 1) == 1 && read(p[0], buf, 2) == 1 &&
			      buf[0] == 'y',
		      "the fd in flight is not the pipe");
	}
	test_done();
}
