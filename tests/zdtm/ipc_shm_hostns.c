/*
 * ipc_shm_hostns: a SysV shm segment attached by a task that shares cr's
 * IPC namespace, whose objects are not saved (only a tree in an IPC
 * namespace of its own has them saved): cr checkpoint must refuse it
 * (exit 3), naming the task, and leave it running. The segment is marked
 * removed at once, so that it goes with the test.
 * Checks (without a restart): the attachment still holds its data.
 * Skip proof: none (refused).
 */
#include "zdtm.h"

#include <sys/shm.h>

int main(void)
{
	int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	char *p = id < 0 ? (void *)-1 : shmat(id, NULL, 0);

	if (p == (void *)-1)
		test_fatal("shmget/shmat");
	shmctl(id, IPC_RMID, NULL);
	strcpy(p, "still here");
	dprintf(1, "EXPECT: Task %d: mapping %p-%p (/SYSV\n", getpid(), (void *)p,
		(void *)(p + 4096));
	dprintf(1, "EXPECT: is SysV shm in cr's own IPC namespace\n");
	test_ready();
	test_wait_go();
	CHECK(!strcmp(p, "still here"), "the segment's data is gone");
	test_done();
}
