/*
 * refuse_mlock: 4 pages locked in memory (mlock) in a child process. cr
 * checkpoint must refuse the tree (exit 3), naming the task and the
 * mapping, write nothing and leave the tree running.
 * Checks (without a restart): the mapping is still locked ("lo" in its
 * VmFlags) and holds its data.
 * Skip proof: none (refused).
 */
#include "zdtm.h"

int main(void)
{
	struct barrier b;
	pid_t pid;

	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		uint8_t *p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED || mlock(p, 4 * 4096))
			test_fatal("mlock");
		memset(p, 0x3c, 4 * 4096);
		dprintf(1, "EXPECT: Task %d: mapping %#lx-%#lx is mlock()ed\n", getpid(),
			(unsigned long)p, (unsigned long)p + 4 * 4096);
		barrier_signal(&b);
		test_wait_go();
		CHECK(has_vm_flag(p, "lo"), "child: the mapping is no longer locked");
		CHECK(p[0] == 0x3c && p[4 * 4096 - 1] == 0x3c, "child: data differ");
		test_child_done();
	}
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();
	reap_child(pid, "child");
	test_done();
}
