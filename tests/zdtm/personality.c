/*
 * personality: execution domains and their flags: the main process runs
 * with ADDR_NO_RANDOMIZE | UNAME26, a child with ADDR_COMPAT_LAYOUT |
 * SHORT_INODE.
 * Checks: after the restart personality(0xffffffff) reads each one back,
 * and UNAME26 still acts (uname() reports a 2.6 release in the main
 * process, the real one in the child).
 * Skip proof: misc.
 */
#include "zdtm.h"

#include <sys/personality.h>
#include <sys/utsname.h>

static void check(const char *who, int want)
{
	int cur = personality(0xffffffff);
	struct utsname u;

	CHECK(cur == want, "%s: personality %#x, want %#x", who, cur, want);
	uname(&u);
	CHECK(!strncmp(u.release, "2.6.", 4) == !!(want & UNAME26),
	      "%s: uname release %s with UNAME26 %s", who, u.release,
	      want & UNAME26 ? "set" : "clear");
}

int main(void)
{
	const int pmain = PER_LINUX | ADDR_NO_RANDOMIZE | UNAME26;
	const int pchild = PER_LINUX | ADDR_COMPAT_LAYOUT | SHORT_INODE;
	struct barrier b;
	pid_t pid;

	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		if (personality(pchild) == -1)
			test_fatal("personality");
		barrier_signal(&b);
		test_wait_go();
		check("child", pchild);
		test_child_done();
	}
	if (personality(pmain) == -1)
		test_fatal("personality");
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();
	check("main", pmain);
	reap_child(pid, "child");
	test_done();
}
