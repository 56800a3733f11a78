/*
 * dumpable: the dumpable flag. A child clears it (PR_SET_DUMPABLE 0), a
 * grandchild sets it back to 1 (after a setresuid() to root's own ids,
 * which would reset it); the main process keeps the default 1. (A
 * non-root task that set it again after dropping root: creds_uid.)
 * Checks: after the restart PR_GET_DUMPABLE reads back each one's value.
 * Skip proof: dumpable.
 */
#include "zdtm.h"

#include <sys/prctl.h>

static void check(const char *who, int want)
{
	int cur = prctl(PR_GET_DUMPABLE);

	CHECK(cur == want, "%s: dumpable %d, was %d", who, cur, want);
}

int main(void)
{
	struct barrier b;
	pid_t pid, gpid;

	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		gpid = fork();
		if (gpid < 0)
			test_fatal("fork");
		if (!gpid) {
			if (setresuid(0, 0, 0) || prctl(PR_SET_DUMPABLE, 1))
				test_fatal("set-up");
			barrier_signal(&b);
			test_wait_go();
			check("grandchild", 1);
			test_child_done();
		}
		if (prctl(PR_SET_DUMPABLE, 0))
			test_fatal("PR_SET_DUMPABLE");
		barrier_signal(&b);
		test_wait_go();
		check("child", 0);
		reap_child(gpid, "grandchild");
		test_child_done();
	}
	barrier_wait(&b, 2);
	test_ready();
	test_wait_go();
	check("main", 1);
	reap_child(pid, "child");
	test_done();
}
