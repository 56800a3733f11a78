/*
 * robust: robust futex lists. A thread holds a robust mutex and a child
 * process holds a process-shared robust mutex (in shared memory) through
 * the checkpoint; after the restart both die holding them, without any
 * user-space cleanup (the thread by a raw exit syscall).
 * Checks: the kernel walks each robust list at death, so locking each mutex
 * then returns EOWNERDEAD (within 2 s) and pthread_mutex_consistent works;
 * the dead thread can be joined.
 * Skip proof: robust (the kernel knows no robust list: the locks time out).
 */
#include "zdtm.h"

#include <pthread.h>

struct shared {
	pthread_mutex_t m;
	volatile int locked;
};
static pthread_mutex_t tm;
static volatile int thread_locked;

static void robust_init(pthread_mutex_t *m, bool pshared)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (pshared)
		pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (pthread_mutex_init(m, &a))
		test_fatal("pthread_mutex_init");
}

static void *holder(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&tm);
	thread_locked = 1;
	test_wait_go();
	syscall(SYS_exit, 0); /* no glibc clean-up: only the kernel sees the list */
	return NULL;
}

static void check_dead_owner(pthread_mutex_t *m, const char *what)
{
	struct timespec ts;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	r = pthread_mutex_timedlock(m, &ts);
	if (r != EOWNERDEAD) {
		fail("%s: lock after its owner died gives %s, want EOWNERDEAD", what, strerror(r));
		return;
	}
	CHECK(pthread_mutex_consistent(m) == 0, "%s: pthread_mutex_consistent failed", what);
	CHECK(pthread_mutex_unlock(m) == 0, "%s: unlock failed", what);
}

int main(void)
{
	struct shared *sh;
	struct timespec ts;
	pthread_t th;
	pid_t pid;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		test_fatal("mmap");
	robust_init(&tm, false);
	robust_init(&sh->m, true);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		pthread_mutex_lock(&sh->m);
		sh->locked = 1;
		test_wait_go();
		_exit(0);
	}
	if (pthread_create(&th, NULL, holder, NULL))
		test_fatal("pthread_create");
	while (!thread_locked || !sh->locked)
		msleep(1);
	test_ready();
	test_wait_go();

	check_dead_owner(&tm, "thread's mutex");
	check_dead_owner(&sh->m, "child's shared mutex");
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	CHECK(pthread_timedjoin_np(th, NULL, &ts) == 0, "join of the dead holder timed out");
	reap_child(pid, "child");
	test_done();
}
