// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * epoll: every registered target (fdinfo "tfd: N events: E data: D"), kept
 * in one cr_epoll_rec per instance. A registration is keyed by (file, fd
 * number), the number it was added under: the task may have closed that
 * number since (the file living on through a dup) or reused it for another
 * file. kcmp(KCMP_EPOLL_TFD) finds, among the dumping task's fds, one that
 * holds each target's file; a target no fd of that task holds is refused.
 * Restore: the restarter makes the instance; the registrations are added in
 * the restored task once all its fds are in place (file_ops.install), each
 * under its own number: a target held at another number is dup'ed to it
 * for the EPOLL_CTL_ADD, and whatever the task holds there is put back.
 * Not kept: a EPOLLONESHOT target that has fired gets EPOLLERR|EPOLLHUP
 * back (every EPOLL_CTL_ADD sets them); an EPOLLET target ready at dump is
 * reported once more after restore (epoll checks readiness at ADD).
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "epoll: "
#include "log.h"
#include "files.h"
#include "owner-act.h"

struct kcmp_epoll_slot_ {
	uint32_t efd, tfd, toff;
};

static bool recognise_epoll(const struct fd_info *fi)
{
	return !strcmp(fi->link, "anon_inode:[eventpoll]");
}

/* The registrations of one epoll, in fdinfo order; holder still unknown (-1). */
static int read_targets(const struct fd_info *fi, struct cr_epoll_tfd **out, uint32_t *n)
{
	char *s = proc_read_file("/proc/%d/fdinfo/%d", fi->pid, fi->fd), *p;
	struct cr_epoll_tfd *t = NULL, *nt;
	unsigned long long data;
	unsigned int events;
	int tfd, ret = 0;

	*n = 0;
	*out = NULL;
	if (!s) {
		pr_perror("Can't read fdinfo of task %d fd %d", fi->pid, fi->fd);
		return errno ? -errno : -EIO;
	}
	for (p = strstr(s, "tfd:"); p; p = strstr(p + 1, "\ntfd:")) {
		if (*p == '\n')
			p++;
		if (sscanf(p, "tfd: %d events: %x data: %llx", &tfd, &events, &data) != 3) {
			pr_err("Task %d fd %d: can't parse epoll fdinfo line \"%.60s\"\n", fi->pid,
			       fi->fd, p);
			ret = -ENOTSUP;
			break;
		}
		nt = realloc(t, (*n + 1) * sizeof(*t));
		if (!nt) {
			pr_err("No memory for the targets of epoll fd %d of task %d\n", fi->fd,
			       fi->pid);
			ret = -ENOMEM;
			break;
		}
		t = nt;
		t[(*n)++] = (struct cr_epoll_tfd){
			.tfd = tfd, .holder = -1, .events = events, .data = data};
	}
	free(s);
	if (ret)
		free(t);
	*out = ret ? NULL : t;
	return ret;
}

static bool holds_target(const struct fd_info *fi, int fd, int tfd, int toff)
{
	struct kcmp_epoll_slot_ slot = {fi->fd, tfd, toff};

	return syscall(SYS_kcmp, fi->pid, fi->pid, KCMP_EPOLL_TFD, fd, &slot) == 0;
}

/* Which fd of the task holds target @i (its number first): -1 if none. */
static int find_holder(const struct fd_info *fi, const struct cr_epoll_tfd *t, uint32_t i)
{
	int toff = 0, holder = -1;
	struct dirent *de;
	char path[64];
	DIR *d;

	for (uint32_t k = 0; k < i; k++)
		toff += t[k].tfd == t[i].tfd;
	if (holds_target(fi, t[i].tfd, t[i].tfd, toff))
		return t[i].tfd;
	snprintf(path, sizeof(path), "/proc/%d/fd", fi->pid);
	d = opendir(path);
	while (d && (de = readdir(d)) && holder < 0)
		if (de->d_name[0] != '.' && holds_target(fi, atoi(de->d_name), t[i].tfd, toff))
			holder = atoi(de->d_name);
	if (d)
		closedir(d);
	return holder;
}

/* Targets with their holders; a target no fd of the task holds is refused. */
static int read_epoll(const struct fd_info *fi, struct cr_epoll_tfd **t, uint32_t *n)
{
	int ret = read_targets(fi, t, n);

	for (uint32_t i = 0; !ret && i < *n; i++) {
		(*t)[i].holder = find_holder(fi, *t, i);
		if ((*t)[i].holder < 0) {
			pr_err("Task %d epoll fd %d: target fd %d (registered, since closed) is "
			       "held by no fd of the task: not supported\n",
			       fi->pid, fi->fd, (*t)[i].tfd);
			ret = -ENOTSUP;
		}
	}
	if (ret) {
		free(*t);
		*t = NULL;
	}
	return ret;
}

static int check_epoll(const struct fd_info *fi)
{
	struct cr_epoll_tfd *t = NULL;
	uint32_t n;
	int ret = read_epoll(fi, &t, &n);

	free(t);
	return ret;
}

static int dump_epoll(struct cr_img *img, struct dump_ctx *ctx, const struct fd_info *fi,
		      struct cr_file_rec *rec)
{
	struct cr_epoll_rec er = {.id = rec->id, .pid = fi->npid, .efd = fi->fd};
	struct cr_epoll_tfd *t = NULL;
	int ret;

	(void)ctx;
	ret = read_epoll(fi, &t, &er.ntfds);
	if (ret)
		return ret;
	rec->obj_id = er.id;
	ret = cr_img_write2(img, CR_REC_EPOLL, &er, sizeof(er), t, er.ntfds * sizeof(*t));
	free(t);
	return ret;
}

static int collect_epoll(struct cr_img *img, const struct cr_rec_hdr *h, struct rst_file_obj *obj)
{
	struct cr_epoll_rec *er = obj->rec;
	int ret;

	ret = image_check_len(img, h, sizeof(*er),
			      h->len < sizeof(*er) ? 0 : er->ntfds * sizeof(struct cr_epoll_tfd));
	if (ret)
		return ret;
	obj->id = er->id;
	return 0;
}

/* Does task @t hold fd @fd (of file @file_id, unless 0)? */
static bool task_has_fd(const struct rst_img_task *t, int fd, uint32_t file_id)
{
	for (size_t k = 0; k < t->nfds; k++)
		if (t->fds[k].fd == fd && (!file_id || t->fds[k].file_id == file_id))
			return true;
	return false;
}

/*
 * Before any fork: the task and fd the record names hold this epoll, and
 * each target is held by an fd of that task, under a number the task can
 * have, neither being the epoll itself. Under the owner policy EPOLLWAKEUP
 * goes, as the kernel drops it for a task without CAP_BLOCK_SUSPEND.
 */
static int check_targets(struct rst_image *img, const struct cr_restore_opts *opts,
			 const struct cr_file_rec *rec, struct cr_epoll_rec *er)
{
	struct cr_epoll_tfd *t = (struct cr_epoll_tfd *)(er + 1);
	const struct rst_img_task *task = NULL;

	for (size_t i = 0; i < img->ntasks && !task; i++)
		if (img->tasks[i].rec->pid == er->pid)
			task = &img->tasks[i];
	if (!task || !task_has_fd(task, er->efd, rec->id)) {
		pr_err("Epoll %llu: task %d fd %d, which the image names, does not hold it\n",
		       (unsigned long long)er->id, er->pid, er->efd);
		return -EBADMSG;
	}
	for (uint32_t i = 0; i < er->ntfds; i++) {
		int tfd = t[i].tfd, h = t[i].holder;

		if (tfd == er->efd || h == er->efd) {
			pr_err("Task %d epoll fd %d: target %d (held by fd %d) is the epoll "
			       "itself\n",
			       er->pid, er->efd, tfd, h);
			return -EBADMSG;
		}
		if (tfd < 0 || tfd > img->max_fd) {
			pr_err("Task %d epoll fd %d: target %d is not an fd number of the tree "
			       "(0..%d)\n",
			       er->pid, er->efd, tfd, img->max_fd);
			return -EBADMSG;
		}
		if (!task_has_fd(task, h, 0)) {
			pr_err("Task %d epoll fd %d: target %d is held by fd %d, which the task "
			       "does not hold\n",
			       er->pid, er->efd, tfd, h);
			return -EBADMSG;
		}
		if (opts && opts->owner)
			t[i].events &= ~EPOLLWAKEUP;
	}
	return 0;
}

static int open_epoll(struct rst_image *img, const struct cr_restore_opts *opts,
		      const struct cr_file_rec *rec, int *fd)
{
	struct rst_file_obj *obj = find_file_obj(img, CR_REC_EPOLL, rec->obj_id);
	struct owner_act act;
	int ret;

	if (!obj) {
		pr_err("Epoll %llu of file %u is missing from the image\n",
		       (unsigned long long)rec->obj_id, rec->id);
		return -EINVAL;
	}
	ret = check_targets(img, opts, rec, obj->rec);
	if (!ret)
		ret = owner_act_begin(opts ? opts->owner : NULL, &act);
	if (ret)
		return ret;
	/* the owner's (owner-act.h): its registrations count against its max_user_watches */
	*fd = epoll_create1(EPOLL_CLOEXEC);
	ret = errno;
	owner_act_end(&act);
	errno = ret;
	if (*fd < 0 || fcntl(*fd, F_SETFL, rec->flags & O_NONBLOCK) < 0) {
		int err = errno;

		pr_perror("Can't create epoll (file %u)", rec->id);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -err;
	}
	return 0;
}

/*
 * Add @t under its own number: if the holder is another fd, put the target
 * there for the ADD, saving (and then restoring) what the task has there.
 */
static int add_target(int epfd, pid_t pid, const struct cr_epoll_tfd *t)
{
	struct epoll_event ev = {.events = t->events, .data.u64 = t->data};
	int saved = -1, fdfl = -1, ret = 0;

	if (t->holder != t->tfd) {
		fdfl = fcntl(t->tfd, F_GETFD);
		if (fdfl >= 0)
			saved = fcntl(t->tfd, F_DUPFD_CLOEXEC, t->tfd + 1);
		if ((fdfl >= 0 && saved < 0) || dup2(t->holder, t->tfd) < 0) {
			pr_perror("Task %d: can't put epoll target fd %d at %d", pid, t->holder,
				  t->tfd);
			return -errno;
		}
	}
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, t->tfd, &ev) < 0) {
		ret = -errno;
		pr_perror("Task %d: can't add fd %d (events %#x) to epoll fd %d", pid, t->tfd,
			  t->events, epfd);
	}
	if (t->holder != t->tfd) {
		if (saved >= 0 && dup3(saved, t->tfd, fdfl & FD_CLOEXEC ? O_CLOEXEC : 0) < 0 &&
		    !ret) {
			ret = -errno;
			pr_perror("Task %d: can't put fd %d back", pid, t->tfd);
		}
		close(saved >= 0 ? saved : t->tfd);
	}
	return ret;
}

/* In the task that dumped it, at the fd it was dumped from: every registration. */
static int install_epoll(struct rst_image *img, const struct rst_img_task *t,
			 const struct cr_file_rec *rec, int fd)
{
	struct rst_file_obj *obj = find_file_obj(img, CR_REC_EPOLL, rec->obj_id);
	const struct cr_epoll_rec *er = obj ? obj->rec : NULL;
	const struct cr_epoll_tfd *tfds = er ? (const void *)(er + 1) : NULL;
	int ret = 0;

	if (!er || er->pid != t->rec->pid || er->efd != fd)
		return 0;
	for (uint32_t i = 0; i < er->ntfds && !ret; i++)
		ret = add_target(fd, t->rec->pid, &tfds[i]);
	return ret;
}

const struct file_ops epoll_ops = {
	.name = "epoll",
	.kind = CR_FILE_EPOLL,
	.obj_type = CR_REC_EPOLL,
	.recognise = recognise_epoll,
	.check = check_epoll,
	.dump = dump_epoll,
	.collect = collect_epoll,
	.open = open_epoll,
	.install = install_epoll,
};
