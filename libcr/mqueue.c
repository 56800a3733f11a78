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
#include <time.h>
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

/* A registered mq_notify shows as NOTIFY_PID in what a read() of the queue gives. */
static int check_mqueue(const struct fd_info *fi)
{
	int fd = reopen_queue(fi), pid = 0;
	char buf[256], *p;
	ssize_t n;

	if (fd < 0)
		return fd;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
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
	return 0;
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

struct mq_msgs {
	char *buf; /* struct cr_mq_msg + body, each */
	size_t len, cap;
	uint32_t n;
};

static int add_msg(struct mq_msgs *m, const char *body, uint32_t len, uint32_t prio)
{
	struct cr_mq_msg h = {.prio = prio, .len = len};
	size_t need = m->len + sizeof(h) + len;

	if (need > MQ_MAX_BYTES)
		return -EFBIG;
	if (need > m->cap) {
		size_t cap = need * 2 > MQ_MAX_BYTES ? MQ_MAX_BYTES : need * 2;
		char *nb = realloc(m->buf, cap);

		if (!nb)
			return -ENOMEM;
		m->buf = nb;
		m->cap = cap;
	}
	memcpy(m->buf + m->len, &h, sizeof(h));
	memcpy(m->buf + m->len + sizeof(h), body, len);
	m->len = need;
	m->n++;
	return 0;
}

/* Send the messages back, in the order received: the queue is as it was. */
static int refill(int fd, const char *what, const char *buf, size_t len)
{
	struct timespec now = {0, 0};

	for (size_t off = 0; off < len;) {
		struct cr_mq_msg h;

		memcpy(&h, buf + off, sizeof(h));
		if (mq_timedsend(fd, buf + off + sizeof(h), h.len, h.prio, &now) < 0) {
			pr_perror("Can't put a message back into POSIX message queue %s", what);
			return -errno;
		}
		off += sizeof(h) + h.len;
	}
	return 0;
}

/* Every message, received then sent back; the tree is frozen meanwhile. */
static int drain_and_refill(int fd, const struct fd_info *fi, long msgsize, struct mq_msgs *m)
{
	struct timespec now = {0, 0};
	char *body = malloc(msgsize);
	unsigned int prio;
	int ret = 0, put;
	ssize_t n;

	if (!body)
		return -ENOMEM;
	while ((n = mq_timedreceive(fd, body, msgsize, &prio, &now)) >= 0 && !ret)
		ret = add_msg(m, body, n, prio);
	if (n < 0 && errno != EAGAIN && errno != ETIMEDOUT && !ret) {
		ret = -errno;
		pr_perror("Can't read POSIX message queue %s (task %d fd %d)", fi->link, fi->pid,
			  fi->fd);
	} else if (ret) {
		pr_err("POSIX message queue %s (task %d fd %d): %s\n", fi->link, fi->pid, fi->fd,
		       ret == -EFBIG ? "more than 256 MiB of messages" : "no memory");
	}
	/* whatever happened, what was taken goes back */
	put = refill(fd, fi->link, m->buf, m->len);
	if (put)
		pr_err("POSIX message queue %s of task %d lost messages\n", fi->link, fi->pid);
	free(body);
	return ret ? ret : put;
}

static int dump_one_queue(struct cr_img *img, const struct fd_info *fi, uint64_t id)
{
	struct cr_mqueue_rec rec = {.id = id};
	struct mq_msgs m = {0};
	struct mq_attr attr;
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
	if (ret)
		goto out;
	rec.mode = st.st_mode & 07777;
	rec.uid = st.st_uid;
	rec.gid = st.st_gid;
	rec.maxmsg = attr.mq_maxmsg;
	rec.msgsize = attr.mq_msgsize;
	ret = drain_and_refill(fd, fi, attr.mq_msgsize, &m);
	if (ret)
		goto out;
	rec.nmsgs = m.n;
	rec.ndata = m.len;
	ret = cr_img_write2(img, CR_REC_MQUEUE, &rec, sizeof(rec), m.buf, m.len);
out:
	free(m.buf);
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
