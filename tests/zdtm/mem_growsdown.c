/*
 * mem_growsdown: a MAP_GROWSDOWN mapping (as a thread stack might be) of 4
 * pages with data, with 4 MiB free below it.
 * Checks: after the restart it has the same range and data, is still marked
 * "gd" in /proc/self/smaps, and still grows down: touching the page below
 * its start extends the same mapping by a page.
 * Skip proof: memory.
 */
#include "zdtm.h"

int main(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	char before[128], after[128], want[128];
	unsigned long s, e;
	uint8_t *res, *p;

	/* find 8 MiB of free space; put the mapping at its top */
	res = mmap(NULL, 8 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		test_fatal("mmap");
	munmap(res, 8 << 20);
	p = mmap(res + (8 << 20) - 4 * ps, 4 * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		test_fatal("mmap MAP_GROWSDOWN");
	for (int k = 0; k < 4 * ps; k++)
		p[k] = (uint8_t)(k * 13 + 7);
	if (!has_vm_flag(p, "gd"))
		test_fatal("no gd flag");
	if (maps_line(p, before, sizeof(before)))
		test_fatal("maps");
	test_ready();
	test_wait_go();

	CHECK(!maps_line(p, after, sizeof(after)) && !strcmp(after, before),
	      "mapping is %s, was %s", after, before);
	CHECK(has_vm_flag(p, "gd"), "the mapping lost its gd (grows down) flag");
	for (int k = 0; k < 4 * ps; k++)
		if (p[k] != (uint8_t)(k * 13 + 7)) {
			fail("byte %d differs", k);
			break;
		}
	if (!test_failed()) {
		*(volatile uint8_t *)(p - 1) = 0x5a; /* SIGSEGV unless it grows */
		sscanf(before, "%lx-%lx", &s, &e);
		snprintf(want, sizeof(want), "%lx-%lx rw-p", s - ps, e);
		CHECK(!maps_line(p - 1, after, sizeof(after)) && !strcmp(after, want),
		      "after growing: %s, want %s", after, want);
	}
	test_done();
}
