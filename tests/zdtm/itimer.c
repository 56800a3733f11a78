/*
 * itimer: interval timers. The main process arms ITIMER_REAL (1000 s, then
 * every 500 s), ITIMER_VIRTUAL (300 s / 200 s) and ITIMER_PROF (400 s /
 * 100 s); a child has a periodic ITIMER_REAL of 20 ms already firing (its
 * SIGALRM handler counts).
 * Checks: after the restart getitimer() gives each timer's interval
 * exactly and a time left no larger than before (and not more than the
 * elapsed time smaller for ITIMER_REAL, 2 s of CPU for the others; the
 * CPU-time ones may come back 10 ms larger: setitimer() adds a tick to
 * what it is given, and getitimer() reads it back); the
 * child's timer keeps firing every 20 ms (its count grows, its interval is
 * the same).
 * Skip proof: itimers.
 */
#include "zdtm.h"

#include <sys/time.h>

static volatile int alarms;

static void on_alrm(int sig)
{
	(void)sig;
	alarms++;
}

static long long us(const struct timeval *tv)
{
	return tv->tv_sec * 1000000LL + tv->tv_usec;
}

int main(void)
{
	static const struct itimerval set[3] = {
		{{500, 0}, {1000, 0}},
		{{200, 0}, {300, 0}},
		{{100, 0}, {400, 0}},
	};
	static const char *name[3] = {"ITIMER_REAL", "ITIMER_VIRTUAL", "ITIMER_PROF"};
	struct itimerval before[3], cur;
	struct barrier b;
	uint64_t t0;
	pid_t pid;

	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		struct itimerval it = {{0, 20000}, {0, 20000}};
		int seen;

		signal(SIGALRM, on_alrm);
		setitimer(ITIMER_REAL, &it, NULL);
		while (alarms < 2)
			msleep(1);
		barrier_signal(&b);
		test_wait_go();
		seen = alarms;
		for (uint64_t end = now_ms() + 2000; alarms < seen + 5 && now_ms() < end;)
			msleep(1);
		CHECK(alarms >= seen + 5, "child: its 20 ms timer fired %d times in 2 s",
		      alarms - seen);
		getitimer(ITIMER_REAL, &cur);
		CHECK(us(&cur.it_interval) == 20000, "child: interval %lld us",
		      us(&cur.it_interval));
		test_child_done();
	}
	for (int i = 0; i < 3; i++)
		setitimer(i, &set[i], NULL);
	for (int i = 0; i < 3; i++)
		getitimer(i, &before[i]);
	t0 = now_ms();
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();

	for (int i = 0; i < 3; i++) {
		long long slack = i == 0 ? (long long)(now_ms() - t0 + 1000) * 1000 : 2000000;

		getitimer(i, &cur);
		CHECK(us(&cur.it_interval) == us(&before[i].it_interval),
		      "%s: interval %lld us, was %lld", name[i], us(&cur.it_interval),
		      us(&before[i].it_interval));
		CHECK(us(&cur.it_value) <= us(&before[i].it_value) + (i ? 10000 : 0) &&
			      us(&cur.it_value) >= us(&before[i].it_value) - slack,
		      "%s: %lld us left, was %lld", name[i], us(&cur.it_value),
		      us(&before[i].it_value));
	}
	reap_child(pid, "child");
	test_done();
}
