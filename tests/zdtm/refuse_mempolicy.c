/*
 * refuse_mempolicy: a NUMA memory policy (set_mempolicy MPOL_PREFERRED,
 * node 0) in a child process. cr checkpoint must refuse the tree (exit 3),
 * naming the task and a mapping and the policy, write nothing and leave
 * the tree running.
 * Checks (without a restart): get_mempolicy() still reads MPOL_PREFERRED
 * with node 0.
 * Skip proof: none (refused).
 */
#include "zdtm.h"

#define ZDTM_MPOL_PREFERRED 1

int main(void)
{
	struct barrier b;
	pid_t pid;

	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		unsigned long mask = 1, got = 0;
		int mode = -1;

		if (syscall(SYS_set_mempolicy, ZDTM_MPOL_PREFERRED, &mask, 8 * sizeof(mask)))
			test_fatal("set_mempolicy");
		dprintf(1, "EXPECT: Task %d: mapping at \n", getpid());
		dprintf(1, "EXPECT: has a memory policy (prefer\n");
		barrier_signal(&b);
		test_wait_go();
		CHECK(syscall(SYS_get_mempolicy, &mode, &got, 8 * sizeof(got), NULL, 0) == 0 &&
			      mode == ZDTM_MPOL_PREFERRED && got == 1,
		      "child: the memory policy is now mode %d nodes %#lx", mode, got);
		test_child_done();
	}
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();
	reap_child(pid, "child");
	test_done();
}
