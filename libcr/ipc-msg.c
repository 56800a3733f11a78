// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * SysV message queues (ipc.h): id, key, owner, mode, qbytes and every
 * message, type and body, in queue order: msgrcv(MSG_COPY | IPC_NOWAIT)
 * reads the Nth without taking it (the kernel needs CONFIG_CHECKPOINT_RESTORE).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>

#undef LOG_PREFIX
#define LOG_PREFIX "ipc-msg: "
#include "internal.h"
#include "ipc.h"
#include "log.h"

#define MSG_ALIGN(n) (((n) + 7) & ~(size_t)7)

/* The messages of queue @id, appended after *rec (grown as needed). */
static int copy_messages(int id, const struct msqid_ds *ds, struct cr_ipc_msg_rec **rec,
			 size_t *len)
{
	size_t max = ds->__msg_cbytes;
	struct {
		long mtype;
		char text[];
	} *buf = malloc(sizeof(long) + max + 1);

	for (size_t i = 0; buf && i < ds->msg_qnum; i++) {
		ssize_t n = msgrcv(id, buf, max, (long)i, MSG_COPY | IPC_NOWAIT | MSG_NOERROR);
		struct cr_ipc_msg m = {.mtype = buf->mtype};
		void *nr;

		if (n < 0) {
			pr_perror("Can't copy message %zu of SysV queue %d%s", i, id,
				  errno == ENOSYS ? " (no MSG_COPY: the kernel needs "
						    "CONFIG_CHECKPOINT_RESTORE)"
						  : "");
			free(buf);
			return errno == ENOSYS ? -ENOTSUP : -errno;
		}
		m.len = n;
		nr = realloc(*rec, *len + sizeof(m) + MSG_ALIGN(n));
		if (!nr)
			break;
		*rec = nr;
		memcpy((char *)nr + *len, &m, sizeof(m));
		memset((char *)nr + *len + sizeof(m), 0, MSG_ALIGN(n));
		memcpy((char *)nr + *len + sizeof(m), buf->text, n);
		*len += sizeof(m) + MSG_ALIGN(n);
		(*rec)->nmsgs++;
	}
	free(buf);
	return buf && (*rec)->nmsgs == ds->msg_qnum ? 0 : -ENOMEM;
}

static int send_queue(int out, int id, const struct msqid_ds *ds)
{
	size_t len = sizeof(struct cr_ipc_msg_rec);
	struct cr_ipc_msg_rec *rec = calloc(1, len);
	int ret;

	if (!rec)
		return -ENOMEM;
	rec->perm = (struct cr_ipc_perm){.id = id,
					 .key = ds->msg_perm.__key,
					 .uid = ds->msg_perm.uid,
					 .gid = ds->msg_perm.gid,
					 .cuid = ds->msg_perm.cuid,
					 .cgid = ds->msg_perm.cgid,
					 .mode = ds->msg_perm.mode};
	rec->qbytes = ds->msg_qbytes;
	ret = copy_messages(id, ds, &rec, &len);
	if (!ret)
		ret = ipc_send(out, CR_REC_IPC_MSG, rec, len);
	free(rec);
	return ret;
}

static int dump_msg(int out)
{
	struct msginfo info;
	int max = msgctl(0, MSG_INFO, (struct msqid_ds *)&info), ret = 0;

	if (max < 0) {
		pr_perror("msgctl(MSG_INFO)");
		return -errno;
	}
	for (int idx = 0; idx <= max && !ret; idx++) {
		struct msqid_ds ds = {0};
		int id = msgctl(idx, MSG_STAT, &ds);

		if (id >= 0)
			ret = send_queue(out, id, &ds);
	}
	return ret;
}

static int check_msg(const void *r, uint32_t len)
{
	const struct cr_ipc_msg_rec *rec = r;
	size_t off = sizeof(*rec);

	if (len < off)
		return -EBADMSG;
	for (uint32_t i = 0; i < rec->nmsgs; i++) {
		const struct cr_ipc_msg *m = (const void *)((const char *)r + off);

		if (off + sizeof(*m) > len || m->mtype <= 0 || m->len > len - off - sizeof(*m))
			return -EBADMSG;
		off += sizeof(*m) + MSG_ALIGN(m->len);
	}
	return off == len ? 0 : -EBADMSG;
}

static int send_messages(int id, const struct cr_ipc_msg_rec *rec)
{
	const char *p = (const char *)(rec + 1);
	int ret = 0;

	for (uint32_t i = 0; i < rec->nmsgs && !ret; i++) {
		const struct cr_ipc_msg *m = (const void *)p;
		struct {
			long mtype;
			char text[];
		} *buf = malloc(sizeof(long) + m->len + 1);

		if (!buf)
			return -ENOMEM;
		buf->mtype = m->mtype;
		memcpy(buf->text, m + 1, m->len);
		if (msgsnd(id, buf, m->len, IPC_NOWAIT) < 0) {
			pr_perror("Can't queue message %u to SysV queue %d", i, id);
			ret = -errno;
		}
		free(buf);
		p += sizeof(*m) + MSG_ALIGN(m->len);
	}
	return ret;
}

static int make_msg(struct rst_image *img, const struct cr_owner *ow, const void *r)
{
	const struct cr_ipc_msg_rec *rec = r;
	const struct cr_ipc_perm *pm = &rec->perm;
	struct msqid_ds ds = {0};
	int ret, id;

	(void)img;
	/* 0600 until every message is in */
	id = ipc_create(ow, CR_REC_IPC_MSG, pm->key, 0);
	ret = ipc_check_made("msg", pm, id);
	if (ret)
		return ret;
	if (msgctl(id, IPC_STAT, &ds) < 0)
		ret = -errno;
	ds.msg_qbytes = rec->qbytes;
	if (!ret && msgctl(id, IPC_SET, &ds) < 0)
		ret = -errno;
	if (!ret)
		ret = send_messages(id, rec);
	ipc_perm_from(&ds.msg_perm, pm);
	if (!ret && msgctl(id, IPC_SET, &ds) < 0)
		ret = -errno;
	if (ret) {
		pr_err("Can't set up SysV queue %d: %s\n", id, strerror(-ret));
		msgctl(id, IPC_RMID, NULL);
	}
	return ret;
}

static int remove_msg(int id)
{
	return msgctl(id, IPC_RMID, NULL) < 0 ? -errno : 0;
}

const struct ipc_kind ipc_msg_kind = {
	.name = "msg",
	.rec = CR_REC_IPC_MSG,
	.dump = dump_msg,
	.check = check_msg,
	.make = make_msg,
	.remove = remove_msg,
};
