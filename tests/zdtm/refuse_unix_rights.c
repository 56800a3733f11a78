/*
 * refuse_unix_rights: a unix socket in flight (SCM_RIGHTS) that has fds in
 * flight itself: datagram socket X1 holds a message with a pipe's write end
 * in flight, and is itself sent with "x" on a stream socketpair, then closed
 * (in flight only). cr checkpoint must refuse (exit 3), naming the task,
 * the fd and the socket holding X1, and X1, write nothing and leave the
 * tree running, every message still queued with its fds (the dumper's peeks
 * took copies of the fds, not the originals).
 * Checks (without a restart): "x" comes with X1, X1's message with the
 * pipe's write end, which still writes into the pipe.
 * Skip proof: none (refused).
 */
#include "unix_rights.h"

int main(void)
{
	int sp[2], x[2], p[2], fds[MAX_RIGHTS], n;
	char buf[8];
	ssize_t r;

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
