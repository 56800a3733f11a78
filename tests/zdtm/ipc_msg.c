/*
 * ipc_msg: SysV message queues in the test's own IPC namespace: one with a
 * key, mode 0620, qbytes 12000 and five messages of types 5, 1, 9, 5, 2
 * (bodies of 0 to 8000 bytes); one IPC_PRIVATE, empty.
 * Checks after the restart: ids, keys, modes, qbytes, message counts; the
 * messages come out in order with their types and bodies, then nothing; a
 * receive by type (1) takes the right one.
 * Skip proof: ipc (no queues made: the test FAILs).
 */
#include "zdtm.h"

#include <sys/msg.h>

#define KEY 0x5eed3a

static const struct {
	long type;
	int len;
} msgs[] = {{5, 10}, {1, 0}, {9, 8000}, {5, 1}, {2, 333}};

struct mbuf {
	long mtype;
	char text[8192];
};

static char pat(int m, int i)
{
	return (char)(i * 11 + m * 37 + 1);
}

static void check_queue(int id, int key, unsigned int mode, unsigned long qbytes, unsigned long n,
			const char *name)
{
	struct msqid_ds ds;

	if (msgctl(id, IPC_STAT, &ds) < 0) {
		fail("queue %s (id %d): %s", name, id, strerror(errno));
		return;
	}
	CHECK(ds.msg_perm.__key == key, "queue %s: key %#x, want %#x", name, ds.msg_perm.__key,
	      key);
	CHECK((ds.msg_perm.mode & 0777) == mode, "queue %s: mode %#o, want %#o", name,
	      ds.msg_perm.mode & 0777, mode);
	CHECK(ds.msg_qbytes == qbytes, "queue %s: qbytes %lu, want %lu", name,
	      (unsigned long)ds.msg_qbytes, qbytes);
	CHECK(ds.msg_qnum == n, "queue %s: %lu messages, want %lu", name,
	      (unsigned long)ds.msg_qnum, n);
}

int main(void)
{
	static struct mbuf m;
	int a = msgget(KEY, IPC_CREAT | IPC_EXCL | 0620), b = msgget(IPC_PRIVATE, 0600);
	struct msqid_ds ds;
	unsigned long qb;
	ssize_t r;

	if (a < 0 || b < 0 || msgctl(b, IPC_STAT, &ds))
		test_fatal("msgget");
	qb = ds.msg_qbytes; /* the default (msgmnb): B keeps it */
	if (msgctl(a, IPC_STAT, &ds))
		test_fatal("IPC_STAT");
	ds.msg_qbytes = 12000; /* lower than the default: no CAP_SYS_RESOURCE needed */
	if (msgctl(a, IPC_SET, &ds))
		test_fatal("IPC_SET qbytes");
	for (size_t i = 0; i < ARRAY_SIZE(msgs); i++) {
		m.mtype = msgs[i].type;
		for (int k = 0; k < msgs[i].len; k++)
			m.text[k] = pat(i, k);
		if (msgsnd(a, &m, msgs[i].len, IPC_NOWAIT))
			test_fatal("msgsnd %zu", i);
	}
	test_ready();
	test_wait_go();

	check_queue(a, KEY, 0620, 12000, ARRAY_SIZE(msgs), "A");
	check_queue(b, IPC_PRIVATE, 0600, qb, 0, "B");
	r = msgrcv(a, &m, sizeof(m.text), 1, IPC_NOWAIT);
	CHECK(r == 0 && m.mtype == 1, "receive by type 1: %zd bytes, type %ld", r, m.mtype);
	for (size_t i = 0; i < ARRAY_SIZE(msgs); i++) {
		if (msgs[i].type == 1)
			continue;
		r = msgrcv(a, &m, sizeof(m.text), 0, IPC_NOWAIT);
		if (r < 0) {
			fail("message %zu: %s", i, strerror(errno));
			break;
		}
		CHECK(m.mtype == msgs[i].type && r == msgs[i].len,
		      "message %zu: type %ld, %zd bytes; want type %ld, %d bytes", i, m.mtype, r,
		      msgs[i].type, msgs[i].len);
		for (int k = 0; k < r && k < msgs[i].len; k++)
			if (m.text[k] != pat(i, k)) {
				fail("message %zu: byte %d differs", i, k);
				break;
			}
	}
	CHECK(msgrcv(a, &m, sizeof(m.text), 0, IPC_NOWAIT) == -1 && errno == ENOMSG,
	      "a message more than sent");
	test_done();
}
