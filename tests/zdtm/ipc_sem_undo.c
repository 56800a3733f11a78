/*
 * ipc_sem_undo: a child has a SysV semaphore undo list (semop with
 * SEM_UNDO), which can't be read from outside: cr checkpoint must refuse
 * the tree (exit 3), naming the task, and leave it running.
 * Checks (without a restart): the child's adjustment is still there, and
 * undone when it exits (the semaphore goes back to 0).
 * Skip proof: none (refused).
 */
#include "zdtm.h"

#include <sys/sem.h>

int main(void)
{
	int id = semget(IPC_PRIVATE, 1, 0600), cp[2];
	struct sembuf op = {0, 1, SEM_UNDO};
	pid_t pid;
	char c;

	if (id < 0 || pipe(cp))
		test_fatal("semget/pipe");
	pid = fork();
	if (!pid) {
		close(cp[1]);
		if (semop(id, &op, 1))
			_exit(2);
		_exit(read(cp[0], &c, 1) < 0);
	}
	close(cp[0]);
	while (semctl(id, 0, GETVAL) != 1)
		msleep(10);
	dprintf(1, "EXPECT: Task %d has a SysV semaphore undo list\n", pid);
	test_ready();
	test_wait_go();
	CHECK(semctl(id, 0, GETVAL) == 1, "the child's semop() is gone");
	close(cp[1]);
	reap_child(pid, "child");
	CHECK(semctl(id, 0, GETVAL) == 0, "the child's exit did not undo its semop()");
	semctl(id, 0, IPC_RMID);
	test_done();
}
