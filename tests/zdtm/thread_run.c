/*
 * thread_run: threads running (busy in user space) through the checkpoint.
 * Checks: every thread keeps its tid, its counter and keeps running after
 * the restart; each can be joined (the kernel clears and wakes its
 * clear_child_tid word at exit) and returns its value.
 * Skip proof: tidaddr (no clear_child_tid: the joins time out).
 */
#include "zdtm.h"

#include <pthread.h>

#define NT 2

static volatile unsigned long counter[NT];
static volatile pid_t tid_before[NT], tid_after[NT];
static volatile int stop;

static void *spin(void *arg)
{
	long i = (long)arg;

	tid_before[i] = xgettid();
	while (!stop)
		counter[i]++;
	tid_after[i] = xgettid();
	return (void *)(i + 100);
}

int main(void)
{
	pthread_t th[NT];
	unsigned long seen[NT];

	for (long i = 0; i < NT; i++)
		if (pthread_create(&th[i], NULL, spin, (void *)i))
			test_fatal("pthread_create");
	for (int i = 0; i < NT; i++)
		while (!counter[i])
			msleep(1);
	test_ready();
	test_wait_go();

	for (int i = 0; i < NT; i++)
		seen[i] = counter[i];
	for (int i = 0; i < NT; i++) {
		uint64_t end = now_ms() + 2000;

		while (counter[i] == seen[i] && now_ms() < end)
			msleep(1);
		CHECK(counter[i] != seen[i], "thread %d does not run after restart", i);
	}
	stop = 1;
	for (int i = 0; i < NT; i++) {
		struct timespec ts;
		void *ret = NULL;
		int err;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 2;
		err = pthread_timedjoin_np(th[i], &ret, &ts);
		if (err) {
			fail("join of thread %d: %s", i, strerror(err));
			continue;
		}
		CHECK(ret == (void *)(long)(i + 100), "thread %d returned %p", i, ret);
		CHECK(tid_after[i] == tid_before[i], "thread %d tid %d, was %d", i, tid_after[i],
		      tid_before[i]);
	}
	test_done();
}
