/*
 * sigmask: per-thread signal masks. The main thread blocks SIGUSR1, SIGHUP
 * and SIGRTMIN+3; a second thread SIGINT, SIGTERM and SIGRTMAX; a third
 * blocks every signal it can.
 * Checks: after the restart every thread's mask is exactly what it was
 * (all 64 signals compared), and a blocked signal sent to a thread stays
 * pending instead of being delivered.
 * Skip proof: sigmask.
 */
#include "zdtm.h"

#include <pthread.h>

#define NT 3

static sigset_t want[NT];
static volatile int ready;
static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static void check_mask(int i)
{
	sigset_t cur;

	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	for (int s = 1; s <= 64; s++)
		CHECK(sigismember(&cur, s) == sigismember(&want[i], s),
		      "thread %d: signal %d is %sblocked", i, s,
		      sigismember(&cur, s) ? "" : "not ");
}

static void *run(void *arg)
{
	long i = (long)arg;

	pthread_sigmask(SIG_SETMASK, &want[i], NULL);
	pthread_sigmask(SIG_BLOCK, NULL, &want[i]); /* what the kernel really holds */
	__atomic_fetch_add(&ready, 1, __ATOMIC_SEQ_CST);
	test_wait_go();
	check_mask(i);
	return NULL;
}

int main(void)
{
	pthread_t th[NT];
	sigset_t pend;

	for (int i = 0; i < NT; i++)
		sigemptyset(&want[i]);
	sigaddset(&want[0], SIGUSR1);
	sigaddset(&want[0], SIGHUP);
	sigaddset(&want[0], SIGRTMIN + 3);
	sigaddset(&want[1], SIGINT);
	sigaddset(&want[1], SIGTERM);
	sigaddset(&want[1], SIGRTMAX);
	sigfillset(&want[2]);
	signal(SIGUSR1, on_usr1);
	for (long i = 1; i < NT; i++)
		if (pthread_create(&th[i], NULL, run, (void *)i))
			test_fatal("pthread_create");
	pthread_sigmask(SIG_SETMASK, &want[0], NULL);
	pthread_sigmask(SIG_BLOCK, NULL, &want[0]);
	while (ready < NT - 1)
		msleep(1);
	test_ready();
	test_wait_go();

	check_mask(0);
	syscall(SYS_tgkill, getpid(), xgettid(), SIGUSR1);
	msleep(10);
	CHECK(!got_usr1, "SIGUSR1 was delivered to the main thread, which blocks it");
	sigpending(&pend);
	CHECK(sigismember(&pend, SIGUSR1), "SIGUSR1 is not pending");
	for (int i = 1; i < NT; i++)
		pthread_join(th[i], NULL);
	test_done();
}
