// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of crd's TCP gate (agent/gate.c) on real loopback connections:
 * a first message sent in pieces comes out whole; one source address gets
 * GATE_PER_ADDR places (its oldest makes room for its newest); a silent client is closed at the
 * deadline; a full gate makes room by closing the oldest of a source with several places, never a
 * source's only one; a bad header, or a whole message that is no munge credential, is dropped at
 * once; a source cooling down gets no worker until its time is up. And of proto.c's whole-message
 * deadline: a sender that paces a message a byte at a time is cut off, where a per-read timeout
 * never fires.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "gate.h"
#include "log.h"
#include "proto.h"

static int listen_fd = -1;
static uint16_t port;

static int setup(void **state)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
	socklen_t len = sizeof(sa);

	(void)state;
	if (log_init("gate-test", "/dev/null", 0))
		return -1;
	/* blocking, as a listener may be: the gate must still never wait in accept */
	listen_fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){0}, sizeof(int));
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &sa.sin6_addr);
	if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(listen_fd, 512) < 0 ||
	    getsockname(listen_fd, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	port = ntohs(sa.sin6_port);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(listen_fd);
	return 0;
}

/* The TCP port's gate, as crd sets it up. */
static void tcp_gate(struct gate *g)
{
	gate_init(g, &(struct gate_conf){.places = GATE_MAX,
					 .per_src = GATE_PER_ADDR,
					 .deadline_ms = GATE_DEADLINE_MS,
					 .types = 1u << CR_MSG_CTL | 1u << CR_MSG_NODE,
					 .cred = 1});
}

/* A first message as crctl sends it: a munge credential (well formed, not valid). */
struct cred_msg {
	struct cr_hdr h;
	uint32_t slen;
	char cred[20];
};
static const struct cred_msg cred = {
	{CR_MSG_CTL, sizeof(struct cred_msg), 7, 9}, 20, "MUNGE:AwQDAACo2ZZ+/"};

/* A client from 127.0.0.(2 + src), connected (in the listener's queue). */
static int client(unsigned src)
{
	struct sockaddr_in a = {.sin_family = AF_INET}, d = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(0x7f000002 + src);
	d.sin_addr.s_addr = htonl(0x7f000001);
	d.sin_port = htons(port);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&d, sizeof(d)), 0);
	return fd;
}

/* The gate accepts everything queued (connect() has returned: it is queued). */
static void accept_all(struct gate *g, int64_t now)
{
	struct pollfd p = {.fd = listen_fd, .events = POLLIN};

	while (poll(&p, 1, 0) == 1)
		gate_accept(g, listen_fd, now);
}

/* Every connection the gate reads has its input read. */
static void read_all(struct gate *g)
{
	struct pollfd p[GATE_MAX];
	size_t n = gate_pollfds(g, p);

	poll(p, n, 100);
	for (size_t i = 0; i < n; i++)
		if (p[i].revents)
			gate_read(g, p[i].fd, 0);
}

/* The server closed the client's connection. */
static int closed(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;

	return poll(&p, 1, 1000) == 1 && read(fd, &c, 1) <= 0;
}

static void test_pieces(void **state)
{
	struct cred_msg msg = cred;
	struct in6_addr src;
	struct gate g;
	struct cr_msg m;
	int64_t dl;
	int c, fd;

	(void)state;
	tcp_gate(&g);
	c = client(0);
	accept_all(&g, 0);
	assert_int_equal(g.n, 1);
	for (size_t off = 0; off < sizeof(msg); off += 3) {
		assert_int_equal(gate_take(&g, 0, &fd, &m, &src, &dl), 0);
		assert_true(write(c, (char *)&msg + off,
				  sizeof(msg) - off < 3 ? sizeof(msg) - off : 3) > 0);
		read_all(&g);
	}
	assert_int_equal(gate_take(&g, 0, &fd, &m, &src, &dl), 1);
	assert_int_equal(g.n, 0);
	assert_int_equal(m.hdr.type, CR_MSG_CTL);
	assert_int_equal(m.hdr.len, sizeof(msg));
	assert_memory_equal(m.data, &msg.slen, sizeof(msg) - CR_HDR_SIZE);
	cr_msg_free(&m);
	close(fd);
	close(c);
	gate_fini(&g);
}

static void test_per_address_and_deadline(void **state)
{
	int c[GATE_PER_ADDR + 2];
	struct gate g;

	(void)state;
	tcp_gate(&g);
	for (int i = 0; i <= GATE_PER_ADDR; i++)
		c[i] = client(1);
	c[GATE_PER_ADDR + 1] = client(2);
	accept_all(&g, 0);
	assert_int_equal(g.n, GATE_PER_ADDR + 1);
	assert_int_equal(g.st.refused_addr, 1);
	assert_true(closed(c[0])); /* the source's oldest made room for its newest */
	/* silent: kept until the deadline, closed at it */
	assert_int_equal(gate_expire(&g, GATE_DEADLINE_MS - 1), 1);
	assert_int_equal(g.n, GATE_PER_ADDR + 1);
	assert_int_equal(gate_expire(&g, GATE_DEADLINE_MS), -1);
	assert_int_equal(g.n, 0);
	assert_int_equal(g.st.expired, GATE_PER_ADDR + 1);
	for (int i = 0; i < GATE_PER_ADDR + 2; i++) {
		assert_true(closed(c[i]));
		close(c[i]);
	}
	gate_fini(&g);
}

static void test_full_gate_evicts_oldest(void **state)
{
	int c[GATE_MAX + 1];
	struct gate g;

	(void)state;
	tcp_gate(&g);
	for (int i = 0; i < GATE_MAX; i++) {
		c[i] = client(10 + i / GATE_PER_ADDR);
		accept_all(&g, i);
	}
	assert_int_equal(g.n, GATE_MAX);
	c[GATE_MAX] = client(9);
	accept_all(&g, GATE_MAX);
	assert_int_equal(g.n, GATE_MAX);
	assert_int_equal(g.st.evicted, 1);
	assert_true(closed(c[0]));
	for (int i = 0; i <= GATE_MAX; i++)
		close(c[i]);
	gate_fini(&g);
}

/* A flood from many sources cannot push out a source's only connection. */
static void test_fair_eviction(void **state)
{
	int c[GATE_MAX + 3];
	struct gate g;

	(void)state;
	tcp_gate(&g);
	for (int i = 0; i < GATE_MAX - 1; i++) {
		c[i] = client(10 + i / GATE_PER_ADDR);
		accept_all(&g, i);
	}
	c[GATE_MAX - 1] = client(9); /* the one client of its address, the newest */
	accept_all(&g, GATE_MAX - 1);
	for (int i = GATE_MAX; i < GATE_MAX + 3; i++) {
		/* flooders: a new one of a full source closes its own source's oldest */
		c[i] = client(i == GATE_MAX ? 200 : 10);
		accept_all(&g, i);
	}
	assert_int_equal(g.n, GATE_MAX);
	assert_int_equal(g.st.evicted, 3);
	assert_true(closed(c[0]) && closed(c[1]) && closed(c[2]));
	for (int i = 3; i < GATE_MAX + 3; i++) {
		struct pollfd p = {.fd = c[i], .events = POLLIN};

		assert_int_equal(poll(&p, 1, 0), 0); /* still open, the lone one too */
	}
	for (int i = 0; i < GATE_MAX + 3; i++)
		close(c[i]);
	gate_fini(&g);
}

/* A whole message that is not a munge credential costs no worker. */
static void test_not_a_credential(void **state)
{
	struct cred_msg bad[3] = {cred, cred, cred};
	struct in6_addr src;
	struct cr_msg m;
	struct gate g;
	int64_t dl;
	int c[4], fd;

	(void)state;
	bad[0].cred[3] = 'X';  /* "MUNXE:" */
	bad[1].cred[10] = '!'; /* not base64 */
	bad[2].slen = 19;      /* a length that does not cover the payload */
	tcp_gate(&g);
	for (int i = 0; i < 4; i++)
		c[i] = client(4);
	accept_all(&g, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(write(c[i], &bad[i], sizeof(bad[i])), sizeof(bad[i]));
	assert_int_equal(write(c[3], &cred, sizeof(cred)), sizeof(cred));
	read_all(&g);
	assert_int_equal(g.st.bad, 3);
	assert_int_equal(g.n, 1);
	assert_int_equal(gate_take(&g, 0, &fd, &m, &src, &dl), 1);
	cr_msg_free(&m);
	close(fd);
	for (int i = 0; i < 4; i++)
		close(c[i]);
	gate_fini(&g);
}

/* A source whose credential was refused waits; others do not. */
static void test_cool_down(void **state)
{
	struct in6_addr src, src2;
	struct cr_msg m;
	struct gate g;
	int64_t dl;
	int c1, c2, fd;

	(void)state;
	tcp_gate(&g);
	c1 = client(5);
	accept_all(&g, 0);
	assert_int_equal(write(c1, &cred, sizeof(cred)), sizeof(cred));
	read_all(&g);
	assert_int_equal(gate_take(&g, 0, &fd, &m, &src, &dl), 1);
	cr_msg_free(&m);
	close(fd);
	gate_cool(&g, &src, 100, GATE_COOL_MS);
	c2 = client(5);
	accept_all(&g, 200);
	assert_int_equal(write(c2, &cred, sizeof(cred)), sizeof(cred));
	read_all(&g);
	assert_int_equal(gate_take(&g, 100 + GATE_COOL_MS - 1, &fd, &m, &src2, &dl), 0);
	assert_int_equal(gate_take(&g, 100 + GATE_COOL_MS, &fd, &m, &src2, &dl), 1);
	assert_memory_equal(&src, &src2, sizeof(src));
	cr_msg_free(&m);
	close(fd);
	close(c1);
	close(c2);
	gate_fini(&g);
}

/* A connection to unix socket @path as @uid (in a child: the fd comes back over @sv). */
static int unix_client(const char *path, uid_t uid)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int sv[2], fd = -1;
	pid_t pid;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (!uid) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		return fd;
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	if (pid == 0) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (setresuid(uid, uid, uid) || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			_exit(1);
		_exit(cr_send(sv[1], CR_MSG_OK, NULL, &fd, 1) ? 1 : 0);
	}
	close(sv[1]);
	struct cr_msg m;
	assert_int_equal(cr_recv(sv[0], &m), 0);
	assert_int_equal(m.nfds, 1);
	fd = m.fds[0];
	m.nfds = 0;
	cr_msg_free(&m);
	close(sv[0]);
	waitpid(pid, NULL, 0);
	return fd;
}

/*
 * The unix socket's gate: a uid holds per_src places and gives up its
 * oldest for its newest; root's connections are never evicted, and root
 * gets a place in a full gate by evicting a user's.
 */
static void test_unix_uids(void **state)
{
	char dir[] = "/tmp/gate-test.XXXXXX", path[64];
	int lfd, u[3], r[2];
	struct gate g;

	(void)state;
	if (getuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0); /* the user's connect goes through it */
	snprintf(path, sizeof(path), "%s/sock", dir);
	lfd = cr_unix_listen(path, 0666);
	assert_true(lfd >= 0);
	gate_init(&g, &(struct gate_conf){.places = 3,
					  .per_src = 2,
					  .deadline_ms = GATE_DEADLINE_MS,
					  .types = 1u << CR_MSG_JOB_START,
					  .unix_socket = 1});
	r[0] = unix_client(path, 0);
	u[0] = unix_client(path, 65534);
	u[1] = unix_client(path, 65534);
	gate_accept(&g, lfd, 0);
	assert_int_equal(g.n, 3);
	u[2] = unix_client(path, 65534); /* at its share: its oldest goes */
	gate_accept(&g, lfd, 1);
	assert_true(closed(u[0]));
	assert_int_equal(g.st.refused_addr, 1);
	r[1] = unix_client(path, 0); /* full: a user's goes, not root's */
	gate_accept(&g, lfd, 2);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.st.evicted, 1);
	assert_true(closed(u[1]));
	assert_int_equal(poll(&(struct pollfd){.fd = r[0], .events = POLLIN}, 1, 0), 0);
	for (int i = 0; i < 3; i++)
		close(u[i]);
	close(r[0]);
	close(r[1]);
	gate_fini(&g);
	close(lfd);
	unlink(path);
	rmdir(dir);
}

static void test_bad_header(void **state)
{
	struct cr_hdr big = {CR_MSG_CTL, GATE_MSG_MAX + 1, 0, 0}, wrong = {CR_MSG_DUMP, 16, 0, 0};
	struct gate g;
	int c1, c2;

	(void)state;
	tcp_gate(&g);
	c1 = client(3);
	c2 = client(3);
	accept_all(&g, 0);
	assert_int_equal(write(c1, &big, sizeof(big)), sizeof(big));
	assert_int_equal(write(c2, &wrong, sizeof(wrong)), sizeof(wrong));
	read_all(&g);
	read_all(&g);
	assert_int_equal(g.n, 0);
	assert_int_equal(g.st.bad, 2);
	assert_true(closed(c1) && closed(c2));
	close(c1);
	close(c2);
	gate_fini(&g);
}

/* A message begun and paced a byte every 0.5 s: refused at the deadline. */
static void test_recv_deadline(void **state)
{
	struct cr_hdr h = {CR_MSG_OK, CR_HDR_SIZE + 40, 0, 0};
	struct cr_msg m;
	int sv[2];
	pid_t pid;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		for (size_t i = 0; i < sizeof(h) + 40; i++) {
			char b = i < sizeof(h) ? ((char *)&h)[i] : 'x';

			if (write(sv[1], &b, 1) != 1)
				_exit(0);
			usleep(500000);
		}
		_exit(0);
	}
	close(sv[1]);
	assert_int_equal(cr_recv(sv[0], &m), -ETIMEDOUT);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(sv[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pieces),
		cmocka_unit_test(test_per_address_and_deadline),
		cmocka_unit_test(test_full_gate_evicts_oldest),
		cmocka_unit_test(test_fair_eviction),
		cmocka_unit_test(test_not_a_credential),
		cmocka_unit_test(test_cool_down),
		cmocka_unit_test(test_unix_uids),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_recv_deadline),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
