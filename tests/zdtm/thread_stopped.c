/*
 * thread_stopped: a two-threaded child process stopped by SIGSTOP (group
 * stop) while both of its threads were counting in shared memory.
 * Checks: after the restart the child is still stopped (no thread counts
 * for 200 ms), SIGCONT resumes both threads, and the child exits 0.
 * Skip proof: stopped (the child runs on after the restart).
 */
#include "zdtm.h"

#include <pthread.h>

struct shared {
	volatile unsigned long count[2];
	volatile int quit;
};
static struct shared *sh;

static void *count1(void *arg)
{
	(void)arg;
	while (!sh->quit) {
		sh->count[1]++;
		msleep(1);
	}
	return NULL;
}

static void child(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, count1, NULL))
		_exit(2);
	while (!sh->quit) {
		sh->count[0]++;
		msleep(1);
	}
	pthread_join(t, NULL);
	_exit(0);
}

static bool counting(int ms)
{
	unsigned long a = sh->count[0], b = sh->count[1];

	msleep(ms);
	return sh->count[0] != a || sh->count[1] != b;
}

int main(void)
{
	int status;
	pid_t pid;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		test_fatal("mmap");
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid)
		child();
	while (!sh->count[0] || !sh->count[1])
		msleep(1);
	kill(pid, SIGSTOP);
	if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status))
		test_fatal("child did not stop");
	if (counting(20))
		test_fatal("child counts while stopped");
	test_ready();
	test_wait_go();

	CHECK(!counting(200), "the child runs after the restart, it was stopped");
	kill(pid, SIGCONT);
	{
		uint64_t end = now_ms() + 2000;
		unsigned long a = sh->count[0], b = sh->count[1];

		while ((sh->count[0] == a || sh->count[1] == b) && now_ms() < end)
			msleep(2);
		CHECK(sh->count[0] != a && sh->count[1] != b,
		      "SIGCONT did not resume both threads");
	}
	sh->quit = 1;
	reap_child(pid, "stopped child");
	test_done();
}
