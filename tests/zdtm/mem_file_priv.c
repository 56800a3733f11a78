/*
 * mem_file_priv: a private (copy-on-write) mapping of a regular file of 8
 * pages, with pages 1 and 3 written through the mapping (so anonymous
 * copies) and the others clean, plus a read-only private mapping of part
 * of the same file at an offset.
 * Checks: after the restart the written pages hold the written data; the
 * clean pages still map the file: a pwrite() to the file after the restart
 * shows in them (they were not saved as copies), but not in the written
 * pages; ranges, offsets and permissions in /proc/self/maps are unchanged.
 * Skip proof: memory.
 */
#include "zdtm.h"

#define NP 8

static long ps;

int main(void)
{
	const char *path = test_path("mem_file_priv.data");
	char before[2][128], after[128];
	uint8_t *p, *ro, buf[4096];
	int fd;

	ps = sysconf(_SC_PAGESIZE);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		test_fatal("open");
	for (int pg = 0; pg < NP; pg++) {
		memset(buf, 0x20 + pg, sizeof(buf));
		if (pwrite(fd, buf, ps, pg * ps) != ps)
			test_fatal("pwrite");
	}
	p = mmap(NULL, NP * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ro = mmap(NULL, 2 * ps, PROT_READ, MAP_PRIVATE, fd, 5 * ps);
	if (p == MAP_FAILED || ro == MAP_FAILED)
		test_fatal("mmap");
	close(fd);
	memset(p + 1 * ps, 0xd1, ps);
	memset(p + 3 * ps, 0xd3, ps);
	for (int pg = 0; pg < NP; pg++)
		(void)*(volatile uint8_t *)(p + pg * ps); /* fault the clean pages in */
	if (smaps_value(p, NULL, before[0], sizeof(before[0])) ||
	    smaps_value(ro, NULL, before[1], sizeof(before[1])))
		test_fatal("smaps");
	test_ready();
	test_wait_go();

	CHECK(!smaps_value(p, NULL, after, sizeof(after)) && !strcmp(after, before[0]),
	      "mapping is \"%s\", was \"%s\"", after, before[0]);
	CHECK(!smaps_value(ro, NULL, after, sizeof(after)) && !strcmp(after, before[1]),
	      "mapping is \"%s\", was \"%s\"", after, before[1]);
	for (int pg = 0; pg < NP; pg++) {
		uint8_t want = pg == 1 ? 0xd1 : pg == 3 ? 0xd3 : 0x20 + pg;

		CHECK(p[pg * ps] == want && p[pg * ps + ps - 1] == want, "page %d is %#x, want %#x",
		      pg, p[pg * ps], want);
	}
	CHECK(ro[0] == 0x25 && ro[ps] == 0x26, "read-only mapping: %#x %#x", ro[0], ro[ps]);
	fd = open(path, O_RDWR);
	memset(buf, 0xee, sizeof(buf));
	if (fd < 0 || pwrite(fd, buf, ps, 0) != ps || pwrite(fd, buf, ps, ps) != ps ||
	    pwrite(fd, buf, ps, 6 * ps) != ps)
		fail("pwrite after the restart: %s", strerror(errno));
	CHECK(p[0] == 0xee, "clean page 0 does not map the file any more (%#x)", p[0]);
	CHECK(p[ps] == 0xd1, "written page 1 changed with the file (%#x)", p[ps]);
	CHECK(ro[ps] == 0xee, "the read-only mapping does not map the file any more (%#x)", ro[ps]);
	test_done();
}
