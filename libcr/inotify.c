// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * inotify: its watches (fdinfo "inotify wd: ino: sdev: mask: ... f_handle:"),
 * each by path with its mask and watch descriptor, in one cr_inotify_rec.
 * The path: the watched inode opened by its file handle (open_by_handle_at
 * on the task's mount of that device), then the name that open has, which
 * must lead back to the same inode from the tree's root. Restore: the
 * watches are added again in wd order; a gap in the numbers (watches
 * removed) is made again by adding and removing the watch until the kernel
 * hands out the recorded number. Events not yet read cannot be put back:
 * an inotify fd with some is refused. Events the restore itself causes on
 * watched files (cr opening or closing them) may be queued.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "inotify: "
#include "log.h"
#include "files.h"
#include "owner-act.h"

struct watch_info {
	int wd;
	unsigned int mask;
	unsigned long ino;
	unsigned int sdev;
	struct file_handle *fh;
};

static bool recognise_inotify(const struct fd_info *fi)
{
	return !strcmp(fi->link, "anon_inode:inotify");
}

/* One "inotify wd:" line; -EINVAL if it can't be read. */
static int parse_watch(const char *p, struct watch_info *w)
{
	unsigned int bytes, off = 0;
	int type, n = 0;

	if (sscanf(p,
		   "inotify wd:%d ino:%lx sdev:%x mask:%x ignored_mask:%*x fhandle-bytes:%x "
		   "fhandle-type:%x f_handle:%n",
		   &w->wd, &w->ino, &w->sdev, &w->mask, &bytes, &type, &n) != 6 ||
	    !n || bytes > 128)
		return -EINVAL;
	w->fh = calloc(1, sizeof(*w->fh) + bytes);
	if (!w->fh)
		return -ENOMEM;
	w->fh->handle_bytes = bytes;
	w->fh->handle_type = type;
	for (p += n; off < bytes && sscanf(p + 2 * off, "%2hhx", &w->fh->f_handle[off]) == 1;)
		off++;
	return off == bytes ? 0 : -EINVAL;
}

/* An fd (O_PATH) of the watched inode, through a mount of its device in task @pid. */
static int open_watched(pid_t pid, const struct watch_info *w)
{
	char *mi = proc_read_file("/proc/%d/mountinfo", pid), *line, *save = NULL;
	char mnt[CR_PATH_LEN], path[CR_PATH_LEN + 32];
	unsigned int maj, min;
	int fd = -1;

	for (line = mi ? strtok_r(mi, "\n", &save) : NULL; line && fd < 0;
	     line = strtok_r(NULL, "\n", &save)) {
		int mfd;

		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min, mnt) != 3 ||
		    maj != w->sdev >> 20 || min != (w->sdev & 0xfffff))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/root%s", pid, mnt);
		/* not O_PATH: open_by_handle_at takes no O_PATH mount fd */
		mfd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (mfd < 0)
			continue;
		fd = open_by_handle_at(mfd, w->fh, O_PATH | O_CLOEXEC);
		close(mfd);
	}
	free(mi);
	return fd;
}

/* The path of watch @w, checked to lead to its inode from the tree's root. */
static int watch_path(const struct fd_info *fi, const struct watch_info *w, char *path)
{
	struct stat st, st2;
	char buf[CR_PATH_LEN + 32];
	int fd = open_watched(fi->pid, w), ret = -ENOTSUP;

	if (fd < 0) {
		pr_perror(
			"Task %d inotify fd %d: can't open the inode %lu of watch %d by its handle",
			fi->pid, fi->fd, w->ino, w->wd);
		return -ENOTSUP;
	}
	if (!fstat(fd, &st) && st.st_ino == w->ino &&
	    !proc_readlink(path, CR_PATH_LEN, "/proc/self/fd/%d", fd) && path[0] == '/') {
		snprintf(buf, sizeof(buf), "/proc/%d/root%s", fi->root, path);
		if (!lstat(buf, &st2) && st2.st_ino == st.st_ino && st2.st_dev == st.st_dev)
			ret = 0;
	}
	if (ret)
		pr_err("Task %d inotify fd %d: watch %d (inode %lu) has no name that leads to it: "
		       "not supported\n",
		       fi->pid, fi->fd, w->wd, w->ino);
	close(fd);
	return ret;
}

static int cmp_wd(const void *a, const void *b)
{
	return ((const struct cr_inotify_watch *)a)->wd - ((const struct cr_inotify_watch *)b)->wd;
}

/* Every watch, by path, in wd order. */
static int read_watches(const struct fd_info *fi, struct cr_inotify_watch **out, uint32_t *n)
{
	char *s = proc_read_file("/proc/%d/fdinfo/%d", fi->pid, fi->fd), *p;
	struct cr_inotify_watch *ws = NULL, *nw;
	int ret = s ? 0 : -EIO;

	*n = 0;
	for (p = s ? strstr(s, "inotify wd:") : NULL; p && !ret; p = strstr(p + 1, "inotify wd:")) {
		struct watch_info w = {0};

		ret = parse_watch(p, &w);
		if (ret == -EINVAL) /* no file handle: a filesystem without one */
			ret = -ENOTSUP;
		if (ret)
			pr_err("Task %d inotify fd %d: can't read watch \"%.60s\": not supported\n",
			       fi->pid, fi->fd, p);
		nw = ret ? NULL : realloc(ws, (*n + 1) * sizeof(*ws));
		if (!ret && !nw)
			ret = -ENOMEM;
		if (!ret) {
			ws = nw;
			ws[*n] = (struct cr_inotify_watch){.wd = w.wd, .mask = w.mask};
			ret = watch_path(fi, &w, ws[(*n)++].path);
		}
		free(w.fh);
	}
	free(s);
	if (!ret && *n)
		qsort(ws, *n, sizeof(*ws), cmp_wd);
	if (ret)
		free(ws);
	*out = ret ? NULL : ws;
	return ret;
}

static int check_inotify(const struct fd_info *fi)
{
	struct cr_inotify_watch *ws = NULL;
	int fd = steal_fd(fi), queued = 0, ret;
	uint32_t n;

	if (fd < 0)
		return fd;
	ret = ioctl(fd, FIONREAD, &queued) < 0 ? -errno : 0;
	close(fd);
	if (ret || queued) {
		pr_err("Task %d inotify fd %d: %d bytes of events not yet read: not supported\n",
		       fi->pid, fi->fd, queued);
		return ret ? ret : -ENOTSUP;
	}
	ret = read_watches(fi, &ws, &n);
	free(ws);
	return ret;
}

static int dump_inotify(struct cr_img *img, struct dump_ctx *ctx, const struct fd_info *fi,
			struct cr_file_rec *rec)
{
	struct cr_inotify_rec ir = {.id = rec->id};
	struct cr_inotify_watch *ws = NULL;
	int ret;

	(void)ctx;
	ret = read_watches(fi, &ws, &ir.nwatches);
	if (ret)
		return ret;
	rec->obj_id = ir.id;
	ret = cr_img_write2(img, CR_REC_INOTIFY, &ir, sizeof(ir), ws, ir.nwatches * sizeof(*ws));
	free(ws);
	return ret;
}

static int collect_inotify(struct cr_img *img, const struct cr_rec_hdr *h, struct rst_file_obj *obj)
{
	struct cr_inotify_rec *ir = obj->rec;
	const struct cr_inotify_watch *ws = (const void *)(ir + 1);
	int ret, prev = 0;

	ret = image_check_len(
		img, h, sizeof(*ir),
		h->len < sizeof(*ir) ? 0 : ir->nwatches * sizeof(struct cr_inotify_watch));
	/* wds strictly increasing within a bounded gap (add_watch walks up to each), paths ended */
	for (uint32_t i = 0; !ret && i < ir->nwatches; i++) {
		if (ws[i].wd <= prev || ws[i].wd - prev > (1 << 20) ||
		    !memchr(ws[i].path, 0, sizeof(ws[i].path))) {
			pr_err("inotify %llu: bad watch %u in the image\n",
			       (unsigned long long)ir->id, i);
			ret = -EBADMSG;
		}
		prev = ws[i].wd;
	}
	if (!ret)
		obj->id = ir->id;
	return ret;
}

/* Add @w until the kernel gives it its recorded wd (each try takes the next number). */
static int add_watch(int fd, const struct cr_restore_opts *opts, const struct cr_inotify_watch *w)
{
	char buf[CR_PATH_LEN];
	const char *path = remap_path(opts, w->path, buf, sizeof(buf));
	int wd;

	for (;;) {
		wd = inotify_add_watch(fd, path, w->mask | IN_DONT_FOLLOW);
		if (wd < 0) {
			pr_perror("Can't watch %s (mask %#x)", path, w->mask);
			return -errno;
		}
		if (wd >= w->wd)
			break;
		inotify_rm_watch(fd, wd);
	}
	if (wd != w->wd) {
		pr_err("Watch on %s got descriptor %d, not %d\n", path, wd, w->wd);
		return -EBADE;
	}
	return 0;
}

/* The IN_IGNORED of the watches add_watch removed go: the queue was empty at dump. */
static int drain(int fd, const struct cr_file_rec *rec)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	if (errno != EAGAIN || fcntl(fd, F_SETFL, rec->flags & O_NONBLOCK) < 0) {
		pr_perror("Can't empty inotify (file %u)", rec->id);
		return -errno;
	}
	return 0;
}

static int open_one(struct rst_image *img, const struct cr_restore_opts *opts,
		    const struct cr_file_rec *rec, int *fd)
{
	struct rst_file_obj *obj = find_file_obj(img, CR_REC_INOTIFY, rec->obj_id);
	const struct cr_inotify_rec *ir = obj ? obj->rec : NULL;
	const struct cr_inotify_watch *ws = ir ? (const void *)(ir + 1) : NULL;
	int ret = 0;

	if (!ir) {
		pr_err("Inotify %llu of file %u is missing from the image\n",
		       (unsigned long long)rec->obj_id, rec->id);
		return -EINVAL;
	}
	*fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (*fd < 0) {
		pr_perror("Can't create inotify (file %u)", rec->id);
		return -errno;
	}
	for (uint32_t i = 0; i < ir->nwatches && !ret; i++)
		ret = add_watch(*fd, opts, &ws[i]);
	if (!ret)
		ret = drain(*fd, rec);
	if (ret) {
		close(*fd);
		*fd = -1;
	}
	return ret;
}

/*
 * Under the owner policy as the owner: the instance and its watches are
 * charged to the owner (not to root's inotify limits), and each path is
 * reached with the owner's rights.
 */
static int open_inotify(struct rst_image *img, const struct cr_restore_opts *opts,
			const struct cr_file_rec *rec, int *fd)
{
	struct owner_act act;
	int ret = owner_act_begin(opts ? opts->owner : NULL, &act);

	if (ret)
		return ret;
	ret = open_one(img, opts, rec, fd);
	owner_act_end(&act);
	return ret;
}

const struct file_ops inotify_ops = {
	.name = "inotify",
	.kind = CR_FILE_INOTIFY,
	.obj_type = CR_REC_INOTIFY,
	.recognise = recognise_inotify,
	.check = check_inotify,
	.dump = dump_inotify,
	.collect = collect_inotify,
	.open = open_inotify,
};
