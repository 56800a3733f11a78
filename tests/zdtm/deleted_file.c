/*
 * deleted_file: files deleted while open or mapped: one on disk (the test
 * directory) open O_RDWR at offset 3000 and mapped shared; one on tmpfs
 * (/dev/shm) only mapped shared (its fd closed); one on disk only mapped
 * private and written.
 * Checks: after the restart the open one is still deleted (st_nlink 0,
 * /proc/self/fd link "... (deleted)", nothing at its old path), with its
 * size, offset, flags and data; its mapping and its fd share the data both
 * ways; the mapped-only ones hold their data and the shared one is still
 * shared memory backed by a deleted file.
 * Skip proof: fds.
 */
#include "zdtm.h"

int main(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	const char *p1 = strdup(test_path("deleted.open")), *p3 = strdup(test_path("deleted.priv"));
	char p2[128], link[64], target[512];
	uint8_t *m1, *m2, *m3, c;
	struct stat st;
	int fd, fd2, fd3, fl;
	ssize_t n;

	snprintf(p2, sizeof(p2), "/dev/shm/deleted-%s", test_uniq());
	fd = open(p1, O_RDWR | O_CREAT | O_EXCL, 0640);
	fd2 = open(p2, O_RDWR | O_CREAT | O_EXCL, 0600);
	fd3 = open(p3, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || fd2 < 0 || fd3 < 0 || ftruncate(fd, 3 * ps) || ftruncate(fd2, 2 * ps) ||
	    ftruncate(fd3, ps))
		test_fatal("create");
	m1 = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	m2 = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
	m3 = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd3, 0);
	if (m1 == MAP_FAILED || m2 == MAP_FAILED || m3 == MAP_FAILED)
		test_fatal("mmap");
	for (int k = 0; k < 3 * ps; k++)
		m1[k] = (uint8_t)(k * 5 + 2);
	memset(m2, 0x62, 2 * ps);
	memset(m3, 0x63, ps);
	close(fd2);
	close(fd3);
	if (unlink(p1) || unlink(p2) || unlink(p3))
		test_fatal("unlink");
	lseek(fd, 3000, SEEK_SET);
	fl = fcntl(fd, F_GETFL);
	test_ready();
	test_wait_go();

	if (fstat(fd, &st))
		fail("fstat: %s", strerror(errno));
	else {
		CHECK(st.st_nlink == 0, "the open file has %lu links", (unsigned long)st.st_nlink);
		CHECK(st.st_size == 3 * ps, "size %ld", (long)st.st_size);
		CHECK((st.st_mode & 07777) == 0640, "mode %o", st.st_mode & 07777);
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	CHECK(n > 10 && !strcmp(target + n - 10, " (deleted)"), "fd link is \"%s\"", target);
	CHECK(access(p1, F_OK) != 0, "something exists at the deleted file's path");
	CHECK(lseek(fd, 0, SEEK_CUR) == 3000, "offset %ld", (long)lseek(fd, 0, SEEK_CUR));
	CHECK(fcntl(fd, F_GETFL) == fl, "flags %#x, were %#x", fcntl(fd, F_GETFL), fl);
	for (int k = 0; k < 3 * ps; k++)
		if (m1[k] != (uint8_t)(k * 5 + 2)) {
			fail("mapped byte %d differs", k);
			break;
		}
	m1[1] = 0x11;
	CHECK(pread(fd, &c, 1, 1) == 1 && c == 0x11, "a write to the mapping is not in the file");
	c = 0x22;
	CHECK(pwrite(fd, &c, 1, 2 * ps) == 1 && m1[2 * ps] == 0x22,
	      "a write to the file is not in the mapping");
	CHECK(m2[0] == 0x62 && m2[2 * ps - 1] == 0x62, "deleted tmpfs mapping: data differ");
	CHECK(m3[0] == 0x63 && m3[ps - 1] == 0x63, "deleted private mapping: data differ");
	CHECK(smaps_value(m2, NULL, target, sizeof(target)) == 0 && strstr(target, " rw-s ") &&
		      strstr(target, "(deleted)"),
	      "deleted tmpfs mapping is \"%s\"", target);
	test_done();
}
