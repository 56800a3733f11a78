/*
 * file_offset: regular files open in every way: O_RDONLY at offset 1234,
 * O_RDWR at 0 after a write, O_WRONLY | O_APPEND, O_RDWR | O_NONBLOCK |
 * O_NOATIME at the end of the file, O_RDONLY | O_CLOEXEC at a high fd
 * (100) past the end of the file, a directory (O_DIRECTORY) and files with
 * modes 0600, 0644 and 0755.
 * Checks: after the restart each fd number refers to the same inode, with
 * its offset, access mode and status flags (F_GETFL), close-on-exec flag
 * (F_GETFD) and file mode; an O_APPEND write lands at the end whatever the
 * offset; reads continue from the offset; readdir works on the directory.
 * Skip proof: fds.
 */
#include "zdtm.h"

#include <dirent.h>

struct spec {
	const char *name;
	int flags, fd, mode;
	off_t off;
};

static struct spec spec[] = {
	{"ro", O_RDONLY, -1, 0644, 1234},
	{"rw", O_RDWR, -1, 0600, -1},
	{"append", O_WRONLY | O_APPEND, -1, 0644, 0},
	{"nonblock", O_RDWR | O_NONBLOCK | O_NOATIME, -1, 0755, 4096},
	{"cloexec", O_RDONLY | O_CLOEXEC, 100, 0600, 9000},
};

struct state {
	int fl, fdfl;
	off_t off;
	ino_t ino;
	mode_t mode;
};

static void get(int fd, struct state *s)
{
	struct stat st;

	fstat(fd, &st);
	s->fl = fcntl(fd, F_GETFL);
	s->fdfl = fcntl(fd, F_GETFD);
	s->off = lseek(fd, 0, SEEK_CUR);
	s->ino = st.st_ino;
	s->mode = st.st_mode;
}

int main(void)
{
	struct state before[ARRAY_SIZE(spec) + 1], now;
	uint8_t data[4096], buf[8];
	int dfd, n = ARRAY_SIZE(spec);
	struct dirent *de;
	DIR *d;

	for (int k = 0; k < 4096; k++)
		data[k] = (uint8_t)(k * 7);
	umask(0);
	for (int i = 0; i < n; i++) {
		const char *p = test_path(spec[i].name);
		int fd = open(p, O_RDWR | O_CREAT | O_EXCL, spec[i].mode);

		if (fd < 0 || write(fd, data, 4096) != 4096)
			test_fatal("create %s", p);
		close(fd);
		fd = open(p, spec[i].flags);
		if (fd < 0)
			test_fatal("open %s", p);
		if (spec[i].fd >= 0) {
			if (dup3(fd, spec[i].fd, spec[i].flags & O_CLOEXEC) != spec[i].fd)
				test_fatal("dup3");
			close(fd);
			fd = spec[i].fd;
		}
		spec[i].fd = fd;
		if (spec[i].off >= 0)
			lseek(fd, spec[i].off, SEEK_SET);
		else if (write(fd, "abcdef", 6) != 6)
			test_fatal("write");
		get(fd, &before[i]);
	}
	dfd = open(test_dir(), O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		test_fatal("open dir");
	get(dfd, &before[n]);
	test_ready();
	test_wait_go();

	for (int i = 0; i <= n; i++) {
		int fd = i < n ? spec[i].fd : dfd;
		const char *name = i < n ? spec[i].name : "directory";

		get(fd, &now);
		CHECK(now.ino == before[i].ino, "%s: fd %d is inode %lu, was %lu", name, fd,
		      (unsigned long)now.ino, (unsigned long)before[i].ino);
		CHECK(now.fl == before[i].fl, "%s: F_GETFL %#x, was %#x", name, now.fl,
		      before[i].fl);
		CHECK(now.fdfl == before[i].fdfl, "%s: F_GETFD %#x, was %#x", name, now.fdfl,
		      before[i].fdfl);
		CHECK(now.off == before[i].off, "%s: offset %ld, was %ld", name, (long)now.off,
		      (long)before[i].off);
		CHECK(now.mode == before[i].mode, "%s: mode %o, was %o", name, now.mode,
		      before[i].mode);
	}
	CHECK(read(spec[0].fd, buf, 8) == 8 && !memcmp(buf, data + 1234, 8),
	      "read at the offset gives other data");
	lseek(spec[2].fd, 10, SEEK_SET);
	CHECK(write(spec[2].fd, "Z", 1) == 1, "append write failed");
	{
		int fd = open(test_path("append"), O_RDONLY);

		CHECK(fd >= 0 && pread(fd, buf, 2, 4095) == 2 && buf[1] == 'Z' &&
			      buf[0] == data[4095],
		      "the O_APPEND write did not land at the end");
		close(fd);
	}
	CHECK(read(spec[4].fd, buf, 1) == 0, "read past the end is not EOF");
	d = fdopendir(dfd);
	n = 0;
	while (d && (de = readdir(d)))
		n += !strcmp(de->d_name, "ro") || !strcmp(de->d_name, "append");
	CHECK(n == 2, "readdir of the directory fd found %d of 2 files", n);
	test_done();
}
