/*
 * tidaddr: clear_child_tid (set_tid_address) of threads. In a child process
 * the main thread points its clear_child_tid at a word of shared memory
 * holding its tid; a second thread keeps the process alive (the kernel
 * clears the word only while another thread shares the mm). Two threads
 * of the parent are plain pthreads.
 * Checks: after the restart, when the child's main thread exits alone, the
 * kernel zeroes that word and wakes its futex (the parent's wait returns
 * within 2 s); each parent thread exits and pthread_join (which waits on
 * the thread's tid word the same way) returns within 2 s.
 * Skip proof: tidaddr.
 */
#include "zdtm.h"

#include <linux/futex.h>
#include <pthread.h>

static volatile int ready;
static volatile uint32_t *word;

static void *run(void *arg)
{
	(void)arg;
	__atomic_fetch_add(&ready, 1, __ATOMIC_SEQ_CST);
	test_wait_go();
	return NULL;
}

/* The child's second thread: outlives the main one, then ends the process. */
static void *keeper(void *arg)
{
	uint64_t end;

	(void)arg;
	test_wait_go();
	end = now_ms() + 3000;
	while (*word && now_ms() < end)
		msleep(2);
	_exit(0);
}

static void child(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, keeper, NULL))
		test_fatal("pthread_create");
	syscall(SYS_set_tid_address, word);
	*word = xgettid();
	test_wait_go();
	syscall(SYS_exit, 0); /* this thread only */
}

int main(void)
{
	pthread_t th[2];
	struct timespec ts;
	uint64_t end;
	pid_t pid;

	word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (word == MAP_FAILED)
		test_fatal("mmap");
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid)
		child();
	for (int i = 0; i < 2; i++)
		if (pthread_create(&th[i], NULL, run, NULL))
			test_fatal("pthread_create");
	while (*word != (uint32_t)pid || ready < 2)
		msleep(1);
	test_ready();
	test_wait_go();

	end = now_ms() + 2000;
	while (*word && now_ms() < end) {
		struct timespec t = {0, 100 * 1000000L};
		uint32_t v = *word;

		if (v)
			syscall(SYS_futex, word, FUTEX_WAIT, v, &t, NULL, 0);
	}
	CHECK(*word == 0, "the child's clear_child_tid word is still %u", *word);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	for (int i = 0; i < 2; i++)
		CHECK(pthread_timedjoin_np(th[i], NULL, &ts) == 0, "join of thread %d timed out",
		      i);
	reap_child(pid, "child");
	test_done();
}
