/*
 * unix_abstract: datagram sockets bound to abstract names: a server, a
 * client bound and connected to it, messages queued at the server from the
 * client and from an unconnected sender (closed since); the client has a
 * message queued too, sent by the server. A stream listener with an
 * abstract name and one accepted connection.
 * Checks after the restart: names (getsockname, getpeername), the queued
 * messages whole and in order, nothing more; new datagrams both ways; the
 * accepted pair carries data; a new connection to the listener works.
 * Variant "netns": all of it in a net namespace of the test's own (abstract
 * names belong to one; the engine must describe the sockets from there).
 * Skip proof: file:unix.
 */
#include "zdtm.h"
#include "inet.h"

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static socklen_t abstract(struct sockaddr_un *a, const char *what)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "zdtm-%s-%s", what, test_uniq());
	return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a->sun_path + 1);
}

static void check_name(int fd, bool peer, const struct sockaddr_un *want, socklen_t wlen,
		       const char *what)
{
	struct sockaddr_un a = {0};
	socklen_t len = sizeof(a);
	int r = peer ? getpeername(fd, (struct sockaddr *)&a, &len)
		     : getsockname(fd, (struct sockaddr *)&a, &len);

	CHECK(r == 0 && len == wlen && !memcmp(&a, want, len), "%s: wrong name (%d bytes)", what,
	      (int)len);
}

static void expect(int fd, const char *msg, const char *what)
{
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	CHECK(n == (ssize_t)strlen(msg) && !memcmp(buf, msg, n), "%s: got %zd bytes, want '%s'",
	      what, n, msg);
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa, ca, la;
	socklen_t sl = abstract(&sa, "srv"), cl = abstract(&ca, "cli"), ll = abstract(&la, "lst");
	int s, c, o, l, lc, la1, n;
	char buf[16];

	if (argc > 1 && !strcmp(argv[1], "netns"))
		inet_netns();
	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	c = socket(AF_UNIX, SOCK_DGRAM, 0);
	o = socket(AF_UNIX, SOCK_DGRAM, 0);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	lc = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(s, (struct sockaddr *)&sa, sl) || bind(c, (struct sockaddr *)&ca, cl) ||
	    connect(c, (struct sockaddr *)&sa, sl))
		test_fatal("bind, connect");
	if (send(c, "one", 3, 0) != 3 ||
	    sendto(o, "other", 5, 0, (struct sockaddr *)&sa, sl) != 5 ||
	    send(c, "two!", 4, 0) != 4 || sendto(s, "back", 4, 0, (struct sockaddr *)&ca, cl) != 4)
		test_fatal("send");
	close(o);
	if (bind(l, (struct sockaddr *)&la, ll) || listen(l, 4) ||
	    connect(lc, (struct sockaddr *)&la, ll) || (la1 = accept(l, NULL, NULL)) < 0 ||
	    write(lc, "stream", 6) != 6)
		test_fatal("stream listener");
	test_ready();
	test_wait_go();

	check_name(s, false, &sa, sl, "server");
	check_name(c, false, &ca, cl, "client");
	check_name(c, true, &sa, sl, "client's peer");
	check_name(l, false, &la, ll, "listener");
	check_name(la1, false, &la, ll, "accepted end");
	expect(s, "one", "server 1");
	expect(s, "other", "server 2");
	expect(s, "two!", "server 3");
	CHECK(recv(s, buf, 1, MSG_DONTWAIT) == -1 && errno == EAGAIN, "server: more queued");
	expect(c, "back", "client");
	CHECK(send(c, "new", 3, 0) == 3, "client: send: %s", strerror(errno));
	expect(s, "new", "server after");
	CHECK(read(la1, buf, sizeof(buf)) == 6 && !memcmp(buf, "stream", 6), "accepted: no data");
	n = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(connect(n, (struct sockaddr *)&la, ll) == 0 && accept(l, NULL, NULL) >= 0,
	      "the abstract listener does not accept: %s", strerror(errno));
	test_done();
}
