/*
 * refuse_fd: kinds of fd the engine does not restore, one per argv[1],
 * held by a child process: eventfd, signalfd, timerfd, epoll, inotify,
 * pidfd, a pseudo-terminal master (ptmx), and a SysV shared memory segment
 * attached (refused as a mapping). cr checkpoint must refuse the tree
 * (exit 3), naming the task and the fd or mapping, write nothing and leave
 * the tree running.
 * Checks (without a restart): the object still works after the refusal
 * (the eventfd counter, a timerfd tick, an epoll event, the segment's
 * data...).
 * Skip proof: none (refused).
 */
#include "zdtm.h"

#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

static int make(const char *kind, void **shm)
{
	if (!strcmp(kind, "eventfd"))
		return eventfd(7, 0);
	if (!strcmp(kind, "signalfd")) {
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigprocmask(SIG_BLOCK, &set, NULL);
		return signalfd(-1, &set, 0);
	}
	if (!strcmp(kind, "timerfd")) {
		struct itimerspec its = {{0, 10000000}, {0, 10000000}};
		int fd = timerfd_create(CLOCK_MONOTONIC, 0);

		timerfd_settime(fd, 0, &its, NULL);
		return fd;
	}
	if (!strcmp(kind, "epoll")) {
		struct epoll_event ev = {.events = EPOLLIN};
		int fd = epoll_create1(0), p[2];

		if (pipe(p) || write(p[1], "x", 1) != 1 || epoll_ctl(fd, EPOLL_CTL_ADD, p[0], &ev))
			return -1;
		return fd; /* its pipe is readable */
	}
	if (!strcmp(kind, "inotify")) {
		int fd = inotify_init1(0);

		inotify_add_watch(fd, test_dir(), IN_CREATE);
		return fd;
	}
	if (!strcmp(kind, "pidfd"))
		return syscall(SYS_pidfd_open, getppid(), 0);
	if (!strcmp(kind, "pty"))
		return posix_openpt(O_RDWR | O_NOCTTY);
	if (!strcmp(kind, "sysvshm")) {
		int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);

		*shm = id < 0 ? (void *)-1 : shmat(id, NULL, 0);
		shmctl(id, IPC_RMID, NULL);
		return *shm == (void *)-1 ? -1 : 0;
	}
	return -1;
}

static void check(const char *kind, int fd, void *shm)
{
	uint64_t v = 0;

	if (!strcmp(kind, "eventfd"))
		CHECK(read(fd, &v, 8) == 8 && v == 7, "eventfd counter %llu",
		      (unsigned long long)v);
	else if (!strcmp(kind, "signalfd")) {
		struct signalfd_siginfo si;

		kill(getpid(), SIGUSR1);
		CHECK(read(fd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGUSR1,
		      "signalfd does not deliver");
	} else if (!strcmp(kind, "timerfd"))
		CHECK(read(fd, &v, 8) == 8 && v >= 1, "timerfd does not tick");
	else if (!strcmp(kind, "epoll")) {
		struct epoll_event ev;

		CHECK(epoll_wait(fd, &ev, 1, 1000) == 1, "epoll reports nothing");
	} else if (!strcmp(kind, "inotify")) {
		char buf[512];
		int f = open(test_path("new"), O_CREAT | O_WRONLY, 0644);

		close(f);
		CHECK(read(fd, buf, sizeof(buf)) > 0, "inotify reports nothing");
	} else if (!strcmp(kind, "pidfd"))
		CHECK(syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) == 0, "pidfd does not work");
	else if (!strcmp(kind, "pty"))
		CHECK(grantpt(fd) == 0 && ptsname(fd), "the pty master does not work");
	else
		CHECK(((uint8_t *)shm)[0] == 0x5e, "the SysV segment lost its data");
}

int main(int argc, char **argv)
{
	const char *kind = argc > 1 ? argv[1] : "eventfd";
	volatile int *checked;
	struct barrier b;
	pid_t pid;

	checked = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (checked == MAP_FAILED)
		test_fatal("mmap");
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		void *shm = NULL;
		int fd = make(kind, &shm);

		if (fd < 0)
			test_fatal("make %s", kind);
		if (shm) {
			((uint8_t *)shm)[0] = 0x5e;
			dprintf(1, "EXPECT: Task %d: mapping %#lx-%#lx (/SYSV", getpid(),
				(unsigned long)shm, (unsigned long)shm + 4096);
			dprintf(1, "\n");
		} else
			dprintf(1, "EXPECT: Task %d fd %d (\n", getpid(), fd);
		barrier_signal(&b);
		test_wait_go();
		check(kind, fd, shm);
		test_child_done();
	}
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();
	reap_child(pid, "child");
	test_done();
}
