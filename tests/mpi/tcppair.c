/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A TCP client and server streaming checksummed blocks, one on each of two
 * nodes, started as a non-MPI program by mpirun (-n 2 --map-by node): rank 0
 * (OMPI_COMM_WORLD_RANK) is the client, rank 1 the server.
 *
 *	tcppair -c SERVER_HOST [-p PORT] [-b BLOCKS] [-z BYTES] [-s SLEEP_MS] [-l START_LOG]
 *
 * The client sends BLOCKS blocks (a header: magic, sequence number, length,
 * FNV-1a sum; then the payload, a function of the sequence number), up to
 * WINDOW ahead of the replies, pausing SLEEP_MS between them so that a
 * checkpoint finds data in flight both ways. The server checks each block
 * (its number is the next one, its sum its payload's) and replies with its
 * number and the server's running digest of all payloads; the client checks
 * that against its own. After the last block the client shuts its side down,
 * the server sends its block count and final digest and exits; the client
 * checks them and prints the digest. Any byte lost, duplicated or changed:
 * a message on stderr and exit status 1. Output (the client's, on stdout) is
 * a function of the arguments alone. With -l, the client appends one line
 * to START_LOG when it starts (a restored run does not: it never starts).
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAGIC_BLOCK 0x43524231u /* "CRB1" */
#define MAGIC_REPLY 0x43525231u
#define MAGIC_FINAL 0x43524631u
#define WINDOW	    4
#define MAX_BYTES   (1 << 20)

struct hdr {
	uint32_t magic, seq, len, pad;
	uint64_t sum;
};

static const char *me = "tcppair";

static void die(const char *what)
{
	fprintf(stderr, "%s: %s\n", me, what);
	exit(1);
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

static void payload(uint32_t seq, unsigned char *p, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (unsigned char)(seq * 131u + i * 7u + (i >> 8));
}

static void put(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write: connection lost");
		p += w;
		n -= (size_t)w;
	}
}

/* n bytes, or 0 at a clean end of stream before the first; dies on a short read. */
static int get(int fd, void *buf, size_t n)
{
	char *p = buf;
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read: connection lost");
		if (r == 0) {
			if (!got)
				return 0;
			die("read: stream ended inside a record");
		}
		got += (size_t)r;
	}
	return 1;
}

static void nap(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void serve(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	unsigned char *buf = malloc(MAX_BYTES);
	uint64_t digest = 0xcbf29ce484222325ull;
	uint32_t next = 0;
	struct hdr h, r;
	int ls, c, one = 1;

	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (!buf || ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 1) < 0)
		die("server: cannot listen");
	c = accept(ls, NULL, NULL);
	if (c < 0)
		die("server: accept");
	close(ls);
	while (get(c, &h, sizeof(h))) {
		if (h.magic != MAGIC_BLOCK || h.len > MAX_BYTES)
			die("server: not a block header");
		if (h.seq != next) {
			fprintf(stderr, "%s: server: block %u where %u was due\n", me, h.seq, next);
			exit(1);
		}
		if (!get(c, buf, h.len) || fnv(0xcbf29ce484222325ull, buf, h.len) != h.sum) {
			fprintf(stderr, "%s: server: block %u: bad sum\n", me, h.seq);
			exit(1);
		}
		digest = fnv(digest, buf, h.len);
		r = (struct hdr){.magic = MAGIC_REPLY, .seq = h.seq, .sum = digest};
		put(c, &r, sizeof(r));
		next++;
	}
	r = (struct hdr){.magic = MAGIC_FINAL, .seq = next, .sum = digest};
	put(c, &r, sizeof(r));
	close(c);
	free(buf);
}

static int dial(const char *host, int port)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
	char p[16];
	int fd = -1, one = 1;

	snprintf(p, sizeof(p), "%d", port);
	/* the server may not listen yet: up to a minute */
	for (int i = 0; i < 300 && fd < 0; i++) {
		if (getaddrinfo(host, p, &hints, &res) == 0) {
			fd = socket(AF_INET, SOCK_STREAM, 0);
			if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
				close(fd);
				fd = -1;
			}
			freeaddrinfo(res);
		}
		if (fd < 0)
			nap(200);
	}
	if (fd < 0)
		die("client: cannot connect to the server");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* The server's reply to block @seq: its running digest must be @want. */
static void check_reply(int fd, uint32_t seq, uint64_t want)
{
	struct hdr r;

	if (!get(fd, &r, sizeof(r)) || r.magic != MAGIC_REPLY || r.seq != seq || r.sum != want) {
		fprintf(stderr,
			"%s: client: reply to block %u: seq %u, digest %016llx, want %016llx\n", me,
			seq, r.seq, (unsigned long long)r.sum, (unsigned long long)want);
		exit(1);
	}
}

static void client(const char *host, int port, uint32_t blocks, uint32_t bytes, long sleep_ms)
{
	unsigned char *buf = malloc(bytes);
	uint64_t digests[WINDOW], digest = 0xcbf29ce484222325ull;
	int fd = dial(host, port);
	struct hdr h;

	if (!buf)
		die("client: out of memory");
	for (uint32_t seq = 0; seq < blocks; seq++) {
		payload(seq, buf, bytes);
		h = (struct hdr){.magic = MAGIC_BLOCK,
				 .seq = seq,
				 .len = bytes,
				 .sum = fnv(0xcbf29ce484222325ull, buf, bytes)};
		put(fd, &h, sizeof(h));
		put(fd, buf, bytes);
		digest = fnv(digest, buf, bytes);
		digests[seq % WINDOW] = digest;
		if (seq + 1 >= WINDOW)
			check_reply(fd, seq + 1 - WINDOW, digests[(seq + 1) % WINDOW]);
		if (seq % 20 == 19)
			printf("block %u digest %016llx\n", seq, (unsigned long long)digest);
		fflush(stdout);
		nap(sleep_ms);
	}
	for (uint32_t seq = blocks > WINDOW - 1 ? blocks - (WINDOW - 1) : 0; seq < blocks; seq++)
		check_reply(fd, seq, digests[seq % WINDOW]);
	shutdown(fd, SHUT_WR);
	if (!get(fd, &h, sizeof(h)) || h.magic != MAGIC_FINAL || h.seq != blocks || h.sum != digest)
		die("client: the server's final count or digest differs");
	printf("done: %u blocks of %u bytes, digest %016llx, both sides agree\n", blocks, bytes,
	       (unsigned long long)digest);
	close(fd);
	free(buf);
}

int main(int argc, char **argv)
{
	const char *host = NULL, *log = NULL, *rank = getenv("OMPI_COMM_WORLD_RANK");
	long blocks = 400, bytes = 32768, sleep_ms = 100, port = 7790;
	FILE *f;
	int c;

	while ((c = getopt(argc, argv, "c:p:b:z:s:l:")) != -1) {
		switch (c) {
		case 'c':
			host = optarg;
			break;
		case 'p':
			port = atol(optarg);
			break;
		case 'b':
			blocks = atol(optarg);
			break;
		case 'z':
			bytes = atol(optarg);
			break;
		case 's':
			sleep_ms = atol(optarg);
			break;
		case 'l':
			log = optarg;
			break;
		default:
			die("usage: tcppair -c SERVER_HOST [-p PORT] [-b BLOCKS] [-z BYTES] [-s "
			    "MS] [-l LOG]");
		}
	}
	if (!rank || !host || blocks < 1 || bytes < 1 || bytes > MAX_BYTES || port < 1 ||
	    port > 65535)
		die("needs OMPI_COMM_WORLD_RANK (mpirun), -c, sane sizes");
	if (atoi(rank) == 1) {
		me = "tcppair server";
		serve((int)port);
		return 0;
	}
	me = "tcppair client";
	if (log && (f = fopen(log, "a"))) {
		fprintf(f, "start %s\n", getenv("SLURM_JOB_ID") ? getenv("SLURM_JOB_ID") : "?");
		fclose(f);
	}
	client(host, (int)port, (uint32_t)blocks, (uint32_t)bytes, sleep_ms);
	return 0;
}
