// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Benchmark workload, socket-heavy: two processes (the root and its child)
 * joined by NUNIX unix stream connections (socketpairs) and NTCP TCP
 * connections over loopback (made before the fork: the child keeps the
 * connecting ends, the root the accepted ones), in a
 * net namespace of their own (loopback up); each process spreads its
 * connection ends over its half of NEPOLL epoll instances (EPOLLIN). Each
 * process also holds 4 MiB of touched anonymous memory.
 *
 *   sockhog NUNIX NTCP NEPOLL
 *
 * The root prints "ready NUNIX NTCP NEPOLL" once every connection is made
 * and registered, then sleeps. On SIGUSR1 the root writes one byte on each of
 * its connection ends and wakes the child, which reads each through its
 * epolls and sends it back; the root waits for every echo through its own
 * epolls and prints "verified" or "CORRUPT: N of M echoed" (used after a
 * restart, outside the timed part). Needs root (the net namespace).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MEM (4 << 20)

static volatile sig_atomic_t want_verify;

static void on_usr1(int sig)
{
	(void)sig;
	want_verify = 1;
}

/* SIGUSR1 stays blocked but here: none is lost between the check and the wait. */
static void wait_usr1(void)
{
	sigset_t none;

	sigemptyset(&none);
	while (!want_verify)
		sigsuspend(&none);
	want_verify = 0;
}

static void die(const char *what)
{
	fprintf(stderr, "sockhog: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void netns_lo_up(void)
{
	struct ifreq ifr = {0};
	int s;

	if (unshare(CLONE_NEWNET))
		die("unshare(CLONE_NEWNET)");
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr))
		die("lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		die("lo up");
	close(s);
}

/* Each of @fds in one of @ep (round robin), EPOLLIN, data: its index. */
static void spread(const int *fds, int n, int *ep, int nep)
{
	for (int i = 0; i < nep; i++)
		if ((ep[i] = epoll_create1(0)) < 0)
			die("epoll_create1");
	for (int i = 0; i < n; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};

		if (epoll_ctl(ep[i % nep], EPOLL_CTL_ADD, fds[i], &ev))
			die("epoll_ctl");
	}
}

/* Read one byte from each of the n fds through the epolls (echo: send it back). */
static int collect(const int *fds, int n, const int *ep, int nep, int echo)
{
	char *seen = calloc(n, 1);
	int left = n, idle = 0;
	struct epoll_event ev[64];

	while (left && idle < 10000) {
		int got = 0;

		for (int k = 0; k < nep; k++) {
			int m = epoll_wait(ep[k], ev, 64, 0);

			for (int j = 0; j < m; j++) {
				int i = ev[j].data.u32;
				char c;

				if (read(fds[i], &c, 1) != 1 || seen[i])
					continue;
				seen[i] = 1;
				left--;
				got++;
				if (echo && write(fds[i], &c, 1) != 1)
					die("echo");
			}
		}
		if (!got) {
			struct timespec ts = {0, 1000000};

			nanosleep(&ts, NULL);
			idle++;
		}
	}
	free(seen);
	return n - left;
}

static void child_loop(const int *fds, int n, const int *ep, int nep, int ready)
{
	if (write(ready, "r", 1) != 1)
		die("ready");
	close(ready);
	fclose(stdin);
	fclose(stdout);
	fclose(stderr);
	for (;;) {
		wait_usr1();
		collect(fds, n, ep, nep, 1);
	}
}

/* ntcp TCP connections: the connecting ends in theirs[], the accepted in mine[]. */
static void tcp_ends(int ntcp, int *mine, int *theirs, int lst)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);

	if (getsockname(lst, (struct sockaddr *)&a, &len))
		die("getsockname");
	for (int i = 0; i < ntcp; i++) {
		theirs[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (theirs[i] < 0 || connect(theirs[i], (struct sockaddr *)&a, len))
			die("connect");
		mine[i] = accept(lst, NULL, NULL);
		if (mine[i] < 0)
			die("accept");
	}
}

int main(int argc, char **argv)
{
	int nunix = argc > 3 ? atoi(argv[1]) : -1, ntcp = argc > 3 ? atoi(argv[2]) : -1;
	int nep = argc > 3 ? atoi(argv[3]) : -1, n, *mine, *theirs, *ep, lst, rp[2];
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct rlimit rl;
	sigset_t usr1;
	char *mem, c;
	pid_t pid;

	if (nunix < 0 || ntcp < 0 || nep < 2) {
		fprintf(stderr, "usage: sockhog NUNIX NTCP NEPOLL (NEPOLL >= 2)\n");
		return 2;
	}
	n = nunix + ntcp;
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	mem = malloc(MEM);
	mine = calloc(n, sizeof(int));
	theirs = calloc(n, sizeof(int));
	ep = calloc(nep, sizeof(int));
	if (!mem || !mine || !theirs || !ep)
		die("malloc");
	/* in the net namespace: cr describes the tree's sockets from its root's (dump.c) */
	netns_lo_up();
	for (int i = 0; i < nunix; i++) {
		int sp[2];

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
			die("socketpair");
		mine[i] = sp[0];
		theirs[i] = sp[1];
	}
	for (int i = 0; i < MEM; i++)
		mem[i] = (char)(i * 7 + 1);
	lst = socket(AF_INET, SOCK_STREAM, 0);
	if (lst < 0 || bind(lst, (struct sockaddr *)&a, sizeof(a)) || listen(lst, 128))
		die("listener");
	tcp_ends(ntcp, mine + nunix, theirs + nunix, lst);
	close(lst);
	signal(SIGUSR1, on_usr1);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	if (pipe(rp))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(rp[0]);
		for (int i = 0; i < n; i++)
			close(mine[i]);
		spread(theirs, n, ep, nep / 2);
		child_loop(theirs, n, ep, nep / 2, rp[1]);
	}
	close(rp[1]);
	for (int i = 0; i < n; i++)
		close(theirs[i]);
	spread(mine, n, ep, nep - nep / 2);
	if (read(rp[0], &c, 1) != 1)
		die("child not ready");
	close(rp[0]);
	printf("ready %d %d %d\n", nunix, ntcp, nep);
	fflush(stdout);
	for (;;) {
		int ok;

		wait_usr1();
		for (int i = 0; i < n; i++)
			if (write(mine[i], "e", 1) != 1)
				die("write");
		kill(pid, SIGUSR1);
		ok = collect(mine, n, ep, nep - nep / 2, 0);
		for (int i = 0; i < MEM && ok == n; i++)
			if (mem[i] != (char)(i * 7 + 1))
				ok = -1;
		if (ok == n)
			printf("verified\n");
		else
			printf("CORRUPT: %d of %d echoed%s\n", ok < 0 ? n : ok, n,
			       ok < 0 ? ", memory differs" : "");
		fflush(stdout);
	}
}
