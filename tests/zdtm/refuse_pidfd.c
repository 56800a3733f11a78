/*
 * refuse_pidfd: pidfds cr can't restore, one per argv[1], held by a child:
 *   outside  a pidfd of a task outside the tree (the root's parent)
 *   reaped   a pidfd of a child that exited and was reaped
 *   thread   a PIDFD_THREAD pidfd of a thread other than the group leader
 * cr checkpoint must refuse the tree (exit 3), naming the task, the fd and
 * the target, write nothing and leave the tree running.
 * Checks (without a restart): the pidfd still works as before the refusal.
 * Skip proof: none (refused).
 */
#include "zdtm.h"

#include <pthread.h>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

static volatile pid_t thread_tid;

static void *thread_fn(void *arg)
{
	(void)arg;
	thread_tid = xgettid();
	for (;;)
		pause();
	return NULL;
}

/* The pidfd, with what the refusal must say about it. */
static int make(const char *kind, pid_t outside)
{
	pthread_t th;
	pid_t pid;
	int fd;

	if (!strcmp(kind, "outside")) {
		fd = syscall(SYS_pidfd_open, outside, 0);
		dprintf(1,
			"EXPECT: Task %d fd %d: pidfd of task %d, outside the checkpointed tree\n",
			getpid(), fd, outside);
	} else if (!strcmp(kind, "reaped")) {
		pid = fork();
		if (pid == 0)
			_exit(0);
		fd = syscall(SYS_pidfd_open, pid, 0);
		reap_child(pid, "reaped child");
		dprintf(1,
			"EXPECT: Task %d fd %d: pidfd of task -1, which has exited and been "
			"reaped\n",
			getpid(), fd);
	} else {
		if (pthread_create(&th, NULL, thread_fn, NULL))
			return -1;
		while (!thread_tid)
			msleep(1);
		fd = syscall(SYS_pidfd_open, thread_tid, PIDFD_THREAD);
		dprintf(1, "EXPECT: Task %d fd %d: pidfd of thread %d of task %d (PIDFD_THREAD)\n",
			getpid(), fd, thread_tid, getpid());
	}
	return fd;
}

int main(int argc, char **argv)
{
	const char *kind = argc > 1 ? argv[1] : "outside";
	pid_t outside = getppid(), pid;
	struct barrier b;

	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		int fd = make(kind, outside);

		if (fd < 0)
			test_fatal("pidfd_open (%s)", kind);
		barrier_signal(&b);
		test_wait_go();
		if (!strcmp(kind, "reaped"))
			CHECK(syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) < 0 && errno == ESRCH,
			      "the reaped child's pidfd: %s", strerror(errno));
		else
			CHECK(syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) == 0,
			      "the pidfd does not work: %s", strerror(errno));
		test_child_done();
	}
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();
	reap_child(pid, "child");
	test_done();
}
