/*
 * The body of unix_stream, unix_dgram and unix_seqpacket: socketpairs of
 * type SK_TYPE shared by a parent and its child, holding queued messages in
 * both directions; one end dup'ed and O_NONBLOCK, SO_SNDBUF, SO_RCVBUF and
 * SO_PASSCRED set; a second pair shut down for writing at one end after a
 * last message. Checks after the restart: each message comes out whole and
 * in order (one per recv for datagrams and seqpackets, the bytes in order
 * for a stream), then nothing more; the options and flags are the ones read
 * before the checkpoint; the shut down end can't send (EPIPE) and its
 * stream peer reads EOF after the data; new data still flows both ways,
 * through the dup too.
 */
#include "zdtm.h"

#include <sys/socket.h>

static const char *const to_child[] = {"first", "second message", "3"};
static const char *const to_parent[] = {"hello", "world!"};
#define BIG 3000

static int sockopt(int fd, int opt)
{
	int v = -1;
	socklen_t len = sizeof(v);

	getsockopt(fd, SOL_SOCKET, opt, &v, &len);
	return v;
}

/* The messages, each whole (datagrams) or the bytes in order (stream), then nothing. */
static void check_queue(int fd, const char *const *msgs, int n, bool big, const char *who)
{
	char want[8192] = "", got[8192];
	int wl = 0, gl = 0, fl = fcntl(fd, F_GETFL);
	ssize_t r;

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	for (int i = 0; i < n + big; i++) {
		int ml = i < n ? (int)strlen(msgs[i]) : BIG;

		if (i < n)
			memcpy(want + wl, msgs[i], ml);
		else
			for (int k = 0; k < BIG; k++)
				want[wl + k] = (char)(k * 7 + 1);
		if (SK_TYPE != SOCK_STREAM) {
			r = recv(fd, got + gl, sizeof(got) - gl, 0);
			CHECK(r == ml, "%s: message %d is %zd bytes, want %d (%s)", who, i, r, ml,
			      r < 0 ? strerror(errno) : "");
			gl += r > 0 ? r : 0;
		}
		wl += ml;
	}
	while (SK_TYPE == SOCK_STREAM && gl < (int)sizeof(got) &&
	       (r = recv(fd, got + gl, sizeof(got) - gl, 0)) > 0)
		gl += r;
	CHECK(gl == wl && !memcmp(got, want, wl), "%s: %d bytes came out, want %d, or they differ",
	      who, gl, wl);
	r = recv(fd, got, 1, 0);
	CHECK(r == 0 || (r == -1 && errno == EAGAIN), "%s: more queued than was sent", who);
	fcntl(fd, F_SETFL, fl);
}

static void send_all(int fd, const char *const *msgs, int n, bool big)
{
	char b[BIG];

	for (int i = 0; i < n; i++)
		if (send(fd, msgs[i], strlen(msgs[i]), 0) != (ssize_t)strlen(msgs[i]))
			test_fatal("send");
	for (int k = 0; big && k < BIG; k++)
		b[k] = (char)(k * 7 + 1);
	if (big && send(fd, b, BIG, 0) != BIG)
		test_fatal("send big");
}

static void check_alive(int fd, int peer, const char *who)
{
	char b[8];

	if (fd == peer) { /* the child: echo what the parent sends */
		CHECK(recv(fd, b, sizeof(b), 0) == 5 && !memcmp(b, "after", 5),
		      "%s: the parent's data after the restart did not arrive", who);
		CHECK(send(fd, b, 5, 0) == 5, "%s: send after the restart", who);
		return;
	}
	CHECK(send(fd, "after", 5, 0) == 5, "%s: send after the restart: %s", who, strerror(errno));
	CHECK(recv(peer, b, sizeof(b), 0) == 5 && !memcmp(b, "after", 5),
	      "%s: data sent after the restart did not arrive", who);
}

int main(void)
{
	int p[2], q[2], sync[2], d, snd, rcv;
	struct barrier b;
	pid_t pid;
	int one = 1, want_snd = 65536, want_rcv = 32768, type;
	socklen_t len = sizeof(type);

	if (socketpair(AF_UNIX, SK_TYPE, 0, p) || socketpair(AF_UNIX, SK_TYPE, 0, q) || pipe(sync))
		test_fatal("socketpair");
	d = dup(p[0]);
	if (d < 0 || setsockopt(p[0], SOL_SOCKET, SO_SNDBUF, &want_snd, sizeof(want_snd)) ||
	    setsockopt(p[1], SOL_SOCKET, SO_RCVBUF, &want_rcv, sizeof(want_rcv)) ||
	    setsockopt(p[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)))
		test_fatal("setsockopt");
	send_all(p[0], to_child, ARRAY_SIZE(to_child), true);
	send_all(p[1], to_parent, ARRAY_SIZE(to_parent), false);
	send_all(q[0], to_parent, 1, false);
	if (shutdown(q[0], SHUT_WR))
		test_fatal("shutdown");
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	snd = sockopt(p[0], SO_SNDBUF);
	rcv = sockopt(p[1], SO_RCVBUF);
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		close(p[0]);
		close(d);
		barrier_signal(&b);
		test_wait_go();
		CHECK(sockopt(p[1], SO_RCVBUF) == rcv, "child: SO_RCVBUF %d, want %d",
		      sockopt(p[1], SO_RCVBUF), rcv);
		CHECK(sockopt(p[1], SO_PASSCRED) == 1, "child: SO_PASSCRED lost");
		check_queue(p[1], to_child, ARRAY_SIZE(to_child), true, "child");
		CHECK(write(sync[1], "c", 1) == 1, "child: sync");
		check_alive(p[1], p[1], "child");
		test_child_done();
	}
	close(p[1]);
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();

	CHECK(getsockopt(d, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SK_TYPE,
	      "socket type %d, want %d", type, SK_TYPE);
	CHECK(fcntl(d, F_GETFL) & O_NONBLOCK, "O_NONBLOCK lost");
	CHECK(sockopt(p[0], SO_SNDBUF) == snd, "SO_SNDBUF %d, want %d", sockopt(p[0], SO_SNDBUF),
	      snd);
	CHECK(sockopt(p[0], SO_PASSCRED) == 0, "SO_PASSCRED set on the parent's end");
	check_queue(p[0], to_parent, ARRAY_SIZE(to_parent), false, "parent");
	{
		char c[8];

		/* the child has read its queue: what comes now is new */
		CHECK(read(sync[0], c, 1) == 1, "no word from the child");
		fcntl(p[0], F_SETFL, 0);
		CHECK(send(d, "after", 5, 0) == 5, "parent: send after the restart");
		CHECK(recv(d, c, sizeof(c), 0) == 5 && !memcmp(c, "after", 5),
		      "the child's data after the restart did not arrive");
	}
	reap_child(pid, "child");
	check_queue(q[1], to_parent, 1, false, "shut down pair");
	CHECK(send(q[0], "x", 1, MSG_NOSIGNAL) == -1 && errno == EPIPE,
	      "the end shut down for writing can send");
	if (SK_TYPE != SOCK_DGRAM) {
		char c;

		CHECK(recv(q[1], &c, 1, MSG_DONTWAIT) == 0,
		      "no EOF after the shut down end's data");
	}
	check_alive(q[1], q[0], "shut down pair, other way");
	test_done();
}
