/*
 * refuse_lock: one kind of file lock or lease, chosen by argv[1]:
 *   flock   a flock() lock held by a child process;
 *   posix   a POSIX (fcntl F_SETLK) write lock on bytes 0-99, main process;
 *   ofd     an open file description lock (F_OFD_SETLK), main process;
 *   lease   a read lease (F_SETLEASE F_RDLCK) held by a child.
 * cr checkpoint must refuse the tree (exit 3), naming the task and the fd,
 * write nothing and leave the tree running.
 * Checks (without a restart): the lock or lease is still held after the
 * refusal (a conflicting flock/F_GETLK/F_OFD_GETLK from another open file
 * description sees it; F_GETLEASE reads it back).
 * Skip proof: none (refused).
 */
#include "zdtm.h"

#include <sys/file.h>

static struct flock range(short type)
{
	return (struct flock){.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100};
}

/* Take the lock on @fd; called in the task that must hold it. */
static void take(const char *kind, int fd)
{
	struct flock fl = range(F_WRLCK);
	int r = -1;

	if (!strcmp(kind, "flock"))
		r = flock(fd, LOCK_EX);
	else if (!strcmp(kind, "posix"))
		r = fcntl(fd, F_SETLK, &fl);
	else if (!strcmp(kind, "ofd"))
		r = fcntl(fd, F_OFD_SETLK, &fl);
	else if (!strcmp(kind, "lease"))
		r = fcntl(fd, F_SETLEASE, F_RDLCK);
	if (r)
		test_fatal("lock %s", kind);
	dprintf(1, "EXPECT: Task %d fd %d (%s) holds a file lock or lease\n", getpid(), fd,
		test_path("locked"));
}

/* Is it still held? Checked from a new open file description. */
static void check(const char *kind, pid_t holder, int fd)
{
	int other = open(test_path("locked"), O_RDONLY);
	struct flock fl = range(F_WRLCK);

	if (!strcmp(kind, "flock"))
		CHECK(flock(other, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK,
		      "the flock() lock is gone");
	else if (!strcmp(kind, "posix")) /* F_GETLK would not see our own lock */
		CHECK(fcntl(other, F_OFD_GETLK, &fl) == 0 && fl.l_type == F_WRLCK &&
			      fl.l_pid == holder,
		      "the POSIX lock is gone");
	else if (!strcmp(kind, "ofd"))
		CHECK(fcntl(other, F_OFD_GETLK, &fl) == 0 && fl.l_type == F_WRLCK,
		      "the OFD lock is gone");
	else
		CHECK(fcntl(fd, F_GETLEASE) == F_RDLCK, "the lease is gone");
	close(other);
}

int main(int argc, char **argv)
{
	const char *kind = argc > 1 ? argv[1] : "flock";
	bool in_child = !strcmp(kind, "flock") || !strcmp(kind, "lease");
	volatile int *checked;
	struct barrier b;
	pid_t pid = 0;
	int fd;

	checked = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (checked == MAP_FAILED)
		test_fatal("mmap");
	fd = open(test_path("locked"), O_CREAT | (strcmp(kind, "lease") ? O_RDWR : O_RDONLY), 0644);
	if (fd < 0)
		test_fatal("open");
	barrier_init(&b);
	if (in_child) {
		pid = fork();
		if (pid < 0)
			test_fatal("fork");
		if (!pid) {
			take(kind, fd);
			barrier_signal(&b);
			test_wait_go();
			if (!strcmp(kind, "lease"))
				check(kind, getpid(), fd);
			/* hold the lock until the parent has looked */
			for (uint64_t end = now_ms() + 3000; !*checked && now_ms() < end;)
				msleep(1);
			test_child_done();
		}
		close(fd); /* the child's alone */
		barrier_wait(&b, 1);
	} else {
		take(kind, fd);
	}
	test_ready();
	test_wait_go();
	if (strcmp(kind, "lease"))
		check(kind, in_child ? pid : getpid(), fd);
	*checked = 1;
	if (pid)
		reap_child(pid, "child");
	test_done();
}
