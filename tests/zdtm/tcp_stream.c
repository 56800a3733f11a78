/*
 * tcp_stream: a 256 MiB stream over TCP between two processes of the tree (a
 * child writes, the parent reads; arg v4, v6), checkpointed while it flows:
 * the parent reads 64 MiB at full speed, prints READY, then reads slowly
 * (queues full both sides) until $ZDTM_GO, then at full speed to the end.
 * Checks: every byte is the one expected at its position in the stream
 * (nothing lost, duplicated or reordered), the stream ends with EOF at
 * exactly 256 MiB, and the child's checksum of what it wrote matches the
 * parent's of what it read.
 * Skip proof: file:tcp.
 */
#include "inet.h"

#include <poll.h>

#define TOTAL (256LL << 20)

static uint8_t pat(long long i)
{
	return (uint8_t)(i * 131 + (i >> 12) * 7 + (i >> 20));
}

static void writer(int fd)
{
	static uint8_t buf[1 << 16];
	long long off = 0;
	uint64_t sum = 0;

	while (off < TOTAL) {
		ssize_t n;

		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = pat(off + i);
		n = write(fd, buf,
			  TOTAL - off < (long long)sizeof(buf) ? (size_t)(TOTAL - off)
							       : sizeof(buf));
		if (n <= 0) /* quietly: the parent sees the stream end short */
			exit(1);
		for (ssize_t i = 0; i < n; i++)
			sum = sum * 31 + buf[i];
		off += n;
	}
	shutdown(fd, SHUT_WR);
	if (write(3, &sum, sizeof(sum)) != sizeof(sum))
		test_fatal("child: no sum");
	exit(0);
}

int main(int argc, char **argv)
{
	static uint8_t buf[1 << 16];
	int v6 = argc > 1 && !strcmp(argv[1], "v6"), l, c, s, sp[2], ready = 0;
	struct sockaddr_storage ss;
	socklen_t len = inet_addr_of(v6, 7100, 0, &ss);
	long long got = 0, bad = -1;
	uint64_t sum = 0, csum = 0;
	pid_t pid;

	inet_netns();
	l = socket(ss.ss_family, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&ss, len) || listen(l, 1) || pipe(sp))
		test_fatal("listener: %m");
	pid = fork();
	if (!pid) {
		c = socket(ss.ss_family, SOCK_STREAM, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&ss, len) || dup2(sp[1], 3) != 3)
			test_fatal("child: connect: %m");
		writer(c);
	}
	s = accept(l, NULL, NULL);
	if (s < 0)
		test_fatal("accept: %m");
	for (;;) {
		ssize_t n = read(s, buf, ready && !test_go_seen() ? 4096 : sizeof(buf));

		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (bad < 0 && buf[i] != pat(got + i))
				bad = got + i;
			sum = sum * 31 + buf[i];
		}
		got += n;
		if (!ready && got >= TOTAL / 4) {
			ready = 1;
			test_ready();
		}
		if (ready && !test_go_seen())
			msleep(1);
	}
	if (!ready)
		test_ready();
	test_wait_go();
	CHECK(got == TOTAL && bad < 0, "read %lld bytes of %lld, first bad byte at %lld", got,
	      TOTAL, bad);
	CHECK(read(sp[0], &csum, sizeof(csum)) == sizeof(csum) && csum == sum,
	      "checksums differ: wrote %llx, read %llx", (unsigned long long)csum,
	      (unsigned long long)sum);
	reap_child(pid, "writer");
	test_done();
}
