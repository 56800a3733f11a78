/*
 * ipc_sem: SysV semaphore sets in the test's own IPC namespace: one with a
 * key, mode 0604 and five values (0, 1, 7, 32767, 3); one IPC_PRIVATE with
 * one value (2); a child blocked in semop() decrementing the first set's
 * semaphore 0 (value 0), retrying on EINTR as semop() needs.
 * Checks after the restart: ids, keys, modes, sizes and values (GETALL) are
 * what they were; a non-blocking decrement of a 0 gets EAGAIN and of the 1
 * succeeds; our increment of semaphore 0 wakes the child, which exits 0.
 * Skip proof: ipc (no sets made: the test FAILs).
 */
#include "zdtm.h"

#include <sys/sem.h>

#define KEY 0x5eed5e

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static void check_set(int id, int key, unsigned int mode, int nsems, const unsigned short *want,
		      const char *n)
{
	unsigned short v[8] = {0};
	struct semid_ds ds;

	if (semctl(id, 0, IPC_STAT, (union semun){.buf = &ds}) < 0) {
		fail("set %s (id %d): %s", n, id, strerror(errno));
		return;
	}
	CHECK(ds.sem_perm.__key == key, "set %s: key %#x, want %#x", n, ds.sem_perm.__key, key);
	CHECK((ds.sem_perm.mode & 0777) == mode, "set %s: mode %#o, want %#o", n,
	      ds.sem_perm.mode & 0777, mode);
	CHECK((int)ds.sem_nsems == nsems, "set %s: %lu semaphores, want %d", n,
	      (unsigned long)ds.sem_nsems, nsems);
	CHECK(semctl(id, 0, GETALL, (union semun){.array = v}) == 0, "set %s: GETALL", n);
	for (int i = 0; i < nsems; i++)
		CHECK(v[i] == want[i], "set %s: semaphore %d is %d, want %d", n, i, v[i], want[i]);
}

int main(void)
{
	static unsigned short va[5] = {0, 1, 7, 32767, 3}, vb[1] = {2};
	int a = semget(KEY, 5, IPC_CREAT | IPC_EXCL | 0604), b = semget(IPC_PRIVATE, 1, 0600);
	struct sembuf op;
	pid_t pid;

	if (a < 0 || b < 0 || semctl(a, 0, SETALL, (union semun){.array = va}) ||
	    semctl(b, 0, SETALL, (union semun){.array = vb}))
		test_fatal("semget/SETALL");
	pid = fork();
	if (!pid) {
		int r;

		/* semop() is never restarted: a stop (the freeze) makes it EINTR (signal(7)) */
		op = (struct sembuf){0, -1, 0};
		while ((r = semop(a, &op, 1)) && errno == EINTR)
			;
		_exit(r ? 1 : 0);
	}
	msleep(100); /* the child blocks in semop() */
	test_ready();
	test_wait_go();

	check_set(a, KEY, 0604, 5, va, "A");
	check_set(b, IPC_PRIVATE, 0600, 1, vb, "B");
	op = (struct sembuf){0, -1, IPC_NOWAIT};
	CHECK(semop(a, &op, 1) == -1 && errno == EAGAIN, "decrementing a 0 did not block");
	op = (struct sembuf){1, -1, IPC_NOWAIT};
	CHECK(semop(a, &op, 1) == 0, "decrementing the 1 failed: %s", strerror(errno));
	op = (struct sembuf){0, 1, 0};
	CHECK(semop(a, &op, 1) == 0, "incrementing semaphore 0 failed: %s", strerror(errno));
	reap_child(pid, "child blocked in semop()");
	test_done();
}
