/*
 * fifo: named pipes (mkfifo) with data queued: one open O_RDWR holding 3000
 * bytes; one open by two fds (a O_RDONLY | O_NONBLOCK reader and a
 * O_WRONLY writer) holding 100 bytes, its reader in a child process.
 * Checks: after the restart each fd is still the FIFO at its path (same
 * inode, S_ISFIFO), with its flags; the queued bytes come out in order and
 * nothing more (EAGAIN after); data written after the restart passes from
 * the writer to the child's reader.
 * Skip proof: fds.
 */
#include "zdtm.h"

static void fill(uint8_t *b, int n, int seed)
{
	for (int k = 0; k < n; k++)
		b[k] = (uint8_t)(k * 3 + seed);
}

static void check_fifo(int fd, const char *path, int n, int seed, const char *what)
{
	uint8_t want[4096], got[4096];
	struct stat st, pst;
	int fl = fcntl(fd, F_GETFL);

	if (fstat(fd, &st) || stat(path, &pst) || !S_ISFIFO(st.st_mode) ||
	    st.st_ino != pst.st_ino) {
		fail("%s: fd is not the FIFO at %s", what, path);
		return;
	}
	fill(want, n, seed);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	CHECK(read(fd, got, sizeof(got)) == n && !memcmp(got, want, n), "%s: queued data differ",
	      what);
	CHECK(read(fd, got, 1) == -1 && errno == EAGAIN, "%s: more data than queued", what);
	fcntl(fd, F_SETFL, fl);
}

static volatile int *drained;

int main(void)
{
	const char *p1 = strdup(test_path("fifo1")), *p2 = strdup(test_path("fifo2"));
	int rw, rd, wr, fl_rw, fl_rd, fl_wr;
	uint8_t buf[4096];
	struct barrier b;
	pid_t pid;

	drained = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (drained == MAP_FAILED || mkfifo(p1, 0600) || mkfifo(p2, 0644))
		test_fatal("mkfifo");
	rw = open(p1, O_RDWR);
	rd = open(p2, O_RDONLY | O_NONBLOCK);
	wr = open(p2, O_WRONLY);
	if (rw < 0 || rd < 0 || wr < 0)
		test_fatal("open");
	fill(buf, 3000, 1);
	if (write(rw, buf, 3000) != 3000)
		test_fatal("write");
	fill(buf, 100, 2);
	if (write(wr, buf, 100) != 100)
		test_fatal("write");
	fl_rw = fcntl(rw, F_GETFL);
	fl_rd = fcntl(rd, F_GETFL);
	fl_wr = fcntl(wr, F_GETFL);
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		close(rw);
		close(wr);
		barrier_signal(&b);
		test_wait_go();
		CHECK(fcntl(rd, F_GETFL) == fl_rd, "reader flags %#x, were %#x", fcntl(rd, F_GETFL),
		      fl_rd);
		check_fifo(rd, p2, 100, 2, "child's reader");
		*drained = 1;
		fcntl(rd, F_SETFL, fl_rd & ~O_NONBLOCK);
		CHECK(read(rd, buf, 5) == 5 && !memcmp(buf, "after", 5),
		      "data written after the restart did not arrive");
		test_child_done();
	}
	close(rd);
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();

	CHECK(fcntl(rw, F_GETFL) == fl_rw, "O_RDWR fd flags %#x, were %#x", fcntl(rw, F_GETFL),
	      fl_rw);
	CHECK(fcntl(wr, F_GETFL) == fl_wr, "writer flags %#x, were %#x", fcntl(wr, F_GETFL), fl_wr);
	check_fifo(rw, p1, 3000, 1, "O_RDWR fifo");
	for (uint64_t end = now_ms() + 3000; !*drained && now_ms() < end;)
		msleep(1); /* until the child has read the queued bytes */
	CHECK(write(wr, "after", 5) == 5, "write after the restart: %s", strerror(errno));
	reap_child(pid, "child");
	test_done();
}
