/*
 * shm_nofollow: a POSIX shared memory object open with O_NOFOLLOW (shm_open
 * sets it) and removed (shm_unlink) while open and mapped, as Open MPI's
 * /dev/shm/open_mpi.0000 is in every rank.
 * Checks: after the restart the fd is still the deleted object, with its
 * size, offset, data and flags (O_NOFOLLOW aside: it only acts at open, and
 * the restart reopens the object through /proc/self/fd, a link, without it);
 * the mapping and the fd share the data both ways.
 * Skip proof: fds.
 */
#include "zdtm.h"

#include <sys/mman.h>

int main(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	char name[64], link[64], target[512];
	struct stat st;
	uint8_t *m, c;
	int fd, fl;
	ssize_t n;

	snprintf(name, sizeof(name), "/zdtm-nofollow-%s", test_uniq());
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, 2 * ps))
		test_fatal("shm_open %s", name);
	fl = fcntl(fd, F_GETFL);
	if (!(fl & O_NOFOLLOW))
		test_fatal("shm_open gave no O_NOFOLLOW (flags %#x)", fl);
	m = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		test_fatal("mmap");
	for (int k = 0; k < 2 * ps; k++)
		m[k] = (uint8_t)(k * 3 + 1);
	if (shm_unlink(name))
		test_fatal("shm_unlink");
	lseek(fd, 100, SEEK_SET);
	test_ready();
	test_wait_go();

	CHECK(fstat(fd, &st) == 0 && st.st_nlink == 0 && st.st_size == 2 * ps,
	      "fstat: links %lu, size %ld", (unsigned long)st.st_nlink, (long)st.st_size);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	CHECK(n > 10 && !strcmp(target + n - 10, " (deleted)"), "fd link is \"%s\"", target);
	CHECK(lseek(fd, 0, SEEK_CUR) == 100, "offset %ld", (long)lseek(fd, 0, SEEK_CUR));
	CHECK((fcntl(fd, F_GETFL) | O_NOFOLLOW) == fl, "flags %#x, were %#x", fcntl(fd, F_GETFL),
	      fl);
	for (int k = 0; k < 2 * ps; k++)
		if (m[k] != (uint8_t)(k * 3 + 1)) {
			fail("mapped byte %d differs", k);
			break;
		}
	m[1] = 0x11;
	CHECK(pread(fd, &c, 1, 1) == 1 && c == 0x11, "a write to the mapping is not in the fd");
	c = 0x22;
	CHECK(pwrite(fd, &c, 1, ps) == 1 && m[ps] == 0x22,
	      "a write to the fd is not in the mapping");
	test_done();
}
