// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * SysV semaphore sets (ipc.h): id, key, owner, mode and values (GETALL);
 * not the pids or times of the last operations. Undo lists are refused
 * (ipc.c, check_sem_undo).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/sem.h>

#undef LOG_PREFIX
#define LOG_PREFIX "ipc-sem: "
#include "internal.h"
#include "ipc.h"
#include "log.h"

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *info;
};

static int send_set(int out, int id, const struct semid_ds *ds)
{
	size_t n = ds->sem_nsems, len = sizeof(struct cr_ipc_sem_rec) + n * sizeof(uint16_t);
	struct cr_ipc_sem_rec *rec = calloc(1, len);
	int ret;

	if (!rec)
		return -ENOMEM;
	rec->perm = (struct cr_ipc_perm){.id = id,
					 .key = ds->sem_perm.__key,
					 .uid = ds->sem_perm.uid,
					 .gid = ds->sem_perm.gid,
					 .cuid = ds->sem_perm.cuid,
					 .cgid = ds->sem_perm.cgid,
					 .mode = ds->sem_perm.mode};
	rec->nsems = n;
	if (semctl(id, 0, GETALL, (union semun){.array = (unsigned short *)(rec + 1)}) < 0) {
		pr_perror("Can't read the values of SysV semaphore set %d", id);
		ret = -errno;
	} else {
		ret = ipc_send(out, CR_REC_IPC_SEM, rec, len);
	}
	free(rec);
	return ret;
}

static int dump_sem(int out)
{
	struct seminfo info = {0};
	int max = semctl(0, 0, SEM_INFO, (union semun){.info = &info}), ret = 0;

	if (max < 0) {
		pr_perror("semctl(SEM_INFO)");
		return -errno;
	}
	for (int idx = 0; idx <= max && !ret; idx++) {
		struct semid_ds ds = {0};
		int id = semctl(idx, 0, SEM_STAT, (union semun){.buf = &ds});

		if (id >= 0)
			ret = send_set(out, id, &ds);
	}
	return ret;
}

static int check_sem(const void *r, uint32_t len)
{
	const struct cr_ipc_sem_rec *rec = r;

	return len >= sizeof(*rec) && len == sizeof(*rec) + rec->nsems * sizeof(uint16_t)
		       ? 0
		       : -EBADMSG;
}

static int make_sem(struct rst_image *img, const struct cr_owner *ow, const void *r)
{
	const struct cr_ipc_sem_rec *rec = r;
	const struct cr_ipc_perm *pm = &rec->perm;
	struct semid_ds ds = {0};
	int ret, id;

	(void)img;
	/* 0600 until the values are set */
	id = ipc_create(ow, CR_REC_IPC_SEM, pm->key, rec->nsems);
	ret = ipc_check_made("sem", pm, id);
	if (ret)
		return ret;
	ipc_perm_from(&ds.sem_perm, pm);
	if (semctl(id, 0, SETALL, (union semun){.array = (unsigned short *)(rec + 1)}) < 0 ||
	    semctl(id, 0, IPC_SET, (union semun){.buf = &ds}) < 0) {
		pr_perror("Can't set up SysV semaphore set %d", id);
		ret = -errno;
		semctl(id, 0, IPC_RMID);
	}
	return ret;
}

static int remove_sem(int id)
{
	return semctl(id, 0, IPC_RMID) < 0 ? -errno : 0;
}

const struct ipc_kind ipc_sem_kind = {
	.name = "sem",
	.rec = CR_REC_IPC_SEM,
	.dump = dump_sem,
	.check = check_sem,
	.make = make_sem,
	.remove = remove_sem,
};
