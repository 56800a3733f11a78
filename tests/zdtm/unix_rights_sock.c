/*
 * unix_rights_sock: a unix socket in flight (SCM_RIGHTS) with no fds in
 * flight of its own. End X0 of a stream pair (X0, X1), with data queued
 * both ways, is sent on another stream pair with "x" and closed: in flight
 * only, its peer X1 held by the task. Also in flight: a datagram socket D
 * bound to an abstract name, with a datagram queued, held by nobody else.
 * Checks after the restart: "x" comes with X0 and D; X0 reads what X1 sent
 * before, X1 what X0 sent; they still talk both ways; D reads its datagram
 * and still answers to its name.
 * Skip proof: file:unix.
 */
#include "unix_rights.h"

int main(void)
{
	int sp[2], x[2], d, u, fds[MAX_RIGHTS], n, two[2];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t salen;
	char buf[64] = "";
	ssize_t r;

	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "zdtm-rights-sock-%s", test_uniq());
	salen = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa.sun_path + 1);
	d = socket(AF_UNIX, SOCK_DGRAM, 0);
	u = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) || socketpair(AF_UNIX, SOCK_STREAM, 0, x) ||
	    d < 0 || u < 0 || bind(d, (struct sockaddr *)&sa, salen))
		test_fatal("sockets");
	if (write(x[1], "to-x0", 5) != 5 || write(x[0], "to-x1", 5) != 5 ||
	    sendto(u, "dgram", 5, 0, (struct sockaddr *)&sa, salen) != 5)
		test_fatal("write");
	two[0] = x[0];
	two[1] = d;
	send_fds(sp[0], "x", 1, two, 2);
	close(x[0]);
	close(d);
	test_ready();
	test_wait_go();

	r = recv_fds(sp[1], buf, sizeof(buf), fds, &n);
	CHECK(r == 1 && buf[0] == 'x' && n == 2, "%zd bytes (want x), %d fds (want 2)", r, n);
	if (n != 2)
		test_done();
	CHECK(reads(fds[0], "to-x0"), "X0 does not read what X1 sent");
	CHECK(reads(x[1], "to-x1"), "X1 does not read what X0 sent");
	CHECK(write(fds[0], "ping", 4) == 4 && reads(x[1], "ping"), "X0 -> X1 broken");
	CHECK(write(x[1], "pong", 4) == 4 && reads(fds[0], "pong"), "X1 -> X0 broken");
	CHECK(recv(fds[1], buf, sizeof(buf), MSG_DONTWAIT) == 5 && !memcmp(buf, "dgram", 5),
	      "D does not read its datagram");
	CHECK(sendto(u, "again", 5, 0, (struct sockaddr *)&sa, salen) == 5 &&
		      recv(fds[1], buf, sizeof(buf), MSG_DONTWAIT) == 5 && !memcmp(buf, "again", 5),
	      "D does not answer to its name");
	test_done();
}
