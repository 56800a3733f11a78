/*
 * file_shared: open file descriptions shared by several fds: a file open
 * once and dup()ed (fd 3 style), dup2()ed to fd 50 and F_DUPFD_CLOEXEC'ed
 * (so one description, close-on-exec on one fd only), shared with a child
 * process by fork, and a second open() of the same file (its own
 * description).
 * Checks: after the restart the dup'ed fds still share one offset (a
 * read on one moves the others), the close-on-exec flag is per fd, the
 * child's lseek moves the parent's offset too, and the separate open()
 * keeps its own offset.
 * Skip proof: fds.
 */
#include "zdtm.h"

struct sync {
	volatile int parent_checked, child_seeked;
};

int main(void)
{
	const char *path = test_path("shared.data");
	int fd, fd2, fd50, fdc, other;
	struct sync *s;
	struct barrier b;
	char buf[16];
	pid_t pid;

	s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (s == MAP_FAILED || fd < 0 ||
	    write(fd, "0123456789abcdefghijklmnopqrstuvwxyz", 36) != 36)
		test_fatal("create");
	fd2 = dup(fd);
	fd50 = dup2(fd, 50);
	fdc = fcntl(fd, F_DUPFD_CLOEXEC, 60);
	other = open(path, O_RDONLY);
	if (fd2 < 0 || fd50 != 50 || fdc < 60 || other < 0)
		test_fatal("dup");
	lseek(fd, 5, SEEK_SET);
	lseek(other, 20, SEEK_SET);
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		barrier_signal(&b);
		test_wait_go();
		for (uint64_t end = now_ms() + 3000; !s->parent_checked && now_ms() < end;)
			msleep(1);
		lseek(fd50, 30, SEEK_SET);
		s->child_seeked = 1;
		test_child_done();
	}
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();

	CHECK(lseek(fd2, 0, SEEK_CUR) == 5, "dup'ed fd offset %ld", (long)lseek(fd2, 0, SEEK_CUR));
	CHECK(read(fd2, buf, 3) == 3 && !memcmp(buf, "567", 3),
	      "read at offset 5 gives other data");
	CHECK(lseek(fd, 0, SEEK_CUR) == 8 && lseek(fd50, 0, SEEK_CUR) == 8 &&
		      lseek(fdc, 0, SEEK_CUR) == 8,
	      "a read on one dup does not move the others' offset (%ld %ld %ld)",
	      (long)lseek(fd, 0, SEEK_CUR), (long)lseek(fd50, 0, SEEK_CUR),
	      (long)lseek(fdc, 0, SEEK_CUR));
	CHECK(fcntl(fdc, F_GETFD) == FD_CLOEXEC && fcntl(fd, F_GETFD) == 0 &&
		      fcntl(fd50, F_GETFD) == 0,
	      "close-on-exec flags differ");
	CHECK(lseek(other, 0, SEEK_CUR) == 20, "the separate open's offset is %ld",
	      (long)lseek(other, 0, SEEK_CUR));
	s->parent_checked = 1;
	for (uint64_t end = now_ms() + 3000; !s->child_seeked && now_ms() < end;)
		msleep(1);
	CHECK(lseek(fd, 0, SEEK_CUR) == 30,
	      "the child's lseek did not move the parent's offset (%ld)",
	      (long)lseek(fd, 0, SEEK_CUR));
	CHECK(lseek(other, 0, SEEK_CUR) == 20, "the child's lseek moved a separate open");
	reap_child(pid, "child");
	test_done();
}
