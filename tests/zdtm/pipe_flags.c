/*
 * pipe_flags: the status flags (F_SETFL) of pipe ends and a FIFO, each
 * exactly as it was, and acting:
 *   p0  read end O_NONBLOCK, write end blocking;
 *   p1  made O_NONBLOCK, write end O_APPEND|O_NONBLOCK, read end cleared;
 *   p2  packet mode (pipe2 O_DIRECT) on both ends;
 *   p3  packet mode made, then cleared on the read end; read end O_ASYNC;
 *   p4  write end O_NONBLOCK, shared with a child, which sees it too;
 *   a FIFO opened read-write, then O_NONBLOCK|O_APPEND.
 * Checks: F_GETFL of every end equals the value read before the
 * checkpoint; an empty non-blocking read end gives EAGAIN; two writes to a
 * packet-mode pipe are read back as two packets.
 * Skip proof: file:pipe.
 */
#include "zdtm.h"

#define NFD 11

static int fds[NFD], before[NFD];

static void setfl(int fd, int flags)
{
	if (fcntl(fd, F_SETFL, flags))
		test_fatal("F_SETFL %#x", flags);
}

static void check_flags(const char *who)
{
	for (int i = 0; i < NFD; i++) {
		int now = fcntl(fds[i], F_GETFL);

		CHECK(now == before[i], "%s: fd %d: flags %#o, not %#o", who, fds[i], now,
		      before[i]);
	}
}

int main(void)
{
	int p[5][2], ff, r;
	char buf[16];
	pid_t child;

	if (pipe2(p[0], 0) || pipe2(p[1], O_NONBLOCK) || pipe2(p[2], O_DIRECT) ||
	    pipe2(p[3], O_DIRECT) || pipe2(p[4], 0))
		test_fatal("pipe2");
	setfl(p[0][0], O_NONBLOCK);
	setfl(p[1][1], O_APPEND | O_NONBLOCK);
	setfl(p[1][0], 0);
	setfl(p[3][0], O_ASYNC);
	setfl(p[4][1], O_NONBLOCK);
	if (mkfifo(test_path("fifo"), 0600))
		test_fatal("mkfifo");
	ff = open(test_path("fifo"), O_RDWR);
	if (ff < 0)
		test_fatal("open fifo");
	setfl(ff, O_NONBLOCK | O_APPEND);
	for (int i = 0; i < 5; i++) {
		fds[2 * i] = p[i][0];
		fds[2 * i + 1] = p[i][1];
	}
	fds[10] = ff;
	for (int i = 0; i < NFD; i++)
		before[i] = fcntl(fds[i], F_GETFL);
	child = fork();
	if (child < 0)
		test_fatal("fork");
	if (!child) {
		test_wait_go();
		check_flags("child");
		test_child_done();
	}
	test_ready();
	test_wait_go();

	check_flags("parent");
	errno = 0;
	CHECK(read(p[0][0], buf, 1) == -1 && errno == EAGAIN, "p0: read end blocks (%s)",
	      strerror(errno));
	if (write(p[2][1], "ab", 2) != 2 || write(p[2][1], "cd", 2) != 2)
		test_fatal("write p2");
	r = read(p[2][0], buf, sizeof(buf));
	CHECK(r == 2 && !memcmp(buf, "ab", 2), "p2: not a packet: read %d bytes", r);
	reap_child(child, "child");
	test_done();
}
