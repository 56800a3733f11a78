/*
 * file_lock_posix: POSIX (fcntl F_SETLK) byte-range locks of two processes
 * on one file, several ranges each, and a whole-file lock through a dup'ed
 * fd on another file.
 *   parent: write 0-99, read 200-299, write 1000-EOF; on g: write, all of it
 *   child:  read 200-299 (shared with the parent's), write 500-599, read 700-709
 * Checks, from an open file of its own (F_OFD_GETLK sees every POSIX lock):
 * each range's type, start, length and owner pid exactly; the gaps and the
 * bytes just outside each range free. Owners: F_GETLK in each process sees
 * its own locks as free and the other's as held; the parent unlocking
 * 200-299 leaves the child's read lock there; unlocking all of its own
 * leaves the child's.
 * Skip proof: locks.
 */
#include "zdtm.h"

/* What F_OFD_GETLK (or F_GETLK) from @fd says of a @type lock on [@start, +@len). */
static struct flock getlk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};

	if (fcntl(fd, cmd, &fl))
		test_fatal("F_GETLK %lld+%lld", (long long)start, (long long)len);
	return fl;
}

/* A @type probe of [@start, +@len) from @fd meets exactly the lock given, or none (F_UNLCK). */
static void expect(int fd, int cmd, short type, off_t start, off_t len, short want, off_t wstart,
		   off_t wlen, pid_t wpid)
{
	struct flock fl = getlk(fd, cmd, type, start, len);

	if (want == F_UNLCK) {
		CHECK(fl.l_type == F_UNLCK,
		      "probe %lld+%lld: a lock %d %lld+%lld of pid %d, none expected",
		      (long long)start, (long long)len, fl.l_type, (long long)fl.l_start,
		      (long long)fl.l_len, fl.l_pid);
		return;
	}
	CHECK(fl.l_type == want && fl.l_start == wstart && fl.l_len == wlen && fl.l_pid == wpid,
	      "probe %lld+%lld: lock %d %lld+%lld of pid %d, not %d %lld+%lld of pid %d",
	      (long long)start, (long long)len, fl.l_type, (long long)fl.l_start,
	      (long long)fl.l_len, fl.l_pid, want, (long long)wstart, (long long)wlen, wpid);
}

static void setlk(int fd, short type, off_t start, off_t len)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};

	if (fcntl(fd, F_SETLK, &fl))
		test_fatal("F_SETLK %d %lld+%lld", type, (long long)start, (long long)len);
}

static int xopen(const char *name)
{
	int fd = open(test_path(name), O_RDWR | O_CREAT, 0644);

	if (fd < 0)
		test_fatal("open %s", name);
	return fd;
}

static void step(int fd)
{
	if (write(fd, "x", 1) != 1)
		test_fatal("write");
}

static void await(int fd)
{
	char c;

	if (read(fd, &c, 1) != 1)
		test_fatal("read");
}

/*
 * Every lock of both, exactly, seen from open files of our own (@o on f, @g
 * on g), which stay open: closing them would drop our POSIX locks.
 */
static void check_all(int o, int g, pid_t parent, pid_t child)
{

	expect(o, F_OFD_GETLK, F_WRLCK, 0, 100, F_WRLCK, 0, 100, parent);
	expect(o, F_OFD_GETLK, F_WRLCK, 99, 1, F_WRLCK, 0, 100, parent);
	expect(o, F_OFD_GETLK, F_WRLCK, 100, 100, F_UNLCK, 0, 0, 0);
	expect(o, F_OFD_GETLK, F_RDLCK, 200, 100, F_UNLCK, 0, 0, 0);
	expect(o, F_OFD_GETLK, F_WRLCK, 300, 200, F_UNLCK, 0, 0, 0);
	expect(o, F_OFD_GETLK, F_WRLCK, 500, 100, F_WRLCK, 500, 100, child);
	expect(o, F_OFD_GETLK, F_WRLCK, 600, 100, F_UNLCK, 0, 0, 0);
	expect(o, F_OFD_GETLK, F_WRLCK, 700, 10, F_RDLCK, 700, 10, child);
	expect(o, F_OFD_GETLK, F_RDLCK, 700, 10, F_UNLCK, 0, 0, 0);
	expect(o, F_OFD_GETLK, F_WRLCK, 710, 290, F_UNLCK, 0, 0, 0);
	expect(o, F_OFD_GETLK, F_RDLCK, 1000, 1, F_WRLCK, 1000, 0, parent);
	expect(o, F_OFD_GETLK, F_RDLCK, 1 << 30, 1, F_WRLCK, 1000, 0, parent);
	expect(g, F_OFD_GETLK, F_RDLCK, 0, 0, F_WRLCK, 0, 0, parent);
}

int main(void)
{
	int f = xopen("f"), g = xopen("g"), g2 = dup(g), to_child[2], to_parent[2];
	int o = xopen("f"), og = xopen("g");
	pid_t parent = getpid(), child;

	if (g2 < 0 || pipe(to_child) || pipe(to_parent))
		test_fatal("dup or pipe");
	setlk(f, F_WRLCK, 0, 100);
	setlk(f, F_RDLCK, 200, 100);
	setlk(f, F_WRLCK, 1000, 0);
	setlk(g2, F_WRLCK, 0, 0);
	child = fork();
	if (child < 0)
		test_fatal("fork");
	if (!child) {
		int cf = xopen("f");

		child = getpid();
		setlk(cf, F_RDLCK, 200, 100);
		setlk(cf, F_WRLCK, 500, 100);
		setlk(cf, F_RDLCK, 700, 10);
		step(to_parent[1]);
		test_wait_go();
		await(to_child[0]);
		/* its own locks are free to it, the parent's are not */
		expect(cf, F_GETLK, F_WRLCK, 500, 100, F_UNLCK, 0, 0, 0);
		expect(cf, F_GETLK, F_WRLCK, 0, 100, F_WRLCK, 0, 100, parent);
		step(to_parent[1]);
		await(to_child[0]); /* its locks go when it exits: not before the parent looked */
		test_child_done();
	}
	await(to_parent[0]);
	test_ready();
	test_wait_go();

	check_all(o, og, parent, child);
	expect(f, F_GETLK, F_WRLCK, 0, 100, F_UNLCK, 0, 0, 0);
	expect(f, F_GETLK, F_WRLCK, 500, 100, F_WRLCK, 500, 100, child);
	step(to_child[1]);
	await(to_parent[0]);
	/* the parent lets go of 200-299: the child's read lock stays */
	setlk(f, F_UNLCK, 200, 100);
	expect(o, F_OFD_GETLK, F_WRLCK, 200, 100, F_RDLCK, 200, 100, child);
	setlk(f, F_UNLCK, 0, 0);
	expect(o, F_OFD_GETLK, F_WRLCK, 0, 200, F_UNLCK, 0, 0, 0);
	expect(o, F_OFD_GETLK, F_WRLCK, 300, 200, F_UNLCK, 0, 0, 0);
	expect(o, F_OFD_GETLK, F_WRLCK, 1000, 0, F_UNLCK, 0, 0, 0);
	expect(o, F_OFD_GETLK, F_WRLCK, 500, 100, F_WRLCK, 500, 100, child);
	step(to_child[1]);
	reap_child(child, "child");
	test_done();
}
