/*
 * comm: task names. The main thread is renamed with PR_SET_NAME, two more
 * threads each get their own name, a child process another.
 * Checks: after the restart each thread and the child read back their own
 * name with PR_GET_NAME (full 15 characters).
 * Skip proof: comm.
 */
#include "zdtm.h"

#include <pthread.h>
#include <sys/prctl.h>

static const char *names[] = {"zdtm-main-4567", "zdtm-thread-one", "zdtm-t2", "zdtm-child"};
static volatile int ready;

static void check(int i)
{
	char cur[17] = "";

	prctl(PR_GET_NAME, cur);
	CHECK(!strcmp(cur, names[i]), "task %d is named \"%s\", want \"%s\"", i, cur, names[i]);
}

static void *run(void *arg)
{
	long i = (long)arg;

	prctl(PR_SET_NAME, names[i]);
	__atomic_fetch_add(&ready, 1, __ATOMIC_SEQ_CST);
	test_wait_go();
	check(i);
	return NULL;
}

int main(void)
{
	pthread_t th[2];
	struct barrier b;
	pid_t pid;

	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		prctl(PR_SET_NAME, names[3]);
		barrier_signal(&b);
		test_wait_go();
		check(3);
		test_child_done();
	}
	barrier_wait(&b, 1);
	prctl(PR_SET_NAME, names[0]);
	for (long i = 1; i <= 2; i++)
		if (pthread_create(&th[i - 1], NULL, run, (void *)i))
			test_fatal("pthread_create");
	while (ready < 2)
		msleep(1);
	test_ready();
	test_wait_go();
	check(0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	reap_child(pid, "child");
	test_done();
}
