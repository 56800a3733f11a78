/*
 * mm_map: what PR_SET_MM_MAP restores: the command line and environment
 * areas (/proc/self/cmdline and /proc/self/environ, the test runs with
 * extra arguments and an extra variable), the auxiliary vector
 * (/proc/self/auxv, getauxval), the executable (/proc/self/exe), the
 * program break (grown by 1 MiB with data in it) and the stack start.
 * Checks: after the restart all of them read back byte for byte the same,
 * and the heap can still grow and shrink (sbrk).
 * Skip proof: memory.
 */
#include "zdtm.h"

#include <sys/auxv.h>

struct snap {
	char cmdline[4096], environ[16384], auxv[1024], exe[512], stat[1024];
	ssize_t ncmd, nenv, naux;
	void *brk;
};

static void take(struct snap *s)
{
	ssize_t n;

	s->ncmd = read_text("/proc/self/cmdline", s->cmdline, sizeof(s->cmdline));
	s->nenv = read_text("/proc/self/environ", s->environ, sizeof(s->environ));
	s->naux = read_text("/proc/self/auxv", s->auxv, sizeof(s->auxv));
	n = readlink("/proc/self/exe", s->exe, sizeof(s->exe) - 1);
	s->exe[n > 0 ? n : 0] = '\0';
	s->brk = sbrk(0);
}

int main(int argc, char **argv)
{
	static struct snap before, after;
	char *heap;

	if (argc < 3 || strcmp(argv[1], "--first") || !getenv("ZDTM_MM_EXTRA")) {
		char *args[] = {argv[0], "--first", "second argument", NULL};

		setenv("ZDTM_MM_EXTRA", "a value with spaces", 1);
		execv("/proc/self/exe", args);
		test_fatal("execv");
	}
	heap = sbrk(1 << 20);
	if (heap == (void *)-1)
		test_fatal("sbrk");
	for (int k = 0; k < (1 << 20); k++)
		heap[k] = (char)(k * 7);
	take(&before);
	test_ready();
	test_wait_go();

	take(&after);
	CHECK(after.ncmd == before.ncmd && !memcmp(after.cmdline, before.cmdline, after.ncmd),
	      "/proc/self/cmdline differs (%zd bytes, was %zd)", after.ncmd, before.ncmd);
	CHECK(after.nenv == before.nenv && !memcmp(after.environ, before.environ, after.nenv),
	      "/proc/self/environ differs (%zd bytes, was %zd)", after.nenv, before.nenv);
	CHECK(after.naux == before.naux && !memcmp(after.auxv, before.auxv, after.naux),
	      "/proc/self/auxv differs");
	CHECK(!strcmp(after.exe, before.exe), "/proc/self/exe is %s, was %s", after.exe,
	      before.exe);
	CHECK(after.brk == before.brk, "program break %p, was %p", after.brk, before.brk);
	CHECK(getauxval(AT_PAGESZ) == 4096 && getauxval(AT_ENTRY), "getauxval fails");
	CHECK(!strcmp(getenv("ZDTM_MM_EXTRA"), "a value with spaces"), "environment differs");
	for (int k = 0; k < (1 << 20); k++)
		if (heap[k] != (char)(k * 7)) {
			fail("heap byte %d differs", k);
			break;
		}
	CHECK(sbrk(1 << 20) == after.brk && sbrk(-(2 << 20)) != (void *)-1 &&
		      sbrk(0) == (char *)after.brk - (1 << 20),
	      "the heap can't grow and shrink");
	test_done();
}
