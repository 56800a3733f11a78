/*
 * shm_file: files on tmpfs, open and mapped: a POSIX shared memory object
 * (shm_open, in /dev/shm) open O_RDWR at offset 123 and mapped shared, and a
 * file on a tmpfs the test mounts in its directory, open O_RDONLY at offset
 * 4000 and mapped shared read-only, plus mapped private and written.
 * Checks: after the restart each fd refers to the same file (same inode as
 * its path), with its offset, flags and data; each shared mapping shares
 * the file's data (a write to the file through its path shows in it, a
 * write through the writable one is read by pread); the private mapping
 * keeps its own write and maps the file elsewhere.
 * Skip proof: fds.
 */
#include "zdtm.h"

#include <sys/mount.h>

struct obj {
	const char *path;
	int fd, flags;
	off_t off;
	ino_t ino;
	uint8_t *map;
};

static void check(struct obj *o, long ps, const char *what)
{
	struct stat st, pst;
	uint8_t c;

	if (fstat(o->fd, &st) || stat(o->path, &pst)) {
		fail("%s: fstat/stat: %s", what, strerror(errno));
		return;
	}
	CHECK(st.st_ino == o->ino && pst.st_ino == o->ino, "%s: fd is inode %lu, path %lu, was %lu",
	      what, (unsigned long)st.st_ino, (unsigned long)pst.st_ino, (unsigned long)o->ino);
	CHECK(lseek(o->fd, 0, SEEK_CUR) == o->off, "%s: offset %ld, was %ld", what,
	      (long)lseek(o->fd, 0, SEEK_CUR), (long)o->off);
	CHECK(fcntl(o->fd, F_GETFL) == o->flags, "%s: flags %#x, were %#x", what,
	      fcntl(o->fd, F_GETFL), o->flags);
	for (int k = 0; k < 2 * ps; k++)
		if (o->map[k] != (uint8_t)(k + 9)) {
			fail("%s: mapped byte %d differs", what, k);
			break;
		}
	/* through the path, so through the file the mapping must share */
	c = 0x99;
	int fd = open(o->path, O_RDWR);

	if (fd < 0 || pwrite(fd, &c, 1, 77) != 1)
		fail("%s: pwrite: %s", what, strerror(errno));
	else
		CHECK(o->map[77] == 0x99, "%s: a write to the file does not show in the mapping",
		      what);
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	char name[64], mnt[512], *privmap;
	struct obj o[2];
	struct stat st;
	int wfd;

	snprintf(name, sizeof(name), "/shm-%s", test_uniq());
	snprintf(mnt, sizeof(mnt), "%s", test_path("tmpfs"));
	if (mkdir(mnt, 0755) || mount("zdtm", mnt, "tmpfs", 0, "size=1m"))
		test_fatal("mount tmpfs");
	{
		static char p0[128];

		snprintf(p0, sizeof(p0), "/dev/shm%s", name);
		o[0].path = p0;
	}
	o[1].path = strdup(test_path("tmpfs/file"));
	o[0].fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	wfd = open(o[1].path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (o[0].fd < 0 || wfd < 0 || ftruncate(o[0].fd, 2 * ps) || ftruncate(wfd, 2 * ps))
		test_fatal("create");
	o[0].map = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, o[0].fd, 0);
	for (int k = 0; k < 2 * ps; k++)
		o[0].map[k] = (uint8_t)(k + 9);
	for (int k = 0; k < 2 * ps; k++)
		if (pwrite(wfd, &(uint8_t){(uint8_t)(k + 9)}, 1, k) != 1)
			test_fatal("pwrite");
	close(wfd);
	o[1].fd = open(o[1].path, O_RDONLY);
	o[1].map = mmap(NULL, 2 * ps, PROT_READ, MAP_SHARED, o[1].fd, 0);
	privmap = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, o[1].fd, ps);
	if (o[1].fd < 0 || o[0].map == MAP_FAILED || o[1].map == MAP_FAILED ||
	    privmap == MAP_FAILED)
		test_fatal("open/mmap");
	privmap[0] = 0x55;
	lseek(o[0].fd, 123, SEEK_SET);
	lseek(o[1].fd, 4000, SEEK_SET);
	for (int i = 0; i < 2; i++) {
		o[i].off = lseek(o[i].fd, 0, SEEK_CUR);
		o[i].flags = fcntl(o[i].fd, F_GETFL);
		fstat(o[i].fd, &st);
		o[i].ino = st.st_ino;
	}
	test_ready();
	test_wait_go();

	check(&o[0], ps, "/dev/shm object");
	o[0].map[5] = 0x42;
	{
		uint8_t c = 0;

		CHECK(pread(o[0].fd, &c, 1, 5) == 1 && c == 0x42,
		      "/dev/shm: a write to the mapping is not in the file");
	}
	check(&o[1], ps, "tmpfs file");
	CHECK(privmap[0] == 0x55 && privmap[1] == (uint8_t)(ps + 1 + 9),
	      "private tmpfs mapping: %#x %#x", privmap[0], privmap[1]);
	shm_unlink(name);
	test_done();
}
