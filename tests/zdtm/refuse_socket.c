/*
 * refuse_socket: a unix socket connected to a peer outside the tree. The
 * tree is a child (printed as ROOT:) holding one end of a socketpair whose
 * other end stays with the main process, outside the tree. cr checkpoint
 * must refuse the tree (exit 3), naming the task, the fd and the peer,
 * write nothing and leave the tree running.
 * Checks (without a restart): the socketpair still carries data both ways.
 * Skip proof: none (refused).
 */
#include "zdtm.h"

#include <sys/socket.h>
#include <sys/stat.h>

int main(void)
{
	struct barrier b;
	struct stat st;
	int sp[2];
	char buf[8];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) || fstat(sp[0], &st))
		test_fatal("socketpair");
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		close(sp[0]);
		barrier_signal(&b);
		test_wait_go();
		CHECK(read(sp[1], buf, 4) == 4 && !memcmp(buf, "ping", 4), "child: no ping");
		CHECK(write(sp[1], "pong", 4) == 4, "child: write");
		test_child_done();
	}
	barrier_wait(&b, 1);
	dprintf(1, "ROOT: %d\n", pid);
	dprintf(1, "EXPECT: Task %d fd %d: unix socket \n", pid, sp[1]);
	dprintf(1, "EXPECT: is connected to socket %lu (unbound) outside the tree\n",
		(unsigned long)st.st_ino);
	close(sp[1]);
	test_ready();
	test_wait_go();

	CHECK(write(sp[0], "ping", 4) == 4, "write ping");
	CHECK(read(sp[0], buf, 4) == 4 && !memcmp(buf, "pong", 4), "no pong");
	reap_child(pid, "child");
	test_done();
}
