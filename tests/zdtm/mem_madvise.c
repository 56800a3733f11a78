/*
 * mem_madvise: madvise() advice that changes behaviour: MADV_DONTFORK,
 * MADV_WIPEONFORK, MADV_DONTDUMP, MADV_HUGEPAGE and MADV_NOHUGEPAGE, each on
 * its own mapping with data.
 * Checks: after the restart each mapping still has its VmFlags bit in
 * /proc/self/smaps (dc, wf, dd, hg, nh) and its data; and the advice still
 * acts: in a child forked after the restart the DONTFORK mapping is absent
 * and the WIPEONFORK one reads zero, while the parent keeps both.
 * Skip proof: madvise.
 */
#include "zdtm.h"

enum { DONTFORK, WIPEONFORK, DONTDUMP, HUGE, NOHUGE, N };

int main(void)
{
	static const int advice[N] = {MADV_DONTFORK, MADV_WIPEONFORK, MADV_DONTDUMP, MADV_HUGEPAGE,
				      MADV_NOHUGEPAGE};
	static const char *flag[N] = {"dc", "wf", "dd", "hg", "nh"};
	size_t len = 4 << 20;
	uint8_t *m[N];
	bool applied[N];
	pid_t pid;

	for (int i = 0; i < N; i++) {
		m[i] = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m[i] == MAP_FAILED)
			test_fatal("mmap");
		applied[i] = madvise(m[i], len, advice[i]) == 0;
		if (i <= DONTDUMP && !applied[i])
			test_fatal("madvise %s", flag[i]);
		memset(m[i], 0x40 + i, 3 * 4096);
		if (applied[i] && !has_vm_flag(m[i], flag[i]))
			test_fatal("no %s flag", flag[i]);
	}
	test_ready();
	test_wait_go();

	for (int i = 0; i < N; i++) {
		if (applied[i])
			CHECK(has_vm_flag(m[i], flag[i]), "mapping %d lost its %s flag", i,
			      flag[i]);
		CHECK(m[i][0] == 0x40 + i && m[i][3 * 4096 - 1] == 0x40 + i,
		      "mapping %d: data differ", i);
	}
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		char l[128];

		CHECK(maps_line(m[DONTFORK], l, sizeof(l)) != 0,
		      "the DONTFORK mapping was inherited: %s", l);
		CHECK(m[WIPEONFORK][0] == 0, "the WIPEONFORK mapping was not wiped");
		CHECK(m[DONTDUMP][0] == 0x40 + DONTDUMP, "a plain mapping was not inherited");
		test_child_done();
	}
	reap_child(pid, "child forked after the restart");
	CHECK(m[WIPEONFORK][0] == 0x40 + WIPEONFORK, "the parent's WIPEONFORK data went");
	test_done();
}
