/*
 * file_lock_flock: flock() locks across a fork.
 *   a  shared (LOCK_SH) through an open file parent and child share, and
 *      shared again through the child's own open of it;
 *   b  exclusive, taken by the parent, then held only by the child (the
 *      parent closed its fd);
 *   d  exclusive, taken by the child on the open file both hold;
 *   c  not locked.
 * Checks: from a new open file, a conflicting flock(LOCK_NB) fails on a, b,
 * d and a compatible one passes; c is free; /proc/locks holds exactly two
 * READ locks on a and one WRITE lock on b and d. Owners: each lock goes
 * away when, and only when, its own open file unlocks it (parent's a, then
 * the child's own a, b, then d).
 * Skip proof: locks.
 */
#include "zdtm.h"

#include <sys/file.h>
#include <sys/sysmacros.h>

/* A new open file of @name: 0 if flock(@how | LOCK_NB) succeeds there. */
static int probe(const char *name, int how)
{
	int fd = open(test_path(name), O_RDONLY), r;

	if (fd < 0)
		test_fatal("open %s", name);
	r = flock(fd, how | LOCK_NB);
	if (r && errno != EWOULDBLOCK)
		fail("flock %s: %s", name, strerror(errno));
	close(fd); /* our own open: releases what it took */
	return r;
}

/* How many flock locks of @type ("READ"/"WRITE") /proc/locks shows on @name. */
static int count_locks(const char *name, const char *type)
{
	char buf[65536], key[64], *line, *save = NULL;
	struct stat st;
	int n = 0;

	if (stat(test_path(name), &st) || read_text("/proc/locks", buf, sizeof(buf)) < 0)
		test_fatal("stat %s or read /proc/locks", name);
	snprintf(key, sizeof(key), " %02x:%02x:%lu ", major(st.st_dev), minor(st.st_dev),
		 (unsigned long)st.st_ino);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strstr(line, "FLOCK") && strstr(line, type) && strstr(line, key) &&
		    !strstr(line, "->"))
			n++;
	return n;
}

static int xopen(const char *name)
{
	int fd = open(test_path(name), O_RDWR | O_CREAT, 0644);

	if (fd < 0)
		test_fatal("open %s", name);
	return fd;
}

static void xflock(int fd, int how, const char *what)
{
	if (flock(fd, how))
		test_fatal("flock %s", what);
}

static void step(int fd)
{
	char c = 'x';

	if (write(fd, &c, 1) != 1)
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
	int fa = xopen("a"), fb = xopen("b"), fc = xopen("c"), fd = xopen("d");
	int to_child[2], to_parent[2];
	pid_t pid;

	(void)fc;
	if (pipe(to_child) || pipe(to_parent))
		test_fatal("pipe");
	xflock(fa, LOCK_SH, "a");
	xflock(fb, LOCK_EX, "b");
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		int fa2 = xopen("a");

		xflock(fa2, LOCK_SH, "a again");
		xflock(fd, LOCK_EX, "d");
		step(to_parent[1]);
		await(to_child[0]); /* the parent has unlocked its a */
		CHECK(probe("a", LOCK_EX), "a: the child's own shared lock is gone");
		xflock(fa2, LOCK_UN, "a again");
		xflock(fb, LOCK_UN, "b");
		step(to_parent[1]);
		test_child_done();
	}
	close(fb); /* b's lock: the child's open file holds it now */
	await(to_parent[0]);
	CHECK(count_locks("b", "WRITE") == 1 && count_locks("d", "WRITE") == 1, "set-up");
	test_ready();
	test_wait_go();

	CHECK(probe("a", LOCK_EX), "a: exclusive flock granted over the shared locks");
	CHECK(!probe("a", LOCK_SH), "a: shared flock refused");
	CHECK(probe("b", LOCK_SH), "b: the exclusive lock is gone");
	CHECK(probe("d", LOCK_SH), "d: the exclusive lock is gone");
	CHECK(!probe("c", LOCK_EX), "c: locked");
	CHECK(count_locks("a", "READ") == 2, "a: %d shared locks, not 2", count_locks("a", "READ"));
	CHECK(count_locks("a", "WRITE") == 0, "a: a write lock");
	CHECK(count_locks("b", "WRITE") == 1, "b: %d write locks", count_locks("b", "WRITE"));
	CHECK(count_locks("d", "WRITE") == 1, "d: %d write locks", count_locks("d", "WRITE"));
	CHECK(count_locks("c", "") == 0, "c: locked");

	xflock(fa, LOCK_UN, "a");
	step(to_child[1]);
	await(to_parent[0]); /* the child unlocked its own a, and b */
	CHECK(!probe("a", LOCK_EX), "a: still locked once both owners unlocked");
	CHECK(!probe("b", LOCK_EX), "b: still locked once the child unlocked it");
	CHECK(probe("d", LOCK_SH), "d: unlocked by another open file");
	xflock(fd, LOCK_UN, "d");
	CHECK(!probe("d", LOCK_EX), "d: still locked once its open file unlocked it");
	reap_child(pid, "child");
	test_done();
}
