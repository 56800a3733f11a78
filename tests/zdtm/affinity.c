/*
 * affinity: CPU affinity of threads and processes. The main thread and one
 * more thread are bound to CPU 1; a third thread keeps every CPU it started
 * with; a child process is bound to CPU 1, and so is its second thread.
 * Checks: after the restart each of them reads back exactly its mask.
 * Skip proof: affinity (every thread gets the restarter's mask).
 */
#include "zdtm.h"

#include <pthread.h>
#include <sched.h>

static cpu_set_t all, one;
static volatile int ready;

static void check(const char *who, const cpu_set_t *want)
{
	cpu_set_t cur;

	if (sched_getaffinity(0, sizeof(cur), &cur)) {
		fail("%s: sched_getaffinity: %s", who, strerror(errno));
		return;
	}
	CHECK(CPU_EQUAL(&cur, want), "%s: affinity has %d CPUs (CPU 1 %s), want %d", who,
	      CPU_COUNT(&cur), CPU_ISSET(1, &cur) ? "in" : "out", CPU_COUNT(want));
}

static void *run(void *arg)
{
	const cpu_set_t *want = arg;

	if (want == &one && sched_setaffinity(0, sizeof(one), &one))
		test_fatal("sched_setaffinity");
	__atomic_fetch_add(&ready, 1, __ATOMIC_SEQ_CST);
	test_wait_go();
	check(want == &one ? "thread on CPU 1" : "thread on all CPUs", want);
	return NULL;
}

int main(void)
{
	pthread_t th[2];
	struct barrier b;
	pid_t pid;

	if (sched_getaffinity(0, sizeof(all), &all) || !CPU_ISSET(1, &all) || CPU_COUNT(&all) < 2)
		test_fatal("needs CPUs 0 and 1");
	CPU_ZERO(&one);
	CPU_SET(1, &one);
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		pthread_t t;

		if (sched_setaffinity(0, sizeof(one), &one))
			test_fatal("sched_setaffinity");
		if (pthread_create(&t, NULL, run, &one))
			test_fatal("pthread_create");
		while (!ready)
			msleep(1);
		barrier_signal(&b);
		test_wait_go();
		check("child", &one);
		pthread_join(t, NULL);
		test_child_done();
	}
	barrier_wait(&b, 1);
	if (pthread_create(&th[0], NULL, run, &one) || pthread_create(&th[1], NULL, run, &all))
		test_fatal("pthread_create");
	if (sched_setaffinity(0, sizeof(one), &one))
		test_fatal("sched_setaffinity");
	while (ready < 2)
		msleep(1);
	test_ready();
	test_wait_go();
	check("main", &one);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	reap_child(pid, "child");
	test_done();
}
