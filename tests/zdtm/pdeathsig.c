/*
 * pdeathsig: parent-death signals. A child has PR_SET_PDEATHSIG SIGUSR1,
 * its child (the grandchild) SIGTERM with a handler that records it in
 * shared memory; the main process has none.
 * Checks: after the restart PR_GET_PDEATHSIG reads back each one's signal;
 * and it acts: when the child exits, the grandchild gets SIGTERM.
 * Skip proof: pdeathsig.
 */
#include "zdtm.h"

#include <sys/prctl.h>

static volatile int *got;

static void on_term(int sig)
{
	*got = sig;
}

static void check(const char *who, int want)
{
	int cur = -1;

	prctl(PR_GET_PDEATHSIG, &cur);
	CHECK(cur == want, "%s: parent-death signal %d, was %d", who, cur, want);
}

int main(void)
{
	struct barrier b;
	pid_t pid, gpid;

	got = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (got == MAP_FAILED)
		test_fatal("mmap");
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGUSR1);
		gpid = fork();
		if (gpid < 0)
			test_fatal("fork");
		if (!gpid) {
			signal(SIGTERM, on_term);
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			barrier_signal(&b);
			test_wait_go();
			check("grandchild", SIGTERM);
			for (uint64_t end = now_ms() + 3000; !*got && now_ms() < end;)
				msleep(1);
			CHECK(*got == SIGTERM, "grandchild: no SIGTERM when its parent died");
			test_child_done();
		}
		barrier_signal(&b);
		test_wait_go();
		check("child", SIGUSR1);
		/* exits: the grandchild gets its signal; the main process reaps it */
		test_child_done();
	}
	barrier_wait(&b, 2);
	test_ready();
	test_wait_go();
	check("main", 0);
	reap_child(pid, "child");
	for (uint64_t end = now_ms() + 3000; !*got && now_ms() < end;)
		msleep(1);
	CHECK(*got == SIGTERM, "the grandchild got no SIGTERM when the child died");
	test_done();
}
