// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kinds MODE [DIR]: holds one group of the socket, event and SysV kinds for
 * owner-kinds.sh, prints READY, then sleeps; on SIGUSR1 it prints what the
 * test checks of it ("sndbuf=N rcvbuf=N"), flushed.
 *   unix DIR     a listener bound to DIR/sock; a socketpair, SO_SNDBUF and
 *                SO_RCVBUF 64 KiB (the one printed)
 *   pending DIR  a listener at DIR/l (backlog 8) with 4 connections not
 *                yet accepted
 *   inotify DIR  an inotify watch on DIR
 *   tcp          a TCP listener and a UDP socket on 127.0.0.1 (the TCP one
 *                printed)
 *   conn         a TCP connection on 127.0.0.1: accepted end fd 3, client
 *                fd 4 (run it in a net namespace of its own)
 *   timerfd      a CLOCK_MONOTONIC timerfd armed for an hour
 *   epoll        an epoll fd watching an eventfd
 *   ipc          two message queues, a semaphore set, a shm segment (run it
 *                in an IPC namespace of its own)
 *   ifill        inotify instances until the user's limit says no (EMFILE)
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t report;
static int shown = -1; /* the socket whose buffers SIGUSR1 prints */

static void on_usr1(int sig)
{
	(void)sig;
	report = 1;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static int unix_at(const char *dir, const char *name, int backlog)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s", dir, name);
	unlink(a.sun_path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, backlog))
		die("unix listener");
	return fd;
}

static void set_unix(const char *dir)
{
	int sp[2], sz = 65536;

	unix_at(dir, "sock", 4);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) ||
	    setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) ||
	    setsockopt(sp[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)))
		die("socketpair");
	shown = sp[0];
}

static void set_pending(const char *dir)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	unix_at(dir, "l", 8);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/l", dir);
	for (int i = 0; i < 4; i++) {
		int c = socket(AF_UNIX, SOCK_STREAM, 0);

		if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)))
			die("connect");
	}
}

static void set_tcp(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int t = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_INET, SOCK_DGRAM, 0);

	if (t < 0 || u < 0 || bind(t, (struct sockaddr *)&a, sizeof(a)) || listen(t, 4) ||
	    bind(u, (struct sockaddr *)&a, sizeof(a)))
		die("inet");
	shown = t;
}

static void set_conn(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int t = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), s;

	if (t < 0 || c < 0 || bind(t, (struct sockaddr *)&a, sizeof(a)) || listen(t, 4) ||
	    getsockname(t, (struct sockaddr *)&a, &l) || connect(c, (struct sockaddr *)&a, l) ||
	    (s = accept(t, NULL, NULL)) < 0 || close(t) || dup2(s, t) != t || close(s))
		die("conn");
}

static void set_ipc(void)
{
	int q1 = msgget(IPC_PRIVATE, IPC_CREAT | 0600), q2 = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	struct {
		long type;
		char text[8];
	} m = {1, "hello"};

	if (q1 < 0 || q2 < 0 || msgsnd(q1, &m, sizeof(m.text), 0) ||
	    semget(IPC_PRIVATE, 2, IPC_CREAT | 0600) < 0 ||
	    shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600) < 0)
		die("ipc");
}

static void set_up(const char *mode, const char *dir)
{
	if (!strcmp(mode, "unix")) {
		set_unix(dir);
	} else if (!strcmp(mode, "pending")) {
		set_pending(dir);
	} else if (!strcmp(mode, "inotify")) {
		int fd = inotify_init1(0);

		if (fd < 0 || inotify_add_watch(fd, dir, IN_CREATE | IN_DELETE) < 0)
			die("inotify");
	} else if (!strcmp(mode, "tcp")) {
		set_tcp();
	} else if (!strcmp(mode, "conn")) {
		set_conn();
	} else if (!strcmp(mode, "timerfd")) {
		struct itimerspec its = {.it_value = {3600, 0}};
		int fd = timerfd_create(CLOCK_MONOTONIC, 0);

		if (fd < 0 || timerfd_settime(fd, 0, &its, NULL))
			die("timerfd");
	} else if (!strcmp(mode, "epoll")) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 7};
		int ep = epoll_create1(0), e = eventfd(0, 0);

		if (ep < 0 || e < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev))
			die("epoll");
	} else if (!strcmp(mode, "ipc")) {
		set_ipc();
	} else if (!strcmp(mode, "ifill")) {
		while (inotify_init1(0) >= 0)
			;
		if (errno != EMFILE)
			die("inotify_init1");
	} else {
		fprintf(stderr, "kinds: unknown mode %s\n", mode);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct timespec nap = {0, 20 * 1000 * 1000};

	if (argc < 2 || (argc < 3 && (!strcmp(argv[1], "unix") || !strcmp(argv[1], "pending") ||
				      !strcmp(argv[1], "inotify")))) {
		fprintf(stderr, "usage: kinds MODE [DIR]\n");
		return 2;
	}
	/* fd numbers as the test expects them, whatever the test runner left open */
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	signal(SIGUSR1, on_usr1);
	set_up(argv[1], argc > 2 ? argv[2] : NULL);
	printf("READY\n");
	fflush(stdout);
	for (;;) {
		nanosleep(&nap, NULL);
		if (report && shown >= 0) {
			int snd = 0, rcv = 0;
			socklen_t l = sizeof(int);

			getsockopt(shown, SOL_SOCKET, SO_SNDBUF, &snd, &l);
			getsockopt(shown, SOL_SOCKET, SO_RCVBUF, &rcv, &l);
			printf("sndbuf=%d rcvbuf=%d\n", snd, rcv);
			fflush(stdout);
		}
		report = 0;
	}
}
