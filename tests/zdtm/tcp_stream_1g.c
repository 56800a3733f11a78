/*
 * tcp_stream_1g: a 1 GiB stream each way over one TCP connection between a
 * server (the parent) and a client (its child) of the tree, both writing
 * their stream and reading the other's at once (poll, non-blocking), arg
 * v4 or v6. Each side runs at full speed until it has read a quarter of the
 * other's stream, then (the server prints READY) reads and writes 4 KiB a
 * millisecond until $ZDTM_GO, so the checkpoint finds every queue busy,
 * then at full speed to the end. (v4 only: tcp_stream covers v6; this one
 * is about the amount, and costs ~10 s a mode.)
 * Checks, on each side: every byte read is the one expected at its position
 * in the other's stream (nothing lost, duplicated or reordered), the stream
 * ends with EOF at exactly 1 GiB; the checksum of what each side wrote
 * equals the other's of what it read.
 * Skip proof: file:tcp.
 */
#include "inet.h"

#include <poll.h>

#define TOTAL (1LL << 30)
#define CHUNK (1 << 16)

struct side {
	uint64_t seed; /* of the stream this side writes; the peer's is ~seed */
	long long sent, got, bad;
	uint64_t sum_sent, sum_got;
	uint8_t carry[8]; /* sum_got: bytes of a word not complete yet */
	int ncarry;
};

static uint64_t word(uint64_t seed, uint64_t i)
{
	uint64_t z = (i + seed) * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The bytes [off, off + len) of stream @seed (off a multiple of 8 or not). */
static void fill(uint64_t seed, long long off, uint8_t *buf, size_t len)
{
	static uint64_t w[CHUNK / 8 + 2];
	long long first = off / 8, last = (off + len + 7) / 8;

	for (long long i = first; i < last; i++)
		w[i - first] = word(seed, i);
	memcpy(buf, (uint8_t *)w + (off - first * 8), len);
}

static uint64_t mix(uint64_t sum, uint64_t w)
{
	return (sum ^ w) * 0x100000001b3ULL + (sum >> 29);
}

/* The checksum of what was read, over whole 8-byte words of the stream. */
static void sum_read(struct side *s, const uint8_t *buf, size_t n)
{
	uint64_t w;

	while (n) {
		size_t k = (size_t)(8 - s->ncarry) < n ? (size_t)(8 - s->ncarry) : n;

		memcpy(s->carry + s->ncarry, buf, k);
		s->ncarry += k;
		buf += k;
		n -= k;
		if (s->ncarry == 8) {
			memcpy(&w, s->carry, 8);
			s->sum_got = mix(s->sum_got, w);
			s->ncarry = 0;
		}
		while (s->ncarry == 0 && n >= 8) {
			memcpy(&w, buf, 8);
			s->sum_got = mix(s->sum_got, w);
			buf += 8;
			n -= 8;
		}
	}
}

static bool slow(struct side *s, bool *ready, bool server)
{
	if (s->got < TOTAL / 4)
		return false;
	if (server && !*ready) {
		*ready = true;
		test_ready();
	}
	return !test_go_seen();
}

static int do_read(int fd, struct side *s, bool throttled)
{
	static uint8_t buf[CHUNK], want[CHUNK];
	ssize_t n = read(fd, buf, throttled ? 4096 : CHUNK);

	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	if (n == 0)
		return 1;
	fill(~s->seed, s->got, want, n);
	if (s->bad < 0 && memcmp(buf, want, n))
		for (ssize_t i = 0; i < n && s->bad < 0; i++)
			if (buf[i] != want[i])
				s->bad = s->got + i;
	sum_read(s, buf, n);
	s->got += n;
	return 0;
}

static int do_write(int fd, struct side *s, bool throttled)
{
	static uint8_t buf[CHUNK];
	size_t len = TOTAL - s->sent < CHUNK ? TOTAL - s->sent : CHUNK;
	ssize_t n;

	if (throttled && len > 4096)
		len = 4096;
	fill(s->seed, s->sent, buf, len);
	n = write(fd, buf, len);
	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	for (long long i = s->sent / 8; i < (s->sent + n) / 8; i++) /* whole words written */
		s->sum_sent = mix(s->sum_sent, word(s->seed, i));
	s->sent += n;
	if (s->sent == TOTAL)
		shutdown(fd, SHUT_WR);
	return 0;
}

/* Write our stream and read the peer's until both are done. */
static void run(int fd, struct side *s, bool server)
{
	bool ready = false, eof = false;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (!eof || s->sent < TOTAL) {
		struct pollfd p = {.fd = fd,
				   .events = (eof ? 0 : POLLIN) | (s->sent < TOTAL ? POLLOUT : 0)};
		bool throttled = slow(s, &ready, server);
		int r = 0;

		if (poll(&p, 1, 1000) < 0 || (p.revents & POLLNVAL))
			break;
		if (p.revents & (POLLIN | POLLHUP | POLLERR))
			r = do_read(fd, s, throttled);
		if (r == 1)
			eof = true;
		if (r >= 0 && (p.revents & POLLOUT) && s->sent < TOTAL)
			r = do_write(fd, s, throttled);
		if (r < 0)
			break;
		if (throttled)
			msleep(1);
	}
	if (server && !ready)
		test_ready();
}

int main(int argc, char **argv)
{
	int v6 = argc > 1 && !strcmp(argv[1], "v6"), l, c, fd, sp[2];
	struct sockaddr_storage ss;
	socklen_t len = inet_addr_of(v6, 7101, 0, &ss);
	struct side s = {.seed = 0x5eed, .bad = -1}, peer;
	pid_t pid;

	inet_netns();
	l = socket(ss.ss_family, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&ss, len) || listen(l, 1) || pipe(sp))
		test_fatal("listener: %m");
	pid = fork();
	if (!pid) {
		struct side cs = {.seed = ~0x5eedULL, .bad = -1};

		c = socket(ss.ss_family, SOCK_STREAM, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&ss, len))
			test_fatal("client: connect: %m");
		run(c, &cs, false);
		if (write(sp[1], &cs, sizeof(cs)) != sizeof(cs))
			test_fatal("client: no sums");
		exit(0);
	}
	fd = accept(l, NULL, NULL);
	if (fd < 0)
		test_fatal("accept: %m");
	run(fd, &s, true);
	test_wait_go();
	CHECK(s.got == TOTAL && s.bad < 0 && s.sent == TOTAL,
	      "server: read %lld bytes of %lld (first bad byte at %lld), wrote %lld", s.got, TOTAL,
	      s.bad, s.sent);
	if (read(sp[0], &peer, sizeof(peer)) != sizeof(peer)) {
		fail("no sums from the client");
	} else {
		CHECK(peer.got == TOTAL && peer.bad < 0 && peer.sent == TOTAL,
		      "client: read %lld bytes of %lld (first bad byte at %lld), wrote %lld",
		      peer.got, TOTAL, peer.bad, peer.sent);
		CHECK(peer.sum_sent == s.sum_got,
		      "client to server: checksums differ: wrote %llx, "
		      "read %llx",
		      (unsigned long long)peer.sum_sent, (unsigned long long)s.sum_got);
		CHECK(s.sum_sent == peer.sum_got,
		      "server to client: checksums differ: wrote %llx, "
		      "read %llx",
		      (unsigned long long)s.sum_sent, (unsigned long long)peer.sum_got);
	}
	reap_child(pid, "client");
	test_done();
}
