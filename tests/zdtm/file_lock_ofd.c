/*
 * file_lock_ofd: open file description locks (F_OFD_SETLK).
 *   f1, opened by the parent and shared with the child by fork: write 0-9,
 *      read 100-EOF;
 *   f2, the child's own open of the file: read 100-199.
 * Checks, from a third open file: each lock's type, start and length exactly
 * (l_pid -1), the bytes just outside free. Owners: seen from f1 its own
 * locks are free and from f2 they are held; f2 unlocking 100-199 leaves
 * f1's read lock there; the child unlocking 0-9 through its copy of f1
 * frees it for everyone.
 * Skip proof: locks.
 */
#include "zdtm.h"

static void ofd(int fd, int cmd, struct flock *fl)
{
	if (fcntl(fd, cmd, fl))
		test_fatal("fcntl %d", cmd);
}

/* A @type probe of [@start, +@len) from @fd meets exactly the lock given, or none (F_UNLCK). */
static void expect(int fd, short type, off_t start, off_t len, short want, off_t wstart, off_t wlen)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};

	ofd(fd, F_OFD_GETLK, &fl);
	if (want == F_UNLCK)
		CHECK(fl.l_type == F_UNLCK, "probe %lld+%lld: a lock %d %lld+%lld, none expected",
		      (long long)start, (long long)len, fl.l_type, (long long)fl.l_start,
		      (long long)fl.l_len);
	else
		CHECK(fl.l_type == want && fl.l_start == wstart && fl.l_len == wlen &&
			      fl.l_pid == -1,
		      "probe %lld+%lld: lock %d %lld+%lld pid %d, not %d %lld+%lld pid -1",
		      (long long)start, (long long)len, fl.l_type, (long long)fl.l_start,
		      (long long)fl.l_len, fl.l_pid, want, (long long)wstart, (long long)wlen);
}

static void setlk(int fd, short type, off_t start, off_t len)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};

	ofd(fd, F_OFD_SETLK, &fl);
}

static int xopen(void)
{
	int fd = open(test_path("f"), O_RDWR | O_CREAT, 0644);

	if (fd < 0)
		test_fatal("open");
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

int main(void)
{
	int f1 = xopen(), to_child[2], to_parent[2], o;
	pid_t child;

	if (pipe(to_child) || pipe(to_parent))
		test_fatal("pipe");
	setlk(f1, F_WRLCK, 0, 10);
	setlk(f1, F_RDLCK, 100, 0);
	child = fork();
	if (child < 0)
		test_fatal("fork");
	if (!child) {
		int f2 = xopen();

		setlk(f2, F_RDLCK, 100, 100);
		step(to_parent[1]);
		test_wait_go();
		await(to_child[0]);
		expect(f2, F_WRLCK, 0, 10, F_WRLCK, 0, 10);
		setlk(f2, F_UNLCK, 100, 100);
		setlk(f1, F_UNLCK, 0, 10); /* through the copy of f1 it shares */
		step(to_parent[1]);
		test_child_done();
	}
	await(to_parent[0]);
	o = xopen();
	test_ready();
	test_wait_go();

	expect(o, F_WRLCK, 0, 10, F_WRLCK, 0, 10);
	expect(o, F_WRLCK, 9, 1, F_WRLCK, 0, 10);
	expect(o, F_WRLCK, 10, 90, F_UNLCK, 0, 0);
	expect(o, F_RDLCK, 100, 1000, F_UNLCK, 0, 0);
	expect(o, F_WRLCK, 300, 10, F_RDLCK, 100, 0);
	expect(o, F_WRLCK, 1 << 30, 1, F_RDLCK, 100, 0);
	expect(f1, F_WRLCK, 0, 10, F_UNLCK, 0, 0); /* its own */
	step(to_child[1]);
	await(to_parent[0]);
	expect(o, F_WRLCK, 0, 10, F_UNLCK, 0, 0);
	expect(o, F_WRLCK, 150, 10, F_RDLCK, 100, 0);
	setlk(f1, F_UNLCK, 100, 0);
	expect(o, F_WRLCK, 0, 0, F_UNLCK, 0, 0);
	reap_child(child, "child");
	test_done();
}
