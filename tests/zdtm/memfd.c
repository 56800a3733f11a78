/*
 * memfd: a memfd (memfd_create, sealing allowed) of 3 pages with data, open
 * at offset 5000 and mapped shared, plus a second memfd only mapped
 * (its fd closed).
 * Checks: after the restart the fd is still a memfd ("/memfd:zdtm-one
 * (deleted)"), with size, offset, flags and data; fd and mapping share the
 * data both ways; the mapped-only memfd keeps its data. (Seals: memfd_seals.)
 * Skip proof: fds.
 */
#include "zdtm.h"

#include <sys/mman.h>

int main(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	char link[64], target[256];
	int fd, fd2, fl;
	uint8_t *m, *m2, c;
	struct stat st;
	ssize_t n;

	fd = memfd_create("zdtm-one", MFD_ALLOW_SEALING);
	fd2 = memfd_create("zdtm-two", 0);
	if (fd < 0 || fd2 < 0 || ftruncate(fd, 3 * ps) || ftruncate(fd2, ps))
		test_fatal("memfd_create");
	m = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	m2 = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
	if (m == MAP_FAILED || m2 == MAP_FAILED)
		test_fatal("mmap");
	for (int k = 0; k < 3 * ps; k++)
		m[k] = (uint8_t)(k * 9 + 4);
	memset(m2, 0x72, ps);
	close(fd2);
	lseek(fd, 5000, SEEK_SET);
	fl = fcntl(fd, F_GETFL);
	test_ready();
	test_wait_go();

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	CHECK(!strcmp(target, "/memfd:zdtm-one (deleted)"), "fd link is \"%s\"", target);
	CHECK(!fstat(fd, &st) && st.st_size == 3 * ps, "size %ld", (long)st.st_size);
	CHECK(lseek(fd, 0, SEEK_CUR) == 5000, "offset %ld", (long)lseek(fd, 0, SEEK_CUR));
	CHECK(fcntl(fd, F_GETFL) == fl, "flags %#x, were %#x", fcntl(fd, F_GETFL), fl);
	for (int k = 0; k < 3 * ps; k++)
		if (m[k] != (uint8_t)(k * 9 + 4)) {
			fail("mapped byte %d differs", k);
			break;
		}
	m[3] = 0x33;
	CHECK(pread(fd, &c, 1, 3) == 1 && c == 0x33, "a write to the mapping is not in the memfd");
	c = 0x44;
	CHECK(pwrite(fd, &c, 1, ps + 1) == 1 && m[ps + 1] == 0x44,
	      "a write to the memfd is not in the mapping");
	CHECK(m2[0] == 0x72 && m2[ps - 1] == 0x72, "mapped-only memfd: data differ");
	CHECK(smaps_value(m2, NULL, target, sizeof(target)) == 0 &&
		      strstr(target, "/memfd:zdtm-two (deleted)"),
	      "mapped-only memfd is \"%s\"", target);
	test_done();
}
