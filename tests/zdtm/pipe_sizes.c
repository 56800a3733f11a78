/*
 * pipe_sizes: pipes of several buffer sizes (the default 64 KiB, and
 * F_SETPIPE_SZ 4, 8, 16 and 256 KiB and 1 MiB) holding data:
 * one empty, some partly filled, a 64 KiB and the 256 KiB one full; one with its write end
 * O_NONBLOCK, one with both ends close-on-exec; a pipe whose write end is
 * held by a child process only.
 * Checks: after the restart F_GETPIPE_SZ gives each pipe's size, the
 * queued bytes come out in order and nothing more, a full pipe is still
 * full (a non-blocking write gets EAGAIN) and an empty one empty; flags
 * and close-on-exec are kept; the child's writes reach the parent.
 * Skip proof: fds.
 */
#include "zdtm.h"

#include <sys/ioctl.h>

struct spec {
	int size, fill, flags;
	int fd[2];
};

static struct spec spec[] = {
	{65536, 65536, 0, {0}},		  /* full */
	{65536, 0, 0, {0}},		  /* default size, empty */
	{65536, 1000, O_NONBLOCK, {0}},	  /* write end non-blocking */
	{262144, 262144, O_CLOEXEC, {0}}, /* full, close-on-exec */
	{1 << 20, 300000, 0, {0}},
	{4096, 4096, 0, {0}},	       /* smaller than the default: full */
	{8192, 4000, O_NONBLOCK, {0}}, /* write end non-blocking */
	{16384, 0, O_CLOEXEC, {0}},    /* empty */
};

static uint8_t pat(int i, int k)
{
	return (uint8_t)(k * 13 + i * 41 + k / 4099);
}

static void check(int i)
{
	struct spec *s = &spec[i];
	static uint8_t buf[1 << 20];
	int sz = fcntl(s->fd[0], F_GETPIPE_SZ), n = 0, r, fl = fcntl(s->fd[0], F_GETFL);

	CHECK(sz == s->size, "pipe %d: size %d, want %d", i, sz, s->size);
	CHECK(fcntl(s->fd[0], F_GETFD) == ((s->flags & O_CLOEXEC) ? FD_CLOEXEC : 0) &&
		      fcntl(s->fd[1], F_GETFD) == ((s->flags & O_CLOEXEC) ? FD_CLOEXEC : 0),
	      "pipe %d: close-on-exec differs", i);
	CHECK((fcntl(s->fd[1], F_GETFL) & O_NONBLOCK) == (s->flags & O_NONBLOCK),
	      "pipe %d: write end O_NONBLOCK differs", i);
	if (s->fill == s->size) {
		int wfl = fcntl(s->fd[1], F_GETFL);

		fcntl(s->fd[1], F_SETFL, wfl | O_NONBLOCK);
		CHECK(write(s->fd[1], "x", 1) == -1 && errno == EAGAIN, "pipe %d is not full", i);
		fcntl(s->fd[1], F_SETFL, wfl);
	}
	CHECK(ioctl(s->fd[0], FIONREAD, &r) == 0 && r == s->fill, "pipe %d holds %d bytes, want %d",
	      i, r, s->fill);
	fcntl(s->fd[0], F_SETFL, fl | O_NONBLOCK);
	while (n < (int)sizeof(buf) && (r = read(s->fd[0], buf + n, sizeof(buf) - n)) > 0)
		n += r;
	fcntl(s->fd[0], F_SETFL, fl);
	CHECK(n == s->fill, "pipe %d: %d bytes came out, want %d", i, n, s->fill);
	for (int k = 0; k < n && k < s->fill; k++)
		if (buf[k] != pat(i, k)) {
			fail("pipe %d: byte %d differs", i, k);
			break;
		}
}

int main(void)
{
	static uint8_t buf[1 << 20];
	int cp[2], n = ARRAY_SIZE(spec);
	struct barrier b;
	pid_t pid;
	char c[8];

	for (int i = 0; i < n; i++) {
		struct spec *s = &spec[i];

		if (pipe2(s->fd, s->flags & O_CLOEXEC))
			test_fatal("pipe2");
		if (fcntl(s->fd[0], F_SETPIPE_SZ, s->size) != s->size)
			test_fatal("F_SETPIPE_SZ %d", s->size);
		for (int k = 0; k < s->fill; k++)
			buf[k] = pat(i, k);
		fcntl(s->fd[1], F_SETFL, O_NONBLOCK);
		if (s->fill && write(s->fd[1], buf, s->fill) != s->fill)
			test_fatal("fill pipe %d", i);
		fcntl(s->fd[1], F_SETFL, s->flags & O_NONBLOCK);
	}
	if (pipe(cp))
		test_fatal("pipe");
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		close(cp[0]);
		barrier_signal(&b);
		test_wait_go();
		_exit(write(cp[1], "child", 5) == 5 ? 0 : 1);
	}
	close(cp[1]);
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();

	for (int i = 0; i < n; i++)
		check(i);
	CHECK(read(cp[0], c, 5) == 5 && !memcmp(c, "child", 5), "nothing from the child's pipe");
	CHECK(read(cp[0], c, 1) == 0, "the child's pipe is not at EOF after it exited");
	reap_child(pid, "child");
	test_done();
}
