// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * crd-flood: an attacker of crd's TCP port, for tests/cluster/test-crd-flood.sh.
 *
 *	crd-flood PORT SLOW GARBAGE SOURCES SECONDS
 *	crd-flood -u SOCKET SLOW SECONDS
 *
 * Keeps SLOW connections that send a byte of a header every second and
 * GARBAGE ones that send at once either a bad header (every other one) or
 * a whole CTL message whose munge credential is forged (the rest), from
 * SOURCES loopback addresses (127.0.0.2, 127.0.0.3, ...) to 127.0.0.1:PORT,
 * reopening each one the server closes, for SECONDS. With -u: SLOW
 * connections to crd's unix SOCKET (run as a user: a job's user may). Prints "flooding" once every
 *connection has been opened, and at the end one JSON line: how many were opened, closed by the
 *server, the longest a connection lived before the server closed it, and how many outlived the run
 *(and the oldest of them).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int fd;
	int slow;
	int est; /* connected: its life is counted from then */
	int64_t opened_ms, next_ms;
	unsigned sent;
};

struct flood {
	int port, sources;
	const char *unix_path; /* -u */
	struct conn *c;
	size_t n;
	unsigned long opened, closed, failed;
	int64_t longest_ms;
};

static int64_t _now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A CTL header announcing 32 KiB: within the server's first-message limit. */
static const uint8_t slow_hdr[16] = {13, 0, 0, 0, 0, 0x80, 0, 0};

/* A whole CTL message: a credential that looks like munge's, and is not. */
static const struct {
	uint32_t type, len, peerid, pid, strlen;
	char cred[44];
} forged = {13, 16 + 4 + 44, 0, 0, 44, "MUNGE:AwQDAACo2ZZyDX3x1n0nZ2Jf3Ff+g6bTYQ==:"};

static int _connect(struct flood *fl, size_t i)
{
	struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	int fd;

	/* non-blocking: a full accept queue must not stall the other connections' clocks */
	fd = socket(fl->unix_path ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
	if (fd < 0)
		return -1;
	if (fl->unix_path) {
		snprintf(un.sun_path, sizeof(un.sun_path), "%s", fl->unix_path);
		if (connect(fd, (struct sockaddr *)&un, sizeof(un)) == 0)
			return fd;
		close(fd);
		return -1;
	}
	src.sin_addr.s_addr = htonl(0x7f000002 + (uint32_t)(i % fl->sources));
	dst.sin_addr.s_addr = htonl(0x7f000001);
	dst.sin_port = htons(fl->port);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 && errno != EINPROGRESS)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int _open(struct flood *fl, size_t i, int64_t now)
{
	struct conn *c = &fl->c[i];
	int fd = _connect(fl, i);

	c->fd = fd;
	c->est = 0;
	c->next_ms = now + 100;
	if (fd < 0) {
		fl->failed++;
		return -1;
	}
	fl->opened++;
	return 0;
}

/* Connected (writable): the clock starts, the garbage goes. */
static void _established(struct flood *fl, size_t i, int64_t now)
{
	struct conn *c = &fl->c[i];
	int err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &(socklen_t){sizeof(err)}) < 0 || err) {
		close(c->fd);
		_open(fl, i, now);
		fl->failed++;
		return;
	}
	c->est = 1;
	c->opened_ms = now;
	c->next_ms = now;
	c->sent = 0;
	if (!c->slow && i % 2) /* type 0, length 7: refused as soon as the header is read */
		(void)!write(c->fd, "\0\0\0\0\7\0\0\0garbage!", 16);
	else if (!c->slow)
		(void)!write(c->fd, &forged, sizeof(forged));
}

/* The server closed it: count, and come back at once, as an attacker would. */
static void _closed(struct flood *fl, size_t i, int64_t now)
{
	struct conn *c = &fl->c[i];

	if (now - c->opened_ms > fl->longest_ms)
		fl->longest_ms = now - c->opened_ms;
	fl->closed++;
	close(c->fd);
	_open(fl, i, now);
}

static void _tick(struct flood *fl, struct pollfd *pfd, int64_t now)
{
	char buf[256];

	for (size_t i = 0; i < fl->n; i++) {
		struct conn *c = &fl->c[i];

		if (c->fd < 0) {
			if (now >= c->next_ms)
				_open(fl, i, now);
			continue;
		}
		if (!c->est) {
			if (pfd[i].revents)
				_established(fl, i, now);
			continue;
		}
		if (pfd[i].revents) {
			ssize_t r = read(c->fd, buf, sizeof(buf));
			if (r == 0 || (r < 0 && errno != EAGAIN)) {
				_closed(fl, i, now);
				continue;
			}
		}
		if (c->slow && now >= c->next_ms) {
			if (write(c->fd, &slow_hdr[c->sent % 16], 1) < 0 && errno != EAGAIN) {
				_closed(fl, i, now);
				continue;
			}
			c->sent++;
			c->next_ms = now + 1000;
		}
	}
}

static void _report(struct flood *fl, int64_t now)
{
	unsigned long open = 0;
	int64_t oldest = 0;

	for (size_t i = 0; i < fl->n; i++) {
		if (fl->c[i].fd < 0 || !fl->c[i].est)
			continue;
		open++;
		if (now - fl->c[i].opened_ms > oldest)
			oldest = now - fl->c[i].opened_ms;
	}
	printf("{\"opened\": %lu, \"closed_by_server\": %lu, \"connect_failed\": %lu, "
	       "\"longest_ms\": %lld, \"open_at_end\": %lu, \"oldest_open_ms\": %lld}\n",
	       fl->opened, fl->closed, fl->failed, (long long)fl->longest_ms, open,
	       (long long)oldest);
}

/* The arguments: 0, or 2 on a usage error. */
static int _args(struct flood *fl, int argc, char **argv, size_t *slow, int *secs)
{
	if (argc == 5 && !strcmp(argv[1], "-u")) {
		fl->unix_path = argv[2];
		*slow = fl->n = strtoul(argv[3], NULL, 10);
		*secs = atoi(argv[4]);
		fl->sources = 1;
		return 0;
	}
	if (argc != 6) {
		fprintf(stderr, "usage: crd-flood PORT SLOW GARBAGE SOURCES SECONDS\n"
				"       crd-flood -u SOCKET SLOW SECONDS\n");
		return 2;
	}
	fl->port = atoi(argv[1]);
	*slow = strtoul(argv[2], NULL, 10);
	fl->n = *slow + strtoul(argv[3], NULL, 10);
	fl->sources = atoi(argv[4]) > 0 ? atoi(argv[4]) : 1;
	*secs = atoi(argv[5]);
	return 0;
}

int main(int argc, char **argv)
{
	struct flood fl = {0};
	struct pollfd *pfd;
	int64_t end;
	size_t slow;
	int secs;

	if (_args(&fl, argc, argv, &slow, &secs))
		return 2;
	signal(SIGPIPE, SIG_IGN); /* a write to a connection crd closed */
	setrlimit(RLIMIT_NOFILE, &(struct rlimit){fl.n + 64, fl.n + 64});
	fl.c = calloc(fl.n, sizeof(*fl.c));
	pfd = calloc(fl.n, sizeof(*pfd));
	if (!fl.c || !pfd)
		return 2;
	for (size_t i = 0; i < fl.n; i++) {
		fl.c[i].slow = i < slow;
		_open(&fl, i, _now_ms());
	}
	printf("flooding\n");
	fflush(stdout);
	end = _now_ms() + 1000LL * secs;
	while (_now_ms() < end) {
		for (size_t i = 0; i < fl.n; i++)
			pfd[i] = (struct pollfd){.fd = fl.c[i].fd,
						 .events = fl.c[i].est ? POLLIN : POLLOUT};
		poll(pfd, fl.n, 100);
		_tick(&fl, pfd, _now_ms());
	}
	_report(&fl, _now_ms());
	return 0;
}
