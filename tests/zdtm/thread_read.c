/*
 * thread_read: threads blocked in syscalls that the kernel restarts (their
 * return value at the checkpoint is -ERESTARTSYS or -ERESTARTNOHAND):
 * read() on an empty pipe, ppoll() and select() with no timeout on other
 * pipes, and waitpid() on a child that is still running.
 * Checks: none of them returns early after the restart (no EINTR), each
 * completes with exactly what happens after the restart: the data written,
 * the fd readable, the child's exit status.
 * Skip proof: fds (the pipes are gone: the syscalls fail with EBADF).
 */
#include "zdtm.h"

#include <poll.h>
#include <pthread.h>
#include <sys/select.h>

enum { T_READ, T_PPOLL, T_SELECT, T_WAIT, NT };

static int p_read[2], p_poll[2], p_sel[2], p_child[2];
static volatile pid_t tids[NT];
static volatile int done[NT];
static long ret[NT];
static int err[NT];
static char got[16];
static short revents;
static int wstatus;
static pid_t child;

static void *run(void *arg)
{
	long i = (long)arg;
	struct pollfd pfd = {.fd = p_poll[0], .events = POLLIN};
	fd_set set;

	tids[i] = xgettid();
	switch (i) {
	case T_READ:
		ret[i] = read(p_read[0], got, sizeof(got));
		break;
	case T_PPOLL:
		ret[i] = ppoll(&pfd, 1, NULL, NULL);
		revents = pfd.revents;
		break;
	case T_SELECT:
		FD_ZERO(&set);
		FD_SET(p_sel[0], &set);
		ret[i] = select(p_sel[0] + 1, &set, NULL, NULL, NULL);
		if (ret[i] == 1 && !FD_ISSET(p_sel[0], &set))
			ret[i] = -2;
		break;
	case T_WAIT:
		ret[i] = waitpid(child, &wstatus, 0);
		break;
	}
	err[i] = errno;
	done[i] = 1;
	return NULL;
}

int main(void)
{
	static const long nr[NT] = {SYS_read, SYS_ppoll, SYS_select, SYS_wait4};
	static const long nr2[NT] = {SYS_read, SYS_ppoll, SYS_pselect6, SYS_wait4};
	static const char *name[NT] = {"read", "ppoll", "select", "waitpid"};
	pthread_t th[NT];
	struct timespec ts;
	char c;

	if (pipe(p_read) || pipe(p_poll) || pipe(p_sel) || pipe(p_child))
		test_fatal("pipe");
	child = fork();
	if (child < 0)
		test_fatal("fork");
	if (!child) {
		close(p_child[1]);
		_exit(read(p_child[0], &c, 1) == 1 ? 42 : 1);
	}
	close(p_child[0]);
	for (long i = 0; i < NT; i++)
		if (pthread_create(&th[i], NULL, run, (void *)i))
			test_fatal("pthread_create");
	for (int i = 0; i < NT; i++) {
		while (!tids[i])
			msleep(1);
		if (wait_in_syscall2(tids[i], nr[i], nr2[i]))
			test_fatal("thread %s is not blocked in its syscall", name[i]);
	}
	test_ready();
	test_wait_go();

	msleep(50);
	for (int i = 0; i < NT; i++)
		CHECK(!done[i], "%s returned %ld (%s) before anything happened", name[i], ret[i],
		      strerror(err[i]));
	if (write(p_read[1], "hello", 5) != 5 || write(p_poll[1], "x", 1) != 1 ||
	    write(p_sel[1], "y", 1) != 1 || write(p_child[1], "z", 1) != 1)
		fail("write to the pipes: %s", strerror(errno));
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	for (int i = 0; i < NT; i++)
		if (pthread_timedjoin_np(th[i], NULL, &ts))
			fail("thread %s did not finish", name[i]);
	CHECK(ret[T_READ] == 5 && !memcmp(got, "hello", 5), "read returned %ld (%s)", ret[T_READ],
	      strerror(err[T_READ]));
	CHECK(ret[T_PPOLL] == 1 && revents == POLLIN, "ppoll returned %ld (%s) revents %#x",
	      ret[T_PPOLL], strerror(err[T_PPOLL]), revents);
	CHECK(ret[T_SELECT] == 1, "select returned %ld (%s)", ret[T_SELECT],
	      strerror(err[T_SELECT]));
	CHECK(ret[T_WAIT] == child && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 42,
	      "waitpid returned %ld (%s) status %#x", ret[T_WAIT], strerror(err[T_WAIT]), wstatus);
	test_done();
}
