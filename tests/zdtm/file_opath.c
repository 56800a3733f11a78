/*
 * file_opath: O_PATH descriptors: one of a regular file, one of a
 * directory (O_PATH | O_DIRECTORY), one of a FIFO, one close-on-exec.
 * Checks: after the restart each is still an O_PATH fd (F_GETFL) of the
 * same inode, can't be read (EBADF), works as a dirfd (openat) or for
 * fstat, and keeps its close-on-exec flag.
 * Skip proof: fds.
 */
#include "zdtm.h"

int main(void)
{
	const char *names[] = {"opath.file", "opath.dir", "opath.fifo", "opath.cloexec"};
	int fd[4], fl[4], fdfl[4];
	ino_t ino[4];
	struct stat st;
	char c;

	if (close(open(test_path(names[0]), O_CREAT | O_WRONLY, 0644)) ||
	    mkdir(test_path(names[1]), 0755) || mkfifo(test_path(names[2]), 0644) ||
	    close(open(test_path(names[3]), O_CREAT | O_WRONLY, 0600)) ||
	    close(open(test_path("opath.dir/inside"), O_CREAT | O_WRONLY, 0644)))
		test_fatal("create");
	fd[0] = open(test_path(names[0]), O_PATH);
	fd[1] = open(test_path(names[1]), O_PATH | O_DIRECTORY);
	fd[2] = open(test_path(names[2]), O_PATH);
	fd[3] = open(test_path(names[3]), O_PATH | O_CLOEXEC);
	for (int i = 0; i < 4; i++) {
		if (fd[i] < 0 || fstat(fd[i], &st))
			test_fatal("open %s", names[i]);
		ino[i] = st.st_ino;
		fl[i] = fcntl(fd[i], F_GETFL);
		fdfl[i] = fcntl(fd[i], F_GETFD);
	}
	test_ready();
	test_wait_go();

	for (int i = 0; i < 4; i++) {
		CHECK(!fstat(fd[i], &st) && st.st_ino == ino[i], "%s: fd %d is another file",
		      names[i], fd[i]);
		CHECK(fcntl(fd[i], F_GETFL) == fl[i], "%s: flags %#x, were %#x", names[i],
		      fcntl(fd[i], F_GETFL), fl[i]);
		CHECK(fcntl(fd[i], F_GETFD) == fdfl[i], "%s: close-on-exec differs", names[i]);
		CHECK(read(fd[i], &c, 1) == -1 && errno == EBADF, "%s: readable: not O_PATH",
		      names[i]);
	}
	CHECK(faccessat(fd[1], "inside", F_OK, 0) == 0, "the O_PATH directory is no dirfd");
	test_done();
}
