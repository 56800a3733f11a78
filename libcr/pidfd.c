// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pidfds (pidfd_open): what one stands for is a task, which fdinfo names
 * ("Pid:", in our pid namespace; -1 once it was reaped). A pidfd to a task
 * of the tree is saved as that task's pid in the image (obj_id), with
 * PIDFD_NONBLOCK (O_NONBLOCK) and PIDFD_THREAD (O_EXCL: then a thread's tid)
 * in the flags (a thread pidfd only of a thread-group leader: other threads
 * are made by the restorer, after the fds); one to a task outside the tree,
 * or to a reaped one, is refused. Restore: the restarter has no task to point at yet, so each
 * restored task opens its own pidfds itself (file_ops.install), by the
 * image's pids, which are the task's own view in either pid namespace mode;
 * a target not forked yet is waited for. One open pidfd shared by several
 * fds (dup) or tasks (fork, SCM_RIGHTS) comes back shared: the first task of
 * the image holding it opens it, at its first such fd; its other fds dup
 * that one, other tasks take a copy of it (pidfd_getfd), once it is there.
 * The restarter's stand-in can't be sent in flight: a pidfd in flight is
 * refused (file_ops.standin).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "pidfd: "
#include "log.h"
#include "files.h"

#define PIDFD_FLAGS (O_NONBLOCK | O_EXCL) /* PIDFD_NONBLOCK, PIDFD_THREAD */
#define WAIT_MS	    10000		  /* for a target task not forked yet */

static bool recognise_pidfd(const struct fd_info *fi)
{
	return !strcmp(fi->link, "anon_inode:[pidfd]");
}

/* The number of entries of the NSpid line of /proc/@pid/status into @ns[], at most @max. */
static int read_nspid(pid_t pid, pid_t *ns, int max, pid_t *tgid, pid_t *ppid)
{
	char *s = proc_read_file("/proc/%d/status", pid), val[256], *p, *end;
	int n = 0;

	if (!s)
		return errno ? -errno : -ESRCH;
	if (!proc_status_field(s, "Tgid", val, sizeof(val)))
		*tgid = atoi(val);
	if (!proc_status_field(s, "PPid", val, sizeof(val)))
		*ppid = atoi(val);
	if (!proc_status_field(s, "NSpid", val, sizeof(val)))
		for (p = val; n < max; p = end) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			ns[n++] = v;
		}
	free(s);
	return n > 0 ? n : -EIO;
}

/* 1 if thread or task @pid belongs to the tree of @root (descends from it), 0 if not. */
static int in_tree(pid_t root, pid_t pid)
{
	pid_t ns[32], tgid = 0, ppid = 0;

	for (int depth = 0; pid > 0 && depth < 4096; depth++) {
		if (read_nspid(pid, ns, 32, &tgid, &ppid) < 0)
			return 0;
		if (tgid == root)
			return 1;
		pid = tgid != pid ? tgid : ppid;
	}
	return 0;
}

/* The task @fi's pidfd stands for: its pid in the image in *npid, or refused. */
static int pidfd_target(const struct fd_info *fi, pid_t *npid)
{
	char *s = proc_read_file("/proc/%d/fdinfo/%d", fi->pid, fi->fd), *p;
	pid_t ns[32] = {0}, rootns[32] = {0}, tgid = 0, ppid = 0;
	int n, nroot;
	long pid;

	if (!s) {
		pr_perror("Can't read fdinfo of task %d fd %d", fi->pid, fi->fd);
		return errno ? -errno : -EIO;
	}
	p = strstr(s, "\nPid:");
	pid = p ? strtol(p + 5, NULL, 10) : 0;
	free(s);
	if (pid <= 0 || !in_tree(fi->root, pid)) {
		pr_err("Task %d fd %d: pidfd of %s %ld, %s: not supported\n", fi->pid, fi->fd,
		       fi->flags & O_EXCL ? "thread" : "task", pid,
		       pid < 0	  ? "which has exited and been reaped"
		       : pid == 0 ? "in a pid namespace we can't see"
				  : "outside the checkpointed tree");
		return -ENOTSUP;
	}
	n = read_nspid(pid, ns, 32, &tgid, &ppid);
	if (n > 0 && tgid != pid) {
		pr_err("Task %d fd %d: pidfd of thread %ld of task %d (PIDFD_THREAD): not "
		       "supported (threads are made after the fds at restore)\n",
		       fi->pid, fi->fd, pid, tgid);
		return -ENOTSUP;
	}
	nroot = read_nspid(fi->root, rootns, 32, &tgid, &ppid);
	if (n < 0 || nroot < 0 || n < nroot) {
		pr_err("Task %d fd %d: can't tell the pid of task %ld in the tree's pid "
		       "namespace\n",
		       fi->pid, fi->fd, pid);
		return -EIO;
	}
	*npid = ns[nroot - 1];
	return 0;
}

static int check_pidfd(const struct fd_info *fi)
{
	pid_t npid;

	return pidfd_target(fi, &npid);
}

static int dump_pidfd(struct cr_img *img, struct dump_ctx *ctx, const struct fd_info *fi,
		      struct cr_file_rec *rec)
{
	pid_t npid = 0;
	int ret;

	(void)img;
	(void)ctx;
	ret = pidfd_target(fi, &npid);
	rec->obj_id = npid;
	return ret;
}

/* A stand-in the tasks inherit at the pidfd's number until install() replaces it. */
static int open_pidfd(struct rst_image *img, const struct cr_restore_opts *opts,
		      const struct cr_file_rec *rec, int *fd)
{
	(void)img;
	(void)opts;
	if (rec->obj_id == 0 || rec->obj_id > 0x3fffffff) {
		pr_err("pidfd (file %u): bad pid %llu\n", rec->id, (unsigned long long)rec->obj_id);
		return -EBADMSG;
	}
	*fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		pr_perror("Can't open /dev/null for pidfd file %u", rec->id);
		return -errno;
	}
	return 0;
}

/* The first task of the image holding file @id (it opens the pidfd) and its first fd of it. */
static const struct rst_img_task *opener_of(const struct rst_image *img, uint32_t id, int *fd)
{
	for (size_t i = 0; i < img->ntasks; i++)
		for (size_t k = 0; k < img->tasks[i].nfds; k++)
			if (img->tasks[i].fds[k].file_id == id) {
				*fd = img->tasks[i].fds[k].fd;
				return &img->tasks[i];
			}
	return NULL;
}

/*
 * Is @fd a pidfd of the task @mine (a pidfd of ours) is? (Before the opener
 * has placed it, its fd is the stand-in, or one of the restarter's.) With
 * pidfs (Linux 6.9) each task's pidfds share one inode; before, every
 * pidfd the anon inode.
 */
static bool same_pidfd_task(int fd, int mine)
{
	struct stat a, b;

	return !fstat(fd, &a) && !fstat(mine, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* A copy of the opener's pidfd (task @o, fd @ofd), once it has placed it there. */
static int copy_pidfd(const struct rst_img_task *t, const struct rst_img_task *o, int ofd,
		      const struct cr_file_rec *rec)
{
	struct timespec tick = {0, 10 * 1000 * 1000};
	int opfd = -1, mine = -1, fd = -1;

	for (int waited = 0; fd < 0 && waited <= WAIT_MS; waited += 10) {
		if (opfd < 0)
			opfd = syscall(SYS_pidfd_open, o->rec->pid, 0);
		if (mine < 0)
			mine = syscall(SYS_pidfd_open, (pid_t)rec->obj_id, 0);
		if (opfd >= 0 && mine >= 0)
			fd = syscall(SYS_pidfd_getfd, opfd, ofd, 0);
		if (fd < 0 && errno != ESRCH && errno != EBADF)
			break;
		if (fd >= 0 && !same_pidfd_task(fd, mine)) {
			close(fd);
			fd = -1;
		}
		if (fd < 0)
			nanosleep(&tick, NULL);
	}
	if (fd < 0)
		pr_perror("Task %d: can't take the pidfd of task %llu that fd %d of task %d holds",
			  t->rec->pid, (unsigned long long)rec->obj_id, ofd, o->rec->pid);
	if (opfd >= 0)
		close(opfd);
	if (mine >= 0)
		close(mine);
	return fd;
}

/* A new pidfd of the image's task @rec->obj_id, waited for if not forked yet. */
static int open_target(const struct rst_img_task *t, const struct cr_file_rec *rec, int fd)
{
	struct timespec tick = {0, 10 * 1000 * 1000};
	int pfd = -1;

	for (int waited = 0; pfd < 0 && waited <= WAIT_MS; waited += 10) {
		pfd = syscall(SYS_pidfd_open, (pid_t)rec->obj_id, rec->flags & PIDFD_FLAGS);
		if (pfd < 0 && errno != ESRCH)
			break;
		if (pfd < 0)
			nanosleep(&tick, NULL);
	}
	if (pfd < 0)
		pr_perror("Task %d: can't open a pidfd of task %llu at fd %d", t->rec->pid,
			  (unsigned long long)rec->obj_id, fd);
	return pfd;
}

/* In the restored task: a pidfd of the image's task at @fd, shared as it was. */
static int install_pidfd(struct rst_image *img, const struct rst_img_task *t,
			 const struct cr_file_rec *rec, int fd)
{
	int pfd = -1, ofd = -1, cloexec = fcntl(fd, F_GETFD);
	const struct rst_img_task *o = opener_of(img, rec->id, &ofd);

	if (!o || (o == t && ofd == fd))
		pfd = open_target(t, rec, fd);
	else if (o != t)
		pfd = copy_pidfd(t, o, ofd, rec);
	else if ((pfd = fcntl(ofd, F_DUPFD_CLOEXEC, 0)) < 0) /* placed already: fd order */
		pr_perror("Task %d: can't dup its pidfd at fd %d for fd %d", t->rec->pid, ofd, fd);
	if (pfd < 0)
		return errno ? -errno : -EIO;
	if (dup3(pfd, fd, cloexec > 0 && (cloexec & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		pr_perror("Task %d: can't place its pidfd at fd %d", t->rec->pid, fd);
		close(pfd);
		return -errno;
	}
	close(pfd);
	return 0;
}

const struct file_ops pidfd_ops = {
	.name = "pidfd",
	.kind = CR_FILE_PIDFD,
	.standin = true,
	.recognise = recognise_pidfd,
	.check = check_pidfd,
	.dump = dump_pidfd,
	.open = open_pidfd,
	.install = install_pidfd,
};
