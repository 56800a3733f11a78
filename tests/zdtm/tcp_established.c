/*
 * tcp_established: established TCP connections, both ends in the tree (arg
 * v4, v6), kept by the TCP repair interface with the network locked.
 *   A: the client wrote until its send queue was full (the server's receive
 *      queue full too, the rest unsent); the server wrote 1000 bytes the
 *      client has not read; TCP_NODELAY, SO_KEEPALIVE + TCP_KEEPIDLE and
 *      buffer sizes set.
 *   B: 5000 bytes sent but unacked: the server end dropped every segment
 *      (a socket filter, removed before READY) until the retransmission
 *      timer backed off past the checkpoint.
 * Checks: every byte comes out once, in order, then EOF at the exact count
 * (nothing lost or duplicated), both ways; options are kept; the segment
 * size (TCP_MAXSEG) is not smaller than before (a connection rebuilt with the
 * default 536 sends small segments for ever; on loopback the kernel had
 * bounded it to half the first window, which a rebuilt one is not); the
 * listener still accepts.
 * Skip proof: file:tcp.
 */
#include "inet.h"

#include <linux/filter.h>
#include <poll.h>

static int v6, lsn, c1, a1, c2, a2, mss1;
static long w1, w2 = 5000;

static uint8_t pat(long i, int k)
{
	return (uint8_t)(i * 7 + i / 251 + k);
}

static int conn(int *srv)
{
	struct sockaddr_storage ss;
	socklen_t len = inet_addr_of(v6, 7000, 0, &ss);
	int c = socket(ss.ss_family, SOCK_STREAM, 0);

	if (c < 0 || connect(c, (struct sockaddr *)&ss, len))
		test_fatal("connect: %m");
	*srv = accept(lsn, NULL, NULL);
	if (*srv < 0)
		test_fatal("accept: %m");
	return c;
}

static long send_pat(int fd, long off, long max, int k)
{
	uint8_t buf[4096];
	long done = 0;

	while (done < max) {
		long n = max - done < (long)sizeof(buf) ? max - done : (long)sizeof(buf);
		ssize_t w;

		for (long i = 0; i < n; i++)
			buf[i] = pat(off + done + i, k);
		w = write(fd, buf, n);
		if (w < 0 && errno == EAGAIN)
			break;
		if (w <= 0)
			test_fatal("write: %m");
		done += w;
	}
	return done;
}

/* Read exactly @want bytes of pattern @k from @rd, then EOF once @wr shuts down. */
static void drain(int rd, int wr, long want, int k, const char *what)
{
	uint8_t buf[4096];
	long got = 0, bad = -1;
	struct pollfd p = {.fd = rd, .events = POLLIN};

	fcntl(rd, F_SETFL, 0);
	while (got < want && poll(&p, 1, 15000) == 1) {
		ssize_t n = read(rd, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n && bad < 0; i++)
			if (buf[i] != pat(got + i, k))
				bad = got + i;
		got += n;
	}
	CHECK(got == want && bad < 0, "%s: %ld bytes of %ld, first bad at %ld", what, got, want,
	      bad);
	shutdown(wr, SHUT_WR);
	CHECK(poll(&p, 1, 15000) == 1 && read(rd, buf, sizeof(buf)) == 0, "%s: no EOF after %ld",
	      what, want);
}

static void set_filter(int fd, int on)
{
	struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog prog = {1, &drop};
	int zero = 0;

	if (on ? setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog))
	       : setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &zero, sizeof(zero)))
		test_fatal("socket filter: %m");
}

static void setup(void)
{
	struct sockaddr_storage ss;
	socklen_t len = inet_addr_of(v6, 7000, 0, &ss);
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);

	lsn = socket(ss.ss_family, SOCK_STREAM, 0);
	if (lsn < 0 || bind(lsn, (struct sockaddr *)&ss, len) || listen(lsn, 4))
		test_fatal("listener: %m");
	c1 = conn(&a1);
	setint(c1, SOL_SOCKET, SO_SNDBUF, 128 << 10);
	setint(a1, SOL_SOCKET, SO_RCVBUF, 128 << 10);
	setint(c1, SOL_TCP, TCP_NODELAY, 1);
	setint(a1, SOL_SOCKET, SO_KEEPALIVE, 1);
	setint(a1, SOL_TCP, TCP_KEEPIDLE, 55);
	fcntl(c1, F_SETFL, O_NONBLOCK);
	mss1 = getint(c1, SOL_TCP, TCP_MAXSEG);
	if (send_pat(a1, 0, 1000, 1) != 1000)
		test_fatal("short write");
	for (int tries = 0; tries < 50; tries++, msleep(20))
		w1 += send_pat(c1, w1, 1 << 30, 0);
	c2 = conn(&a2);
	set_filter(a2, 1);
	if (send_pat(c2, 0, w2, 2) != w2)
		test_fatal("short write");
	msleep(3200); /* retransmissions at 0.2, 0.6, 1.4, 3.0 s: the next at 6.2 s */
	set_filter(a2, 0);
	if (getsockopt(c2, SOL_TCP, TCP_INFO, &ti, &tl) || !ti.tcpi_unacked)
		test_fatal("connection B has nothing unacked");
}

int main(int argc, char **argv)
{
	int a3, c3;

	v6 = argc > 1 && !strcmp(argv[1], "v6");
	inet_netns();
	setup();
	test_ready();
	test_wait_go();
	CHECK(getint(c1, SOL_TCP, TCP_NODELAY) == 1, "TCP_NODELAY lost");
	CHECK(getint(c1, SOL_TCP, TCP_MAXSEG) >= mss1, "TCP_MAXSEG %d, was %d",
	      getint(c1, SOL_TCP, TCP_MAXSEG), mss1);
	CHECK(getint(a1, SOL_SOCKET, SO_KEEPALIVE) == 1 && getint(a1, SOL_TCP, TCP_KEEPIDLE) == 55,
	      "keepalive lost");
	CHECK(getint(a1, SOL_SOCKET, SO_RCVBUF) == 256 << 10, "SO_RCVBUF %d",
	      getint(a1, SOL_SOCKET, SO_RCVBUF));
	drain(a1, c1, w1, 0, "A client to server");
	drain(c1, a1, 1000, 1, "A server to client");
	drain(a2, c2, w2, 2, "B (unacked) client to server");
	c3 = conn(&a3);
	CHECK(write(c3, "x", 1) == 1 && read(a3, &w2, 1) == 1, "listener: no new connection");
	test_done();
}
