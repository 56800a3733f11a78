/*
 * unix_rights_dgram: datagrams with fds in flight (SCM_RIGHTS), each closed
 * by the sender since (in flight only). On a socketpair: "one" with regular
 * files A (offset 3) and B, "two" with none, "three" with a second fd of
 * B's open file and an eventfd (counter 5), then an empty datagram with A
 * again. On an abstract-named socket, from a sender closed since: "named"
 * with A.
 * Checks after the restart: each datagram whole, in order, with its own fds
 * and no other: the files by inode and offset, B's and A's later fds the
 * same open files as their first ones (kcmp), the eventfd's counter; then
 * nothing more.
 * Skip proof: file:unix.
 */
#include "unix_rights.h"

#include <sys/eventfd.h>

int main(void)
{
	int sp[2], nsk, u, a, b, e, fds[MAX_RIGHTS], n, two[2], fa = -1, fb = -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t salen;
	uint64_t cnt = 0;
	ino_t ia, ib;
	char buf[64];
	ssize_t r;

	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "zdtm-rights-%s", test_uniq());
	salen = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa.sun_path + 1);
	nsk = socket(AF_UNIX, SOCK_DGRAM, 0);
	u = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sp) || nsk < 0 || u < 0 ||
	    bind(nsk, (struct sockaddr *)&sa, salen))
		test_fatal("sockets");
	a = open_text("a", "0123456789", O_RDWR, 3);
	b = open_text("b", "abcdefghij", O_RDONLY, 0);
	e = eventfd(5, EFD_NONBLOCK);
	ia = inode_of(a);
	ib = inode_of(b);
	two[0] = a;
	two[1] = b;
	send_fds(sp[0], "one", 3, two, 2);
	send_fds(sp[0], "two", 3, NULL, 0);
	two[0] = dup(b);
	two[1] = e;
	send_fds(sp[0], "three", 5, two, 2);
	send_fds(sp[0], "", 0, &a, 1);
	send_fds_to(u, "named", 5, &a, 1, &sa, salen);
	close(two[0]);
	close(a);
	close(b);
	close(e);
	close(u);
	test_ready();
	test_wait_go();

	r = recv_fds(sp[1], buf, sizeof(buf), fds, &n);
	CHECK(r == 3 && !memcmp(buf, "one", 3) && n == 2, "1: %zd bytes (want one), %d fds", r, n);
	if (n == 2) {
		fa = fds[0];
		fb = fds[1];
		CHECK(inode_of(fa) == ia && lseek(fa, 0, SEEK_CUR) == 3, "1: A is not A at 3");
		CHECK(inode_of(fb) == ib && reads(fb, "ab"), "1: B is not B");
	}
	r = recv_fds(sp[1], buf, sizeof(buf), fds, &n);
	CHECK(r == 3 && !memcmp(buf, "two", 3) && n == 0, "2: %zd bytes (want two), %d fds", r, n);
	r = recv_fds(sp[1], buf, sizeof(buf), fds, &n);
	CHECK(r == 5 && !memcmp(buf, "three", 5) && n == 2, "3: %zd bytes (want three), %d fds", r,
	      n);
	if (n == 2) {
		CHECK(fb >= 0 && same_file(fds[0], fb), "3: B's second fd is not B's open file");
		CHECK(read(fds[1], &cnt, sizeof(cnt)) == sizeof(cnt) && cnt == 5,
		      "3: the eventfd's counter is %llu, want 5", (unsigned long long)cnt);
	}
	r = recv_fds(sp[1], buf, sizeof(buf), fds, &n);
	CHECK(r == 0 && n == 1 && fa >= 0 && same_file(fds[0], fa),
	      "4: %zd bytes (want 0), %d fds (want A's open file)", r, n);
	r = recv_fds(sp[1], buf, sizeof(buf), fds, &n);
	CHECK(r < 0 && errno == EAGAIN, "5: %zd bytes more", r);

	r = recv_fds(nsk, buf, sizeof(buf), fds, &n);
	CHECK(r == 5 && !memcmp(buf, "named", 5) && n == 1 && fa >= 0 && same_file(fds[0], fa),
	      "named: %zd bytes (want named), %d fds (want A's open file)", r, n);
	r = recv_fds(nsk, buf, sizeof(buf), fds, &n);
	CHECK(r < 0 && errno == EAGAIN, "named: %zd bytes more", r);
	test_done();
}
