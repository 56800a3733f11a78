/*
 * mem_cow: private memory shared copy-on-write between a parent and its
 * child. 8 pages are written before fork(); the child then rewrites page 1,
 * the parent page 2.
 * Checks: after the restart each process sees its own page and the original
 * data everywhere else; writes after the restart stay private (the child
 * rewrites page 3, the parent still reads the old data there, and the
 * other way round for page 4).
 * Skip proof: memory.
 */
#include "zdtm.h"

#define NP 8

struct sync {
	volatile int child_wrote, parent_checked;
};

static long ps;
static uint8_t *p;

static bool page_is(int pg, uint8_t v)
{
	for (int k = 0; k < ps; k++)
		if (p[pg * ps + k] != v)
			return false;
	return true;
}

static void check(const char *who, const uint8_t want[NP])
{
	for (int pg = 0; pg < NP; pg++)
		CHECK(page_is(pg, want[pg]), "%s: page %d is not %#x", who, pg, want[pg]);
}

int main(void)
{
	uint8_t want[NP];
	struct sync *s;
	struct barrier b;
	pid_t pid;

	ps = sysconf(_SC_PAGESIZE);
	s = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	p = mmap(NULL, NP * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || s == MAP_FAILED)
		test_fatal("mmap");
	for (int pg = 0; pg < NP; pg++) {
		want[pg] = 0x10 + pg;
		memset(p + pg * ps, want[pg], ps);
	}
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		memset(p + 1 * ps, 0xc1, ps);
		want[1] = 0xc1;
		barrier_signal(&b);
		test_wait_go();
		check("child", want);
		memset(p + 3 * ps, 0xc3, ps);
		want[3] = 0xc3;
		s->child_wrote = 1;
		while (!s->parent_checked)
			msleep(1);
		check("child", want);
		test_child_done();
	}
	barrier_wait(&b, 1);
	memset(p + 2 * ps, 0xa2, ps);
	want[2] = 0xa2;
	test_ready();
	test_wait_go();

	check("parent", want);
	memset(p + 4 * ps, 0xa4, ps);
	want[4] = 0xa4;
	{
		uint64_t end = now_ms() + 3000;

		while (!s->child_wrote && now_ms() < end)
			msleep(1);
	}
	check("parent", want);
	s->parent_checked = 1;
	reap_child(pid, "child");
	test_done();
}
