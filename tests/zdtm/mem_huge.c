/*
 * mem_huge: a 64 MiB private anonymous mapping that is mostly empty: 16
 * scattered pages written, 512 pages only read (mapped to the zero page),
 * the rest never touched.
 * Checks: after the restart the 16 pages hold their data and every other
 * byte of the 64 MiB reads zero; before that scan, the mapping's Rss is at
 * most the 16 written pages plus 64 KiB (read or untouched pages were not
 * restored as data: zero pages are not written).
 * Skip proof: memory.
 */
#include "zdtm.h"

#define SIZE (64UL << 20)

int main(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	unsigned long npages = SIZE / ps, rss;
	volatile uint8_t sink = 0;
	char l[64];
	uint8_t *p;

	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED)
		test_fatal("mmap");
	madvise(p, SIZE, MADV_NOHUGEPAGE); /* count pages, not huge pages */
	for (int i = 0; i < 16; i++)
		memset(p + (i * 1009UL % npages) * ps, 0x11 + i, ps);
	for (unsigned long i = 0; i < 512; i++)
		sink += p[(i * 31 + 7) % npages * ps + 100];
	(void)sink;
	test_ready();
	test_wait_go();

	if (smaps_value(p, "Rss:", l, sizeof(l)) == 0) {
		rss = strtoul(l, NULL, 10);
		CHECK(rss <= (unsigned long)(16 * ps / 1024 + 64),
		      "Rss %lu kB after the restart: zero pages restored", rss);
	} else
		fail("no Rss for the mapping");
	for (unsigned long pg = 0; pg < npages; pg++) {
		int want = 0;
		const uint64_t *w = (const uint64_t *)(p + pg * ps);

		for (int i = 0; i < 16; i++)
			if (pg == i * 1009UL % npages)
				want = 0x11 + i;
		for (long k = 0; k < ps / 8; k++)
			if (w[k] != 0x0101010101010101ULL * want) {
				fail("page %lu differs at byte %ld", pg, k * 8);
				pg = npages;
				break;
			}
	}
	test_done();
}
