/*
 * unix_rights_max: one datagram carrying 253 fds in flight (SCM_MAX_FD, the
 * most a message carries), each its own open file of one regular file at
 * offset i (the i-th fd), all closed by the sender since; then a stream
 * write with 253 fds of the same open file (dup) and a second datagram.
 * Checks after the restart: the datagram comes with 253 fds, in order, fd i
 * at offset i, 253 open files; the stream write comes with 253 fds, all one
 * open file; the second datagram has none.
 * Skip proof: file:unix.
 */
#include "unix_rights.h"

int main(void)
{
	static int fds[MAX_RIGHTS], got[MAX_RIGHTS];
	int dg[2], st[2], n, f;
	char buf[64], text[MAX_RIGHTS + 2];
	ino_t ino;
	ssize_t r;
	bool ok = true;

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) || socketpair(AF_UNIX, SOCK_STREAM, 0, st))
		test_fatal("socketpair");
	for (int i = 0; i < MAX_RIGHTS + 1; i++)
		text[i] = (char)('!' + i % 90);
	text[MAX_RIGHTS + 1] = 0;
	fds[0] = open_text("f", text, O_RDONLY, 0);
	for (int i = 1; i < MAX_RIGHTS; i++)
		if ((fds[i] = open(test_path("f"), O_RDONLY)) < 0 ||
		    lseek(fds[i], i, SEEK_SET) != i)
			test_fatal("open f");
	ino = inode_of(fds[0]);
	send_fds(dg[0], "max", 3, fds, MAX_RIGHTS);
	for (int i = 0; i < MAX_RIGHTS; i++)
		close(fds[i]);
	f = open_text("g", "g", O_RDONLY, 0);
	for (int i = 0; i < MAX_RIGHTS; i++)
		fds[i] = i ? dup(f) : f;
	send_fds(st[0], "dups", 4, fds, MAX_RIGHTS);
	for (int i = 0; i < MAX_RIGHTS; i++)
		close(fds[i]);
	send_fds(dg[0], "none", 4, NULL, 0);
	test_ready();
	test_wait_go();

	r = recv_fds(dg[1], buf, sizeof(buf), got, &n);
	CHECK(r == 3 && !memcmp(buf, "max", 3) && n == MAX_RIGHTS, "1: %zd bytes, %d fds (want %d)",
	      r, n, MAX_RIGHTS);
	for (int i = 0; i < n && ok; i++) {
		char want[2] = {text[i], 0};

		ok = inode_of(got[i]) == ino && lseek(got[i], 0, SEEK_CUR) == i &&
		     reads(got[i], want) && (i == 0 || !same_file(got[i], got[i - 1]));
		CHECK(ok, "fd %d of 253 is not its file at offset %d", i, i);
	}
	r = recv_fds(st[1], buf, sizeof(buf), got, &n);
	CHECK(r == 4 && !memcmp(buf, "dups", 4) && n == MAX_RIGHTS,
	      "2: %zd bytes, %d fds (want %d)", r, n, MAX_RIGHTS);
	for (int i = 1; i < n; i++)
		CHECK(same_file(got[i], got[0]), "dup %d is another open file", i);
	r = recv_fds(dg[1], buf, sizeof(buf), got, &n);
	CHECK(r == 4 && !memcmp(buf, "none", 4) && n == 0, "3: %zd bytes, %d fds", r, n);
	test_done();
}
