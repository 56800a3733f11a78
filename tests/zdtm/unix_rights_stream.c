/*
 * unix_rights_stream: a stream socketpair whose queue holds five writes, two
 * with fds in flight (SCM_RIGHTS) of regular files the sender has closed
 * since (in flight only): "aaaa", "bbbb" + A, "cccc", "dd" + B and A again
 * (a second fd of A's open file), "eeee". A is open read-write at offset 3,
 * B read-only and O_NONBLOCK at offset 7. The other way, "back" + C (open
 * O_APPEND, also held by the task at another fd).
 * Checks after the restart: the reads come out where the kernel cuts them (a
 * read ends after a write with fds, which came whole): "aaaabbbb" with A,
 * "ccccdd" with B and A, "eeee" with none, then nothing; each fd is its file
 * (inode), with its flags, at its offset, and reads what follows there; A's
 * two fds share one open file (kcmp) and so their offset; C is the task's
 * own open file; the pair still carries data and fds.
 * Skip proof: file:unix.
 */
#include "unix_rights.h"

static void check_a(int fd, ino_t ino, off_t off, const char *next, const char *who)
{
	CHECK(inode_of(fd) == ino, "%s: another file", who);
	CHECK((fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == O_RDWR, "%s: flags %#x", who,
	      fcntl(fd, F_GETFL));
	CHECK(lseek(fd, 0, SEEK_CUR) == off, "%s: offset %lld, want %lld", who,
	      (long long)lseek(fd, 0, SEEK_CUR), (long long)off);
	CHECK(reads(fd, next), "%s: does not read %s", who, next);
}

int main(void)
{
	int sp[2], a, b, c, fds[MAX_RIGHTS], n, two[2];
	ino_t ia, ib;
	char buf[64];
	ssize_t r;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
		test_fatal("socketpair");
	a = open_text("a", "0123456789", O_RDWR, 3);
	b = open_text("b", "abcdefghij", O_RDONLY | O_NONBLOCK, 7);
	c = open_text("c", "C", O_WRONLY | O_APPEND, 0);
	ia = inode_of(a);
	ib = inode_of(b);
	send_fds(sp[0], "aaaa", 4, NULL, 0);
	send_fds(sp[0], "bbbb", 4, &a, 1);
	send_fds(sp[0], "cccc", 4, NULL, 0);
	two[0] = b;
	two[1] = a;
	send_fds(sp[0], "dd", 2, two, 2);
	send_fds(sp[0], "eeee", 4, NULL, 0);
	send_fds(sp[1], "back", 4, &c, 1);
	close(a);
	close(b);
	test_ready();
	test_wait_go();

	r = recv_fds(sp[1], buf, sizeof(buf), fds, &n);
	CHECK(r == 8 && !memcmp(buf, "aaaabbbb", 8) && n == 1,
	      "read 1: %zd bytes (want 8: aaaabbbb), %d fds (want 1)", r, n);
	if (n == 1) {
		a = fds[0];
		check_a(a, ia, 3, "345", "A");
	}
	r = recv_fds(sp[1], buf, sizeof(buf), fds, &n);
	CHECK(r == 6 && !memcmp(buf, "ccccdd", 6) && n == 2,
	      "read 2: %zd bytes (want 6: ccccdd), %d fds (want 2)", r, n);
	if (n == 2) {
		CHECK(inode_of(fds[0]) == ib, "B: another file");
		CHECK((fcntl(fds[0], F_GETFL) & (O_ACCMODE | O_NONBLOCK)) ==
			      (O_RDONLY | O_NONBLOCK),
		      "B: flags %#x", fcntl(fds[0], F_GETFL));
		CHECK(lseek(fds[0], 0, SEEK_CUR) == 7 && reads(fds[0], "hij"),
		      "B: not at offset 7 or not reading hij");
		CHECK(same_file(fds[1], a), "A's two fds are not one open file");
		check_a(fds[1], ia, 6, "6", "A's second fd");
	}
	r = recv_fds(sp[1], buf, sizeof(buf), fds, &n);
	CHECK(r == 4 && !memcmp(buf, "eeee", 4) && n == 0,
	      "read 3: %zd bytes (want 4: eeee), %d fds (want 0)", r, n);
	r = recv_fds(sp[1], buf, sizeof(buf), fds, &n);
	CHECK(r < 0 && errno == EAGAIN, "read 4: %zd bytes more", r);

	r = recv_fds(sp[0], buf, sizeof(buf), fds, &n);
	CHECK(r == 4 && !memcmp(buf, "back", 4) && n == 1, "back: %zd bytes, %d fds", r, n);
	if (n == 1) {
		CHECK(same_file(fds[0], c), "C is not the task's own open file");
		CHECK(write(fds[0], "x", 1) == 1 && lseek(c, 0, SEEK_CUR) == 2,
		      "C does not append where the task's fd does");
	}

	send_fds(sp[0], "new", 3, &c, 1);
	r = recv_fds(sp[1], buf, sizeof(buf), fds, &n);
	CHECK(r == 3 && n == 1 && same_file(fds[0], c), "the pair no longer carries fds");
	test_done();
}
