/*
 * refuse_fd: kinds of fd the engine does not restore, one per argv[1],
 * held by a child process: an inotify fd with an event not yet read, an
 * epoll whose target is held by another task only (the parent), a
 * pseudo-terminal master (ptmx), and a SysV shared memory segment attached
 * (refused as a mapping). cr checkpoint must refuse the tree (exit 3),
 * naming the task and the fd or mapping, write nothing and leave the tree
 * running.
 * Checks (without a restart): the object still works after the refusal
 * (an epoll event, the inotify event, the segment's data...).
 * Skip proof: none (refused).
 */
#include "zdtm.h"

#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ipc.h>
#include <sys/shm.h>

static int target[2]; /* epoll: its target, a pipe the parent holds too */

static int make(const char *kind, void **shm)
{
	if (!strcmp(kind, "epoll")) {
		struct epoll_event ev = {.events = EPOLLIN};
		int fd = epoll_create1(0);

		if (write(target[1], "x", 1) != 1 || epoll_ctl(fd, EPOLL_CTL_ADD, target[0], &ev))
			return -1;
		close(target[0]); /* registered, held by the parent only */
		dprintf(1, "EXPECT: Task %d epoll fd %d: target fd %d\n", getpid(), fd, target[0]);
		return fd; /* its pipe is readable */
	}
	if (!strcmp(kind, "inotify")) {
		int fd = inotify_init1(0);

		inotify_add_watch(fd, test_dir(), IN_CREATE);
		close(open(test_path("new"), O_CREAT | O_WRONLY, 0644)); /* not read */
		dprintf(1, "EXPECT: Task %d inotify fd %d:\n", getpid(), fd);
		return fd;
	}
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
	if (!strcmp(kind, "epoll")) {
		struct epoll_event ev;

		CHECK(epoll_wait(fd, &ev, 1, 1000) == 1, "epoll reports nothing");
	} else if (!strcmp(kind, "inotify")) {
		char buf[512];

		CHECK(read(fd, buf, sizeof(buf)) > 0, "inotify reports nothing");
	} else if (!strcmp(kind, "pty"))
		CHECK(grantpt(fd) == 0 && ptsname(fd), "the pty master does not work");
	else
		CHECK(((uint8_t *)shm)[0] == 0x5e, "the SysV segment lost its data");
}

int main(int argc, char **argv)
{
	const char *kind = argc > 1 ? argv[1] : "pty";
	volatile int *checked;
	struct barrier b;
	pid_t pid;

	checked = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (checked == MAP_FAILED)
		test_fatal("mmap");
	if (pipe(target))
		test_fatal("pipe");
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
		} else if (strcmp(kind, "epoll") && strcmp(kind, "inotify"))
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
