/*
 * unix_rights_pipe: pipe ends in flight (SCM_RIGHTS) on a seqpacket
 * socketpair, closed by the sender since: "w" with the write end of pipe P
 * (its read end held by a child, "hello" queued in P), "r" with the read end
 * of pipe Q (its write end held by the task, "world" queued in Q).
 * Checks after the restart: the seqpackets whole, in order, each with its
 * pipe end; what is written through the write end received reaches the
 * child after "hello"; the read end received reads "world", then what the
 * task writes into Q; nothing more queued.
 * Skip proof: file:unix.
 */
#include "unix_rights.h"

int main(void)
{
	int sp[2], p[2], q[2], fds[MAX_RIGHTS], n, st;
	char buf[64] = "";
	struct barrier bar;
	pid_t child;
	ssize_t r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) || pipe(p) || pipe(q))
		test_fatal("socketpair, pipes");
	barrier_init(&bar);
	child = fork();
	if (child < 0)
		test_fatal("fork");
	if (child == 0) {
		char want[] = "hello there", got[sizeof(want)] = "";
		size_t k = 0;

		close(p[1]);
		barrier_signal(&bar);
		test_wait_go();
		while (k < strlen(want) && (r = read(p[0], got + k, strlen(want) - k)) > 0)
			k += r;
		CHECK(!strcmp(got, want), "child: the pipe read \"%s\", want \"%s\"", got, want);
		test_child_done();
	}
	close(p[0]);
	barrier_wait(&bar, 1);
	if (write(p[1], "hello", 5) != 5 || write(q[1], "world", 5) != 5)
		test_fatal("write");
	send_fds(sp[0], "w", 1, &p[1], 1);
	send_fds(sp[0], "r", 1, &q[0], 1);
	close(p[1]);
	close(q[0]);
	test_ready();
	test_wait_go();

	r = recv_fds(sp[1], buf, sizeof(buf), fds, &n);
	CHECK(r == 1 && buf[0] == 'w' && n == 1, "1: %zd bytes (want w), %d fds", r, n);
	if (n == 1) {
		CHECK(write(fds[0], " there", 6) == 6, "the write end does not write: %s",
		      strerror(errno));
		close(fds[0]);
	}
	r = recv_fds(sp[1], buf, sizeof(buf), fds, &n);
	CHECK(r == 1 && buf[0] == 'r' && n == 1, "2: %zd bytes (want r), %d fds", r, n);
	if (n == 1) {
		CHECK(reads(fds[0], "world"), "the read end does not read world");
		CHECK(write(q[1], "!", 1) == 1 && reads(fds[0], "!"),
		      "the read end is not Q's any more");
	}
	r = recv_fds(sp[1], buf, sizeof(buf), fds, &n);
	CHECK(r < 0 && errno == EAGAIN, "3: %zd bytes more", r);
	st = wait_child(child, 10000);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed (status %#x)", st);
	test_done();
}
