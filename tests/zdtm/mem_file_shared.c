/*
 * mem_file_shared: a shared writable mapping of a regular file, written
 * through, with the file also open (O_RDWR, at offset 1000).
 * Checks: after the restart the mapping shows the file's data; a write
 * through the mapping is read back by pread() and a pwrite() shows in the
 * mapping (the same file, not a copy); the fd has its offset and flags;
 * range and permissions in /proc/self/maps are unchanged.
 * Skip proof: fds (the fd is not restored).
 */
#include "zdtm.h"

int main(void)
{
	const char *path = test_path("mem_file_shared.data");
	long ps = sysconf(_SC_PAGESIZE);
	char before[128], after[128];
	uint8_t *p, c;
	int fd, fl;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 4 * ps))
		test_fatal("open");
	p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		test_fatal("mmap");
	for (int k = 0; k < 4 * ps; k++)
		p[k] = (uint8_t)(k * 3 + 1);
	lseek(fd, 1000, SEEK_SET);
	fl = fcntl(fd, F_GETFL);
	if (maps_line(p, before, sizeof(before)))
		test_fatal("maps");
	test_ready();
	test_wait_go();

	CHECK(!maps_line(p, after, sizeof(after)) && !strcmp(after, before), "mapping %s, was %s",
	      after, before);
	for (int k = 0; k < 4 * ps; k++)
		if (p[k] != (uint8_t)(k * 3 + 1)) {
			fail("byte %d differs", k);
			break;
		}
	CHECK(fcntl(fd, F_GETFL) == fl, "fd flags %#x, were %#x", fcntl(fd, F_GETFL), fl);
	CHECK(lseek(fd, 0, SEEK_CUR) == 1000, "fd offset %ld", (long)lseek(fd, 0, SEEK_CUR));
	p[10] = 0x77;
	CHECK(pread(fd, &c, 1, 10) == 1 && c == 0x77, "a write to the mapping is not in the file");
	c = 0x66;
	if (pwrite(fd, &c, 1, 3 * ps + 5) != 1)
		fail("pwrite: %s", strerror(errno));
	CHECK(p[3 * ps + 5] == 0x66, "a write to the file is not in the mapping");
	test_done();
}
