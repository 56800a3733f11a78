/*
 * mem_huge_shared: a 64 MiB shared anonymous mapping, shared with a child,
 * that is mostly empty: 8 scattered pages written, the rest never touched.
 * Checks: after the restart the 8 pages hold their data in both processes,
 * every other byte reads zero, the two still share it (a write by the
 * child is seen by the parent); and before any of that, the shared memory
 * object holds no more than the written pages plus 256 KiB (st_blocks of
 * its /proc/self/map_files entry): its zero pages were not written.
 * Skip proof: memory.
 */
#include "zdtm.h"

#define SIZE (64UL << 20)

static long ps;
static uint8_t *p;

static unsigned long page_of(int i)
{
	return (i * 2039UL + 5) % (SIZE / ps);
}

static void check(const char *who)
{
	unsigned long np = SIZE / ps;

	for (unsigned long pg = 0; pg < np; pg++) {
		const uint64_t *w = (const uint64_t *)(p + pg * ps);
		int want = 0;

		for (int i = 0; i < 8; i++)
			if (pg == page_of(i))
				want = 0x31 + i;
		for (long k = 0; k < ps / 8; k++)
			if (w[k] != 0x0101010101010101ULL * want) {
				fail("%s: page %lu differs at byte %ld", who, pg, k * 8);
				return;
			}
	}
}

int main(void)
{
	volatile int *flag;
	char path[128];
	struct barrier b;
	struct stat st;
	pid_t pid;

	ps = sysconf(_SC_PAGESIZE);
	flag = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || flag == MAP_FAILED)
		test_fatal("mmap");
	for (int i = 0; i < 8; i++)
		memset(p + page_of(i) * ps, 0x31 + i, ps);
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		barrier_signal(&b);
		test_wait_go();
		for (uint64_t end = now_ms() + 5000; !*flag && now_ms() < end;)
			msleep(1);
		check("child");
		p[SIZE - 1] = 0x77;
		flag[1] = 1;
		test_child_done();
	}
	barrier_wait(&b, 1);
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)p,
		 (unsigned long)p + SIZE);
	test_ready();
	test_wait_go();

	if (stat(path, &st))
		fail("stat %s: %s", path, strerror(errno));
	else
		CHECK(st.st_blocks * 512 <= 8 * ps + (256 << 10),
		      "the shared object holds %lld KiB after the restart: zero pages written",
		      (long long)st.st_blocks / 2);
	check("parent");
	*flag = 1;
	for (uint64_t end = now_ms() + 5000; !flag[1] && now_ms() < end;)
		msleep(1);
	CHECK(p[SIZE - 1] == 0x77, "the child's write is not shared");
	reap_child(pid, "child");
	test_done();
}
