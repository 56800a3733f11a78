/*
 * syscall_restart_block: threads blocked in syscalls whose restart goes
 * through the kernel's restart block (-ERESTART_RESTARTBLOCK at the
 * checkpoint), though re-running them with their own arguments is exact:
 * poll() with no timeout, and FUTEX_WAIT_BITSET with an absolute timeout
 * an hour away. Without C/R the kernel restarts both; no signal handler
 * is installed, so EINTR is never expected.
 * Checks: neither returns before the event after the restart (no EINTR),
 * poll reports the fd readable, the futex wait returns 0 on FUTEX_WAKE.
 * Skip proof: fds (the pipe is gone).
 */
#include "zdtm.h"

#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>

static int p[2];
static uint32_t word;
static volatile pid_t tids[2];
static volatile int done[2];
static long ret[2];
static short revents;

static void *run(void *arg)
{
	long i = (long)arg;
	struct pollfd pfd = {.fd = p[0], .events = POLLIN};
	struct timespec ts;

	tids[i] = xgettid();
	if (i == 0) {
		ret[0] = poll(&pfd, 1, -1);
		revents = pfd.revents;
	} else {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 3600;
		while ((ret[1] = syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE, 0, &ts, NULL,
					 FUTEX_BITSET_MATCH_ANY)) &&
		       errno == EAGAIN && !word)
			;
	}
	if (ret[i] < 0)
		ret[i] = -errno;
	done[i] = 1;
	return NULL;
}

int main(void)
{
	pthread_t th[2];
	struct timespec ts;

	if (pipe(p))
		test_fatal("pipe");
	for (long i = 0; i < 2; i++)
		if (pthread_create(&th[i], NULL, run, (void *)i))
			test_fatal("pthread_create");
	while (!tids[0] || !tids[1])
		msleep(1);
	if (wait_in_syscall(tids[0], SYS_poll) || wait_in_syscall(tids[1], SYS_futex))
		test_fatal("threads not blocked in poll/futex");
	test_ready();
	test_wait_go();

	msleep(50);
	CHECK(!done[0], "poll(-1) returned %ld after the restart", ret[0]);
	CHECK(!done[1], "FUTEX_WAIT_BITSET returned %ld after the restart", ret[1]);
	if (write(p[1], "x", 1) != 1)
		fail("write: %s", strerror(errno));
	__atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	for (int i = 0; i < 2; i++)
		if (pthread_timedjoin_np(th[i], NULL, &ts))
			fail("thread %d did not finish", i);
	CHECK(ret[0] == 1 && revents == POLLIN, "poll returned %ld revents %#x", ret[0], revents);
	CHECK(ret[1] == 0, "FUTEX_WAIT_BITSET returned %ld", ret[1]);
	test_done();
}
