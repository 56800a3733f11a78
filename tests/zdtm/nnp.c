/*
 * nnp: no_new_privs. A child sets PR_SET_NO_NEW_PRIVS (and a thread it
 * starts afterwards inherits it); the main process does not.
 * Checks: after the restart PR_GET_NO_NEW_PRIVS reads 1 in the child and
 * its thread, 0 in the main process; and it acts: the child can install a
 * seccomp filter without CAP_SYS_ADMIN... as root it always could, so the
 * check is that the flag can't be cleared (PR_SET_NO_NEW_PRIVS 0 fails).
 * Skip proof: nnp.
 */
#include "zdtm.h"

#include <pthread.h>
#include <sys/prctl.h>

static volatile int thread_ok = -1;

static void *run(void *arg)
{
	(void)arg;
	test_wait_go();
	thread_ok = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	return NULL;
}

int main(void)
{
	struct barrier b;
	pid_t pid;

	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		pthread_t t;

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
			test_fatal("PR_SET_NO_NEW_PRIVS");
		if (pthread_create(&t, NULL, run, NULL))
			test_fatal("pthread_create");
		barrier_signal(&b);
		test_wait_go();
		CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "child: no_new_privs is clear");
		CHECK(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0) == -1, "child: no_new_privs cleared");
		pthread_join(t, NULL);
		CHECK(thread_ok == 1, "child's thread: no_new_privs is %d", thread_ok);
		test_child_done();
	}
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0, "main: no_new_privs is set");
	reap_child(pid, "child");
	test_done();
}
