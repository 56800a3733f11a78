/*
 * mqueue: POSIX message queues in the test's own IPC namespace.
 *   A  /zdtm-mq-a, read-write, mq_maxmsg 8, mq_msgsize 100, mode 0640, owner
 *      1000:1001, seven messages of priorities 0, 5, 5, 1, 31, 0, 5 and
 *      lengths 0 to 100; a child holds a second, read-only open of it.
 *   B  /zdtm-mq-b, write-only and O_NONBLOCK, mq_maxmsg 3 and full.
 *   C  /zdtm-mq-c, unlinked while open (read-only), two messages.
 *   D  /zdtm-mq-d, empty: the child is blocked in mq_receive on it.
 * Checks after the restart: attributes (maxmsg, msgsize, flags, message
 * counts), modes and owners; every message of A comes out in the order it
 * would have (priority, then age) with its priority and bytes, through the
 * parent's and the child's fds; B refuses one more message (EAGAIN) and
 * reading it (EBADF); C is still unlinked (mq_open: ENOENT, nlink 0) and
 * holds its messages; the child receives the message the parent sends to D.
 * Skip proof: file:mqueue (the queues' fds stay closed: the test FAILs).
 */
#include "zdtm.h"

#include <mqueue.h>

static const struct {
	unsigned int prio;
	int len;
} msgs[] = {{0, 10}, {5, 0}, {5, 100}, {1, 1}, {31, 55}, {0, 99}, {5, 7}};
/* the order they come out in: priority, then age */
static const int order[] = {4, 1, 2, 6, 3, 0, 5};

static void body(int m, char *buf)
{
	for (int i = 0; i < msgs[m].len; i++)
		buf[i] = (char)(i * 13 + m * 41 + 3);
}

static mqd_t mk(const char *name, int flags, long maxmsg, long msgsize, mode_t mode)
{
	struct mq_attr a = {.mq_maxmsg = maxmsg, .mq_msgsize = msgsize};
	mqd_t q = mq_open(name, flags | O_CREAT | O_EXCL, mode, &a);

	if (q < 0)
		test_fatal("mq_open %s", name);
	return q;
}

static void check_attr(mqd_t q, const char *what, long flags, long maxmsg, long msgsize, long cur)
{
	struct mq_attr a;

	if (mq_getattr(q, &a)) {
		fail("%s: mq_getattr: %s", what, strerror(errno));
		return;
	}
	CHECK(a.mq_flags == flags, "%s: flags %#lx, want %#lx", what, a.mq_flags, flags);
	CHECK(a.mq_maxmsg == maxmsg, "%s: maxmsg %ld, want %ld", what, a.mq_maxmsg, maxmsg);
	CHECK(a.mq_msgsize == msgsize, "%s: msgsize %ld, want %ld", what, a.mq_msgsize, msgsize);
	CHECK(a.mq_curmsgs == cur, "%s: %ld messages, want %ld", what, a.mq_curmsgs, cur);
}

static void check_stat(mqd_t q, const char *what, mode_t mode, uid_t uid, gid_t gid, int nlink)
{
	struct stat st;

	if (fstat(q, &st)) {
		fail("%s: fstat: %s", what, strerror(errno));
		return;
	}
	CHECK((st.st_mode & 07777) == mode, "%s: mode %#o, want %#o", what, st.st_mode & 07777,
	      mode);
	CHECK(st.st_uid == uid && st.st_gid == gid, "%s: owner %u:%u, want %u:%u", what, st.st_uid,
	      st.st_gid, uid, gid);
	CHECK((int)st.st_nlink == nlink, "%s: nlink %d, want %d", what, (int)st.st_nlink, nlink);
}

/* The messages of A from index @from of order[] on, through @q. */
static void check_msgs(mqd_t q, int from, int to, const char *who)
{
	char buf[100], want[100];
	unsigned int prio;

	for (int k = from; k < to; k++) {
		int m = order[k];
		ssize_t n = mq_receive(q, buf, sizeof(buf), &prio);

		body(m, want);
		if (n < 0) {
			fail("%s: message %d of A: %s", who, k, strerror(errno));
			return;
		}
		CHECK(n == msgs[m].len && prio == msgs[m].prio && !memcmp(buf, want, n),
		      "%s: message %d of A: %zd bytes prio %u, want message %d (%d bytes prio %u)",
		      who, k, n, prio, m, msgs[m].len, msgs[m].prio);
	}
}

static void child(mqd_t a2, mqd_t d, struct barrier *b)
{
	char buf[32];
	unsigned int prio;
	ssize_t n;

	barrier_signal(b);
	n = mq_receive(d, buf, sizeof(buf), &prio); /* blocks over the checkpoint */
	test_wait_go(); /* (without D, it fails at once: report after the restart) */
	CHECK(n == 4 && prio == 9 && !memcmp(buf, "wake", 4), "child: D gave %zd bytes prio %u", n,
	      prio);
	check_attr(a2, "A (child's read-only open)", 0, 8, 100, 4);
	check_msgs(a2, 3, 7, "child");
	test_child_done();
}

int main(void)
{
	mqd_t a = mk("/zdtm-mq-a", O_RDWR, 8, 100, 0640), b, c, d, a2, x;
	char buf[100];
	unsigned int prio;
	struct barrier bar;
	pid_t pid;

	b = mk("/zdtm-mq-b", O_WRONLY | O_NONBLOCK, 3, 16, 0600);
	c = mk("/zdtm-mq-c", O_RDWR, 4, 32, 0604);
	d = mk("/zdtm-mq-d", O_RDWR, 2, 32, 0600);
	a2 = mq_open("/zdtm-mq-a", O_RDONLY);
	if (a2 < 0 || fchown(a, 1000, 1001))
		test_fatal("mq_open /zdtm-mq-a again, or fchown");
	for (size_t m = 0; m < ARRAY_SIZE(msgs); m++) {
		body(m, buf);
		if (mq_send(a, buf, msgs[m].len, msgs[m].prio))
			test_fatal("mq_send A %zu", m);
	}
	for (int i = 0; i < 3; i++)
		if (mq_send(b, "bbbb", 4, i))
			test_fatal("mq_send B");
	if (mq_send(c, "c-one", 5, 2) || mq_send(c, "c-two!", 6, 7))
		test_fatal("C");
	x = mq_open("/zdtm-mq-c", O_RDONLY); /* read-write while filled, read-only now */
	if (x < 0 || dup2(x, c) < 0 || mq_unlink("/zdtm-mq-c"))
		test_fatal("reopen C");
	close(x);
	barrier_init(&bar);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid)
		child(a2, d, &bar);
	barrier_wait(&bar, 1);
	test_ready();
	test_wait_go();

	check_attr(a, "A", 0, 8, 100, 7);
	check_stat(a, "A", 0640, 1000, 1001, 1);
	x = mq_open("/zdtm-mq-a", O_RDONLY);
	CHECK(x >= 0, "A: no longer reachable by name: %s", strerror(errno));
	if (x >= 0)
		check_attr(x, "A (by name)", 0, 8, 100, 7);
	check_msgs(a, 0, 3, "parent");

	check_attr(b, "B", O_NONBLOCK, 3, 16, 3);
	CHECK(mq_send(b, "more", 4, 1) < 0 && errno == EAGAIN, "B: a fourth message: %s",
	      strerror(errno));
	CHECK(mq_receive(b, buf, sizeof(buf), &prio) < 0 && errno == EBADF,
	      "B: write-only, but a receive gave %s", strerror(errno));

	check_attr(c, "C", 0, 4, 32, 2);
	check_stat(c, "C", 0604, 0, 0, 0);
	CHECK(mq_open("/zdtm-mq-c", O_RDONLY) < 0 && errno == ENOENT,
	      "C: unlinked, but mq_open finds it (%s)", strerror(errno));
	CHECK(mq_receive(c, buf, sizeof(buf), &prio) == 6 && prio == 7 && !memcmp(buf, "c-two!", 6),
	      "C: first message wrong");
	CHECK(mq_receive(c, buf, sizeof(buf), &prio) == 5 && prio == 2 && !memcmp(buf, "c-one", 5),
	      "C: second message wrong");

	check_attr(d, "D", 0, 2, 32, 0);
	CHECK(mq_send(d, "wake", 4, 9) == 0, "D: send: %s", strerror(errno));
	reap_child(pid, "child");
	check_attr(a, "A, after the child", 0, 8, 100, 0);
	test_done();
}
