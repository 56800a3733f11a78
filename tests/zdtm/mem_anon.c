/*
 * mem_anon: private anonymous memory. A 48-page mapping is filled with a
 * pattern, then gets a 2-page hole, a 2-page PROT_NONE guard, a read-only
 * run, an executable page and 4 never-touched pages; plus a malloc()ed
 * brk heap block, a large malloc()ed block (its own mapping) and a stack
 * array.
 * Checks: after the restart every piece of the mapping has the same range
 * and permissions in /proc/self/maps, the hole is still a hole, every byte
 * reads back (the guard pages too, once made readable), the untouched
 * pages read zero, sbrk(0) is unchanged and the heap and stack data match.
 * Skip proof: memory.
 */
#include "zdtm.h"

#define NP 48

static long ps;

static uint8_t pat(int page, int k)
{
	return (uint8_t)(page * 131 + k * 7 + 1);
}

static bool page_ok(const uint8_t *p, int page, bool zero)
{
	for (int k = 0; k < ps; k++)
		if (p[k] != (zero ? 0 : pat(page, k)))
			return false;
	return true;
}

int main(void)
{
	static const int probe[] = {0, 12, 20, 22, 30, 40, 41, 44};
	char before[ARRAY_SIZE(probe)][128], after[128];
	uint8_t stack[16384], *p, *heap, *big;
	void *brk0;

	ps = sysconf(_SC_PAGESIZE);
	p = mmap(NULL, NP * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	heap = malloc(100000);
	big = malloc(1 << 20);
	if (p == MAP_FAILED || !heap || !big)
		test_fatal("allocate");
	for (int i = 0; i < 44; i++)
		for (int k = 0; k < ps; k++)
			p[i * ps + k] = pat(i, k);
	for (int k = 0; k < 100000; k++)
		heap[k] = (uint8_t)(k * 3);
	for (int k = 0; k < (1 << 20); k++)
		big[k] = (uint8_t)(k * 5 + 1);
	for (size_t k = 0; k < sizeof(stack); k++)
		stack[k] = (uint8_t)(k * 11);
	if (munmap(p + 10 * ps, 2 * ps) || mprotect(p + 20 * ps, 2 * ps, PROT_NONE) ||
	    mprotect(p + 30 * ps, 10 * ps, PROT_READ) ||
	    mprotect(p + 40 * ps, ps, PROT_READ | PROT_EXEC))
		test_fatal("munmap/mprotect");
	for (size_t i = 0; i < ARRAY_SIZE(probe); i++)
		if (maps_line(p + probe[i] * ps, before[i], sizeof(before[i])))
			test_fatal("no mapping at page %d", probe[i]);
	if (maps_line(p + 10 * ps, after, sizeof(after)) == 0)
		test_fatal("the hole is mapped");
	brk0 = sbrk(0);
	test_ready();
	test_wait_go();

	for (size_t i = 0; i < ARRAY_SIZE(probe); i++) {
		if (maps_line(p + probe[i] * ps, after, sizeof(after)))
			strcpy(after, "(unmapped)");
		CHECK(!strcmp(after, before[i]), "page %d: mapping %s, was %s", probe[i], after,
		      before[i]);
	}
	CHECK(maps_line(p + 10 * ps, after, sizeof(after)) != 0, "the hole is mapped: %s", after);
	CHECK(maps_line(p + 11 * ps, after, sizeof(after)) != 0, "the hole is mapped: %s", after);
	if (!mprotect(p + 20 * ps, 2 * ps, PROT_READ)) {
		for (int i = 0; i < NP; i++) {
			if (i == 10 || i == 11)
				continue;
			CHECK(page_ok(p + i * ps, i, i >= 44), "page %d: contents differ", i);
		}
	} else
		fail("mprotect of the guard pages: %s", strerror(errno));
	CHECK(sbrk(0) == brk0, "program break %p, was %p", sbrk(0), brk0);
	for (int k = 0; k < 100000; k++)
		if (heap[k] != (uint8_t)(k * 3)) {
			fail("heap byte %d differs", k);
			break;
		}
	for (int k = 0; k < (1 << 20); k++)
		if (big[k] != (uint8_t)(k * 5 + 1)) {
			fail("large block byte %d differs", k);
			break;
		}
	for (size_t k = 0; k < sizeof(stack); k++)
		if (stack[k] != (uint8_t)(k * 11)) {
			fail("stack byte %zu differs", k);
			break;
		}
	test_done();
}
