/*
 * refuse_lock: a lock the engine can't take back, chosen by argv[1]:
 *   lease   a read lease (F_SETLEASE F_RDLCK) held by a child: named with
 *           its task and fd;
 *   mapped  a flock() lock held by a child only through a shared mapping
 *           of the file (its fd closed): no fd shows it, named with its task.
 * (flock, POSIX and OFD locks held through fds are restored: file_lock_*.)
 * cr checkpoint must refuse the tree (exit 3), naming the task,
 * write nothing and leave the tree running.
 * Checks (without a restart): the lock or lease is still held after the
 * refusal (a conflicting flock/F_GETLK/F_OFD_GETLK from another open file
 * description sees it; F_GETLEASE reads it back).
 * Skip proof: none (refused).
 */
#include "zdtm.h"

#include <sys/file.h>

/* Take the lock on @fd; called in the task that must hold it. */
static void take(const char *kind, int fd)
{
	int r;

	if (!strcmp(kind, "lease")) {
		r = fcntl(fd, F_SETLEASE, F_RDLCK);
		dprintf(1, "EXPECT: Task %d fd %d (%s) holds a lease\n", getpid(), fd,
			test_path("locked"));
	} else {
		r = ftruncate(fd, 4096) || flock(fd, LOCK_EX) ||
		    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED ||
		    close(fd);
		dprintf(1, "EXPECT: Task %d holds FLOCK WRITE lock on file\n", getpid());
	}
	if (r)
		test_fatal("lock %s", kind);
}

/* Is it still held? Checked from a new open file description. */
static void check(const char *kind, int fd)
{
	int other = open(test_path("locked"), O_RDONLY);

	if (!strcmp(kind, "mapped"))
		CHECK(flock(other, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK,
		      "the flock() lock is gone");
	else
		CHECK(fcntl(fd, F_GETLEASE) == F_RDLCK, "the lease is gone");
	close(other);
}

int main(int argc, char **argv)
{
	const char *kind = argc > 1 ? argv[1] : "lease";
	volatile int *checked;
	struct barrier b;
	pid_t pid;
	int fd;

	checked = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (checked == MAP_FAILED)
		test_fatal("mmap");
	fd = open(test_path("locked"), O_CREAT | (strcmp(kind, "lease") ? O_RDWR : O_RDONLY), 0644);
	if (fd < 0)
		test_fatal("open");
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		take(kind, fd);
		barrier_signal(&b);
		test_wait_go();
		if (!strcmp(kind, "lease"))
			check(kind, fd);
		/* hold the lock until the parent has looked */
		for (uint64_t end = now_ms() + 3000; !*checked && now_ms() < end;)
			msleep(1);
		test_child_done();
	}
	close(fd); /* the child's alone */
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();
	if (strcmp(kind, "lease"))
		check(kind, fd);
	*checked = 1;
	if (pid)
		reap_child(pid, "child");
	test_done();
}
