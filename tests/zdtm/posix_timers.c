/*
 * posix_timers: POSIX timers, with their ids: t0 CLOCK_MONOTONIC signalling
 * SIGRTMIN+4 (value 0x1111), armed for 1000 s then every 100 s; t1
 * CLOCK_REALTIME with SIGEV_NONE armed for 500 s; t2 created and deleted
 * (a gap in the ids); t3 CLOCK_MONOTONIC firing every 20 ms at one thread
 * (SIGEV_THREAD_ID, SIGRTMIN+5, value 0x4444); t4 CLOCK_PROCESS_CPUTIME_ID,
 * disarmed; t5 CLOCK_BOOTTIME with an absolute expiry an hour away.
 * Checks: after the restart every id still names its timer (timer_gettime
 * works; the deleted id fails with EINVAL), intervals are exact and the
 * times left no larger than before (and at most the elapsed time smaller);
 * t3 keeps firing every 20 ms at its thread with its value and timer id;
 * a new timer gets an id none of the old ones has.
 * Skip proof: timers.
 */
#include "zdtm.h"

#include <pthread.h>

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define NT 6

static timer_t id[NT];
static volatile pid_t ttid;
static volatile int fired, bad_info;

static void on_tick(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (xgettid() != ttid || si->si_code != SI_TIMER || si->si_value.sival_int != 0x4444 ||
	    si->si_timerid != (int)(long)id[3])
		bad_info++;
	fired++;
}

static void *ticker(void *arg)
{
	sigset_t set;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 5);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	ttid = xgettid();
	test_wait_go();
	{
		int seen = fired;

		for (uint64_t end = now_ms() + 2000; fired < seen + 5 && now_ms() < end;)
			msleep(1);
		CHECK(fired >= seen + 5, "t3 fired %d times in 2 s after the restart",
		      fired - seen);
	}
	return NULL;
}

static long long ns(const struct timespec *t)
{
	return t->tv_sec * 1000000000LL + t->tv_nsec;
}

static void make(int i, clockid_t clk, int notify, int sig, int value, pid_t tid)
{
	struct sigevent sev;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = notify;
	sev.sigev_signo = sig;
	sev.sigev_value.sival_int = value;
	sev.sigev_notify_thread_id = tid;
	if (timer_create(clk, &sev, &id[i]))
		test_fatal("timer_create %d", i);
}

static void arm(int i, int flags, time_t value, long value_ns, time_t interval, long ival_ns)
{
	struct itimerspec its = {{interval, ival_ns}, {value, value_ns}};

	if (timer_settime(id[i], flags, &its, NULL))
		test_fatal("timer_settime %d", i);
}

int main(void)
{
	struct itimerspec before[NT], cur;
	struct sigaction sa = {.sa_sigaction = on_tick, .sa_flags = SA_SIGINFO | SA_RESTART};
	struct timespec now;
	sigset_t set;
	pthread_t th;
	timer_t extra;
	uint64_t t0;

	sigaction(SIGRTMIN + 5, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 4);
	sigaddset(&set, SIGRTMIN + 5);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* only the ticker takes SIGRTMIN+5 */
	if (pthread_create(&th, NULL, ticker, NULL))
		test_fatal("pthread_create");
	while (!ttid)
		msleep(1);
	make(0, CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN + 4, 0x1111, 0);
	make(1, CLOCK_REALTIME, SIGEV_NONE, 0, 0, 0);
	make(2, CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN + 4, 0, 0);
	make(3, CLOCK_MONOTONIC, SIGEV_THREAD_ID, SIGRTMIN + 5, 0x4444, ttid);
	make(4, CLOCK_PROCESS_CPUTIME_ID, SIGEV_SIGNAL, SIGRTMIN + 4, 0x5555, 0);
	make(5, CLOCK_BOOTTIME, SIGEV_SIGNAL, SIGRTMIN + 4, 0x6666, 0);
	timer_delete(id[2]);
	arm(0, 0, 1000, 0, 100, 0);
	arm(1, 0, 500, 0, 0, 0);
	arm(3, 0, 0, 20000000, 0, 20000000);
	clock_gettime(CLOCK_BOOTTIME, &now);
	arm(5, TIMER_ABSTIME, now.tv_sec + 3600, 0, 0, 0);
	for (int i = 0; i < NT; i++)
		if (i != 2)
			timer_gettime(id[i], &before[i]);
	while (fired < 2)
		msleep(1);
	t0 = now_ms();
	test_ready();
	test_wait_go();

	for (int i = 0; i < NT; i++) {
		long long slack = (long long)(now_ms() - t0 + 1000) * 1000000;

		if (i == 2) {
			CHECK(timer_gettime(id[2], &cur) == -1 && errno == EINVAL,
			      "the deleted timer id %ld exists", (long)id[2]);
			continue;
		}
		if (timer_gettime(id[i], &cur)) {
			fail("timer %d (id %ld): %s", i, (long)id[i], strerror(errno));
			continue;
		}
		CHECK(ns(&cur.it_interval) == ns(&before[i].it_interval),
		      "timer %d: interval %lld ns, was %lld", i, ns(&cur.it_interval),
		      ns(&before[i].it_interval));
		if (i != 3)
			CHECK(ns(&cur.it_value) <= ns(&before[i].it_value) &&
				      ns(&cur.it_value) >= ns(&before[i].it_value) - slack,
			      "timer %d: %lld ns left, was %lld", i, ns(&cur.it_value),
			      ns(&before[i].it_value));
	}
	pthread_join(th, NULL);
	CHECK(!bad_info, "t3's signal came %d times with a wrong thread, value or id", bad_info);
	if (timer_create(CLOCK_MONOTONIC, NULL, &extra) == 0)
		for (int i = 0; i < NT; i++)
			CHECK(i == 2 || extra != id[i], "a new timer got the id of timer %d", i);
	test_done();
}
