/*
 * dumpable_threads: a multi-threaded process of a non-root user, dumpable.
 * Every restored thread sets its own credentials, and each such change
 * resets the (shared) dumpable flag: it must be set once all are done.
 * Checks: after the restart the child is still dumpable (a user-owned job
 * process can be checkpointed again by its user's credentials).
 * Skip proof: dumpable.
 */
#include "zdtm.h"

#include <grp.h>
#include <pthread.h>
#include <sys/prctl.h>

#define NT 4

static volatile int stop;

static void *idle(void *arg)
{
	(void)arg;
	while (!stop)
		msleep(5);
	return NULL;
}

int main(void)
{
	struct barrier b;
	pthread_t th[NT];
	pid_t pid;

	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		if (setgroups(0, NULL) || setresgid(3000, 3000, 3000) ||
		    setresuid(3000, 3000, 3000))
			test_fatal("drop to uid 3000");
		prctl(PR_SET_DUMPABLE, 1);
		for (int i = 0; i < NT; i++)
			if (pthread_create(&th[i], NULL, idle, NULL))
				test_fatal("pthread_create");
		barrier_signal(&b);
		test_wait_go();
		CHECK(prctl(PR_GET_DUMPABLE) == 1, "child: not dumpable after the restart");
		stop = 1;
		for (int i = 0; i < NT; i++)
			pthread_join(th[i], NULL);
		test_child_done();
	}
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();
	reap_child(pid, "child");
	test_done();
}
