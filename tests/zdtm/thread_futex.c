/*
 * thread_futex: threads blocked in futex waits without a timeout through
 * the checkpoint: a raw FUTEX_WAIT, a FUTEX_WAIT_BITSET, a pthread
 * condition variable and a sem_wait().
 * Checks: none of them wakes up by itself after the restart (no EINTR),
 * each wakes on its FUTEX_WAKE / signal / post, and each thread can be
 * joined (clear_child_tid).
 * Skip proof: tidaddr (the joins time out).
 */
#include "zdtm.h"

#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>

#define NT 4

static uint32_t word[2];
static volatile pid_t tids[NT];
static volatile int woke[NT];
static long ret[2];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go_cv;
static sem_t sem;

static long futex(uint32_t *w, int op, uint32_t val, uint32_t bits)
{
	return syscall(SYS_futex, w, op, val, NULL, NULL, bits);
}

static void *waiter(void *arg)
{
	long i = (long)arg;

	tids[i] = xgettid();
	switch (i) {
	case 0:
	case 1:
		ret[i] = futex(&word[i], i ? FUTEX_WAIT_BITSET_PRIVATE : FUTEX_WAIT_PRIVATE, 0,
			       FUTEX_BITSET_MATCH_ANY);
		if (ret[i])
			ret[i] = -errno;
		break;
	case 2:
		pthread_mutex_lock(&mu);
		while (!go_cv)
			pthread_cond_wait(&cv, &mu);
		pthread_mutex_unlock(&mu);
		break;
	case 3:
		while (sem_wait(&sem))
			;
		break;
	}
	woke[i] = 1;
	return NULL;
}

int main(void)
{
	pthread_t th[NT];
	struct timespec ts;

	sem_init(&sem, 0, 0);
	for (long i = 0; i < NT; i++)
		if (pthread_create(&th[i], NULL, waiter, (void *)i))
			test_fatal("pthread_create");
	for (int i = 0; i < NT; i++) {
		while (!tids[i])
			msleep(1);
		if (wait_in_syscall(tids[i], SYS_futex))
			test_fatal("thread %d is not in a futex wait", i);
	}
	test_ready();
	test_wait_go();

	msleep(50);
	for (int i = 0; i < NT; i++)
		CHECK(!woke[i], "waiter %d woke up by itself after the restart", i);
	for (int i = 0; i < 2; i++) {
		__atomic_store_n(&word[i], 1, __ATOMIC_SEQ_CST);
		futex(&word[i], FUTEX_WAKE_PRIVATE, 1, 0);
	}
	pthread_mutex_lock(&mu);
	go_cv = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	sem_post(&sem);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	for (int i = 0; i < NT; i++)
		if (pthread_timedjoin_np(th[i], NULL, &ts))
			fail("waiter %d: join timed out", i);
	CHECK(ret[0] == 0, "FUTEX_WAIT returned %ld", ret[0]);
	CHECK(ret[1] == 0, "FUTEX_WAIT_BITSET returned %ld", ret[1]);
	test_done();
}
