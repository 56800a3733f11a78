// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * POSIX message queues (mq_open): each queue once (a cr_mqueue_rec, by
 * inode) with its name, owner, mode, mq_maxmsg, mq_msgsize and its messages
 * with their priorities; O_NONBLOCK and the access mode are the open file's
 * (cr_file_rec flags). The messages are read from a new open of the task's
 * fd (/proc/PID/fd/N, read-write whatever the task's mode): every one is
 * received, then sent back in the order received (priority, then age), which
 * is the order they had, while the tree is frozen. A queue with a
 * notification registered (mq_notify) is refused: the registration names a
 * task and a sigevent that can't be read back, and refilling the queue
 * would fire it. Restore: the restarter makes each queue in its own IPC
 * namespace (mq_open O_EXCL: a queue of that name there is refused) and
 * refills it; an unlinked queue is made under a temporary name, unlinked
 * again at once and reached through the restarter's fd. Each open file is a
 * reopen of that fd (/proc/self/fd) with its own flags.
 */
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "mqueue: "
#include "log.h"
#include "files.h"

#define MQUEUE_MAGIC 0x19800202
#define MQ_MAX_BYTES (256u << 20) /* of messages in one record */
#define DELETED	     " (deleted)"

static bool recognise_mqueue(const struct fd_info *fi)
{
	char path[64];
	struct statfs sf;

	if (!S_ISREG(fi->st.st_mode) || fi->link[0] != '/')
		return false;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", fi->pid, fi->fd);
	return !statfs(path, &sf) && sf.f_type == MQUEUE_MAGIC;
}

/* A new read-write open of the task's queue: its messages can be read through it. */
static int reopen_queue(const struct fd_info *fi)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", fi->pid, fi->fd);
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("Can't open POSIX message queue %s of task %d (fd %d)", fi->link, fi->pid,
			  fi->fd);
		return -errno;
	}
	return fd;
}

/*
 * Room for as many messages as the queue can hold, or -ENOTSUP: taken before
 * the first receive, so that every message received has a place to go back
 * from (a failure half-way through would lose the rest).
 */
static int queue_room(const struct fd_info *fi, const struct mq_attr *a, size_t *room)
{
	uint64_t r = (uint64_t)a->mq_maxmsg * (sizeof(struct cr_mq_msg) + a->mq_msgsize);

	if (a->mq_maxmsg <= 0 || a->mq_msgsize <= 0 || r > MQ_MAX_BYTES) {
		pr_err("Task %d fd %d: POSIX message queue %s holds up to %ld messages of %ld "
		       "bytes: more than 256 MiB, not supported\n",
		       fi->pid, fi->fd, fi->link, (long)a->mq_maxmsg, (long)a->mq_msgsize);
		return -ENOTSUP;
	}
	*room = r;
	return 0;
}

/* A registered mq_notify shows as NOTIFY_PID in what a read() of the queue gives. */
static int check_mqueue(const struct fd_info *fi)
{
	int fd = reopen_queue(fi), pid = 0;
	struct mq_attr attr;
	char buf[256], *p;
	size_t room;
	ssize_t n;

	if (fd < 0)
		return fd;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n >= 0 && mq_getattr(fd, &attr) < 0)
		n = -1;
	close(fd);
	if (n < 0) {
		pr_perror("Can't read the state of POSIX message queue %s (task %d fd %d)",
			  fi->link, fi->pid, fi->fd);
		return -EIO;
	}
	buf[n] = 0;
	p = strstr(buf, "NOTIFY_PID:");
	if (p)
		pid = atoi(p + strlen("NOTIFY_PID:"));
	if (!p || pid) {
		pr_err("Task %d fd %d: POSIX message queue %s has a notification registered "
		       "(mq_notify, by pid %d): not supported\n",
		       fi->pid, fi->fd, fi->link, pid);
		return -ENOTSUP;
	}
	return queue_room(fi, &attr, &room);
}

/* The queue's name from the fd's link: "/name", or "/name (deleted)" once unlinked. */
static int queue_name(const struct fd_info *fi, const struct stat *st, struct cr_mqueue_rec *rec)
{
	size_t len = strlen(fi->link + 1), dl = strlen(DELETED);

	rec->unlinked = st->st_nlink == 0;
	if (rec->unlinked && len >= dl && !strcmp(fi->link + 1 + len - dl, DELETED))
		len -= dl;
	if (len == 0 || len >= sizeof(rec->name)) {
		pr_err("Task %d fd %d: POSIX message queue %s has no name we can use\n", fi->pid,
		       fi->fd, fi->link);
		return -ENOTSUP;
	}
	memcpy(rec->name, fi->link + 1, len);
	rec->name[len] = 0;
	return 0;
}

/* Send the messages back, in the order received: the queue is as it was. */
static int refill(int fd, const char *what, const char *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		struct cr_mq_msg h;

		memcpy(&h, buf + off, sizeof(h));
		if (mq_send(fd, buf + off + sizeof(h), h.len, h.prio) < 0) {
			pr_perror("Can't put a message back into POSIX message queue %s", what);
			return -errno;
		}
		off += sizeof(h) + h.len;
	}
	return 0;
}

/*
 * Every message into @buf (@room bytes), received then sent back; the tree
 * is frozen meanwhile. *len: the bytes used, *nmsgs: the messages.
 */
static int drain_and_refill(int fd, const struct fd_info *fi, long msgsize, char *buf, size_t room,
			    size_t *len, uint32_t *nmsgs)
{
	struct cr_mq_msg h;
	int ret = 0, put;
	ssize_t n;

	*len = 0;
	*nmsgs = 0;
	/* a full queue fits: more can only come from a sender outside the tree */
	while (room - *len >= sizeof(h) + msgsize &&
	       (n = mq_receive(fd, buf + *len + sizeof(h), msgsize, &h.prio)) >= 0) {
		h.len = n;
		memcpy(buf + *len, &h, sizeof(h));
		*len += sizeof(h) + n;
		(*nmsgs)++;
	}
	if (room - *len >= sizeof(h) + msgsize && errno != EAGAIN) {
		ret = -errno;
		pr_perror("Can't read POSIX message queue %s (task %d fd %d)", fi->link, fi->pid,
			  fi->fd);
	}
	/* whatever happened, what was taken goes back */
	put = refill(fd, fi->link, buf, *len);
	if (put)
		pr_err("POSIX message queue %s of task %d lost messages\n", fi->link, fi->pid);
	return ret ? ret : put;
}

static int dump_one_queue(struct cr_img *img, const struct fd_info *fi, uint64_t id)
{
	struct cr_mqueue_rec rec = {.id = id};
	struct mq_attr attr;
	size_t room = 0, len = 0;
	char *buf = NULL;
	struct stat st;
	int fd, ret;

	fd = reopen_queue(fi);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || mq_getattr(fd, &attr) < 0) {
		ret = -errno;
		pr_perror("Can't read the attributes of POSIX message queue %s (task %d fd %d)",
			  fi->link, fi->pid, fi->fd);
		goto out;
	}
	ret = queue_name(fi, &st, &rec);
	if (!ret)
		ret = queue_room(fi, &attr, &room);
	if (ret)
		goto out;
	rec.mode = st.st_mode & 07777;
	rec.uid = st.st_uid;
	rec.gid = st.st_gid;
	rec.maxmsg = attr.mq_maxmsg;
	rec.msgsize = attr.mq_msgsize;
	buf = malloc(room);
	if (!buf) {
		pr_err("No memory for the messages of POSIX message queue %s\n", fi->link);
		ret = -ENOMEM;
		goto out;
	}
	ret = drain_and_refill(fd, fi, attr.mq_msgsize, buf, room, &len, &rec.nmsgs);
	if (ret)
		goto out;
	rec.ndata = len;
	ret = cr_img_write2(img, CR_REC_MQUEUE, &rec, sizeof(rec), buf, len);
out:
	free(buf);
	close(fd);
	return ret;
}

static int dump_mqueue(struct cr_img *img, struct dump_ctx *ctx, const struct fd_info *fi,
		       struct cr_file_rec *rec)
{
	int ret;

	rec->obj_id = fi->st.st_ino;
	ret = claim_dump_object(ctx, CR_REC_MQUEUE, rec->obj_id);
	if (ret <= 0)
		return ret;
	return dump_one_queue(img, fi, rec->obj_id);
}

/* ---- restore ---- */

static int collect_mqueue(struct cr_img *img, const struct cr_rec_hdr *h, struct rst_file_obj *obj)
{
	struct cr_mqueue_rec *mq = obj->rec;
	const char *p = (const char *)(mq + 1);
	size_t off = 0;
	int ret;

	ret = image_check_len(img, h, sizeof(*mq), h->len < sizeof(*mq) ? 0 : mq->ndata);
	if (ret)
		return ret;
	if (!memchr(mq->name, 0, sizeof(mq->name)) || !mq->name[0] || strchr(mq->name, '/') ||
	    mq->maxmsg <= 0 || mq->msgsize <= 0 || mq->nmsgs > mq->maxmsg)
		goto bad;
	for (uint32_t i = 0; i < mq->nmsgs; i++) {
		struct cr_mq_msg m;

		if (mq->ndata - off < sizeof(m))
			goto bad;
		memcpy(&m, p + off, sizeof(m));
		if (m.len > mq->msgsize || mq->ndata - off - sizeof(m) < m.len)
			goto bad;
		off += sizeof(m) + m.len;
	}
	if (off != mq->ndata)
		goto bad;
	obj->id = mq->id;
	return 0;
bad:
	pr_err("%s: bad POSIX message queue record at offset %llu\n", img->path,
	       (unsigned long long)img->off);
	return -EBADMSG;
}

static int make_queue(const struct cr_mqueue_rec *rec, const char *name)
{
	struct mq_attr attr = {.mq_maxmsg = rec->maxmsg, .mq_msgsize = rec->msgsize};
	int fd = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK | O_CLOEXEC, 0600, &attr);
	int err = errno;

	if (fd >= 0)
		return fd;
	if (err == EEXIST) {
		/* not -EEXIST: cr's exit status for that is "a pid is in use" */
		pr_err("POSIX message queue /%s exists already in the restart's IPC namespace: "
		       "restart in a new one (e.g. unshare --ipc)\n",
		       rec->name);
		return -EBUSY;
	}
	if (err == EINVAL)
		pr_err("Can't make POSIX message queue /%s with mq_maxmsg %lld, mq_msgsize %lld: "
		       "above /proc/sys/fs/mqueue/msg_max or msgsize_max here?\n",
		       rec->name, (long long)rec->maxmsg, (long long)rec->msgsize);
	else
		pr_perror("Can't make POSIX message queue /%s", rec->name);
	return -err;
}

/* The queue, owned and filled as it was; its fd is the image's (svc_fd[0]). */
static int prepare_mqueue(struct rst_image *img, const struct cr_restore_opts *opts,
			  struct rst_file_obj *obj)
{
	const struct cr_mqueue_rec *rec = obj->rec;
	char name[sizeof(rec->name) + 64];
	int fd, ret = 0;

	(void)img;
	(void)opts;
	if (rec->unlinked)
		snprintf(name, sizeof(name), "/cr-restore-%d-%llu", getpid(),
			 (unsigned long long)rec->id);
	else
		snprintf(name, sizeof(name), "/%s", rec->name);
	fd = make_queue(rec, name);
	if (fd < 0)
		return fd;
	obj->svc_fd[0] = fd;
	if (rec->unlinked && mq_unlink(name) < 0) {
		pr_perror("Can't unlink %s (POSIX message queue /%s, unlinked)", name, rec->name);
		return -errno;
	}
	if (fchown(fd, rec->uid, rec->gid) < 0 || fchmod(fd, rec->mode) < 0) {
		pr_perror("Can't give POSIX message queue /%s owner %u:%u and mode %#o", rec->name,
			  rec->uid, rec->gid, rec->mode);
		ret = -errno;
	}
	if (!ret)
		ret = refill(fd, rec->name, (const char *)(rec + 1), rec->ndata);
	if (ret && !rec->unlinked)
		mq_unlink(name);
	return ret;
}

static int open_mqueue(struct rst_image *img, const struct cr_restore_opts *opts,
		       const struct cr_file_rec *rec, int *fd)
{
	struct rst_file_obj *obj = find_file_obj(img, CR_REC_MQUEUE, rec->obj_id);
	char path[64];

	(void)opts;
	if (!obj || obj->svc_fd[0] < 0) {
		pr_err("POSIX message queue %llu of file %u is missing from the image\n",
		       (unsigned long long)rec->obj_id, rec->id);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", obj->svc_fd[0]);
	*fd = open(path, (rec->flags & (O_ACCMODE | O_NONBLOCK)) | O_CLOEXEC);
	if (*fd < 0) {
		pr_perror("Can't open POSIX message queue %s (file %u)", rec->path, rec->id);
		return -errno;
	}
	return 0;
}

const struct file_ops mqueue_ops = {
	.name = "mqueue",
	.kind = CR_FILE_MQUEUE,
	.obj_type = CR_REC_MQUEUE,
	.recognise = recognise_mqueue,
	.check = check_mqueue,
	.dump = dump_mqueue,
	.collect = collect_mqueue,
	.prepare = prepare_mqueue,
	.open = open_mqueue,
};
