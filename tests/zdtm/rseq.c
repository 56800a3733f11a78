/*
 * rseq: restartable sequences, registered by glibc for every thread.
 * Checks: after the restart, the main thread and a second thread are still
 * registered with the same area, length and signature (registering again
 * with those arguments fails with EBUSY), and the area's cpu_id is right
 * once the thread is bound to CPU 1.
 * Skip proof: rseq (not registered after the restart).
 */
#include "zdtm.h"

#include <pthread.h>
#include <sched.h>
#include <sys/rseq.h>

#define ZDTM_RSEQ_SIG 0x53053053

static unsigned int rseq_len; /* what glibc registered: 32, whatever __rseq_size says */

static struct rseq *area(void)
{
	return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

/* Registering again with the same area, length and signature gives EBUSY. */
static bool registered(unsigned int len)
{
	return syscall(SYS_rseq, area(), len, 0, ZDTM_RSEQ_SIG) == -1 && errno == EBUSY;
}

static void check_registered(const char *who)
{
	long r = syscall(SYS_rseq, area(), rseq_len, 0, ZDTM_RSEQ_SIG);
	cpu_set_t set;

	if (r == 0) {
		fail("%s: rseq was not registered", who);
		return;
	}
	CHECK(errno == EBUSY, "%s: rseq registration gives %s, want EBUSY", who, strerror(errno));
	/* onto CPU 1: the kernel keeps cpu_id up to date */
	CPU_ZERO(&set);
	CPU_SET(1, &set);
	if (!sched_setaffinity(0, sizeof(set), &set)) {
		sched_yield();
		CHECK(area()->cpu_id == 1, "%s: rseq cpu_id %u on CPU 1", who, area()->cpu_id);
	}
}

static volatile int ready;

static void *run(void *arg)
{
	(void)arg;
	if (!registered(rseq_len))
		test_fatal("thread: rseq is not registered by glibc");
	ready = 1;
	test_wait_go();
	check_registered("thread");
	return NULL;
}

int main(void)
{
	pthread_t th;

	if (!__rseq_size)
		test_fatal("glibc did not register rseq");
	rseq_len = registered(sizeof(struct rseq)) ? sizeof(struct rseq) : __rseq_size;
	if (!registered(rseq_len))
		test_fatal("rseq is not registered by glibc");
	if (pthread_create(&th, NULL, run, NULL))
		test_fatal("pthread_create");
	while (!ready)
		msleep(1);
	test_ready();
	test_wait_go();
	check_registered("main");
	pthread_join(th, NULL);
	test_done();
}
