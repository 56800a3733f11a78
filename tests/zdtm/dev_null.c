/*
 * dev_null: character devices that hold no state: /dev/null open O_RDWR,
 * /dev/zero open O_RDONLY at fd 40 and mapped private (with data written),
 * /dev/urandom open O_RDONLY | O_NONBLOCK | O_CLOEXEC, /dev/full O_WRONLY.
 * Checks: after the restart each fd is the same device (st_rdev), with its
 * flags and close-on-exec; /dev/null reads EOF and swallows writes,
 * /dev/zero reads zeros, /dev/urandom reads bytes, /dev/full fails writes
 * with ENOSPC; the private /dev/zero mapping keeps its data.
 * Skip proof: fds.
 */
#include "zdtm.h"

#include <sys/sysmacros.h>

static const struct {
	const char *path;
	int flags, fd;
} spec[] = {
	{"/dev/null", O_RDWR, -1},
	{"/dev/zero", O_RDONLY, 40},
	{"/dev/urandom", O_RDONLY | O_NONBLOCK | O_CLOEXEC, -1},
	{"/dev/full", O_WRONLY, -1},
};

int main(void)
{
	int n = ARRAY_SIZE(spec), fd[ARRAY_SIZE(spec)], fl[ARRAY_SIZE(spec)];
	int fdfl[ARRAY_SIZE(spec)];
	dev_t rdev[ARRAY_SIZE(spec)];
	uint8_t buf[64], *zmap;
	struct stat st;

	for (int i = 0; i < n; i++) {
		fd[i] = open(spec[i].path, spec[i].flags);
		if (fd[i] < 0)
			test_fatal("open %s", spec[i].path);
		if (spec[i].fd >= 0) {
			dup2(fd[i], spec[i].fd);
			close(fd[i]);
			fd[i] = spec[i].fd;
		}
		fstat(fd[i], &st);
		rdev[i] = st.st_rdev;
		fl[i] = fcntl(fd[i], F_GETFL);
		fdfl[i] = fcntl(fd[i], F_GETFD);
	}
	zmap = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd[1], 0);
	if (zmap == MAP_FAILED)
		test_fatal("mmap /dev/zero");
	memset(zmap + 4096, 0x5a, 4096);
	test_ready();
	test_wait_go();

	for (int i = 0; i < n; i++) {
		if (fstat(fd[i], &st)) {
			fail("%s: fd %d is closed", spec[i].path, fd[i]);
			continue;
		}
		CHECK(S_ISCHR(st.st_mode) && st.st_rdev == rdev[i], "%s: fd %d is device %u:%u",
		      spec[i].path, fd[i], major(st.st_rdev), minor(st.st_rdev));
		CHECK(fcntl(fd[i], F_GETFL) == fl[i], "%s: flags %#x, were %#x", spec[i].path,
		      fcntl(fd[i], F_GETFL), fl[i]);
		CHECK(fcntl(fd[i], F_GETFD) == fdfl[i], "%s: close-on-exec differs", spec[i].path);
	}
	CHECK(read(fd[0], buf, 10) == 0 && write(fd[0], buf, 10) == 10, "/dev/null misbehaves");
	memset(buf, 1, sizeof(buf));
	CHECK(read(fd[1], buf, 64) == 64 && buf[0] == 0 && buf[63] == 0, "/dev/zero misbehaves");
	CHECK(read(fd[2], buf, 16) == 16, "/dev/urandom misbehaves");
	CHECK(write(fd[3], buf, 1) == -1 && errno == ENOSPC, "/dev/full misbehaves");
	CHECK(zmap[0] == 0 && zmap[4095] == 0 && zmap[4096] == 0x5a && zmap[8191] == 0x5a,
	      "the /dev/zero mapping's data differ");
	test_done();
}
