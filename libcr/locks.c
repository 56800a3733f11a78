// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * File locks: flock, POSIX (fcntl F_SETLK) and OFD (F_OFD_SETLK) locks.
 * Dump: an fd's fdinfo "lock:" lines are the locks held through it. flock
 * and OFD locks belong to its open file (every fd of that file, in every
 * task, shows them), a POSIX lock to its process (only the fd it was taken
 * through shows it). /proc/locks, read once the fds were seen, says which
 * locks the tree holds: one that no fd shows (held through a mapping or an
 * fd in flight) is refused, and so are leases, locks on what the engine does
 * not reopen (the root's inherited stdio, pipes, sockets) and a POSIX lock
 * on a task's own executable (the restorer closes its fd to it, and any
 * close drops the process's POSIX locks on that file).
 * Restore: each task takes its locks again through its own fd once its fds
 * are final, so that a flock's pid is its taker's and no close in the task
 * comes after a POSIX lock.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "locks: "
#include "files.h"
#include "image-load.h"
#include "log.h"

/* One lock as the kernel shows it (fdinfo "lock:", /proc/locks). */
struct lock_ent {
	uint32_t kind; /* enum cr_lock_kind; 0: one we don't take (a lease...) */
	char name[8];  /* the kernel's word for it: FLOCK, POSIX, OFDLCK, LEASE... */
	int type;      /* F_RDLCK, F_WRLCK; -1: neither (a lease being broken) */
	pid_t pid;     /* as we see it; -1: an OFD lock */
	unsigned int maj, min;
	uint64_t ino, start, end; /* end UINT64_MAX: to the end of the file */
};

struct lock_state {
	struct lock_ent *seen; /* check: every lock an fd of the tree shows */
	size_t nseen;
	struct cr_lock_rec *recs; /* dump: each lock once, written by dump_locks */
	pid_t *takers;		  /* recs[i]'s taker as we see it (flock: who took it) */
	size_t nrecs;
};

static struct lock_state *lock_state(struct dump_ctx *ctx)
{
	if (!ctx->locks)
		ctx->locks = calloc(1, sizeof(struct lock_state));
	if (!ctx->locks)
		pr_err("No memory for the tree's file locks\n");
	return ctx->locks;
}

void free_dump_locks(struct dump_ctx *ctx)
{
	struct lock_state *st = ctx->locks;

	if (st) {
		free(st->seen);
		free(st->recs);
		free(st->takers);
		free(st);
	}
	ctx->locks = NULL;
}

/* Past a line's "N:" (and a blocked waiter's "->"): NULL for a waiter. */
static const char *skip_id(const char *s)
{
	s += strspn(s, " \t");
	s += strspn(s, "0123456789");
	if (*s == ':')
		s++;
	s += strspn(s, " \t");
	return strncmp(s, "->", 2) ? s : NULL;
}

/* One lock line past its id; -EINVAL if it is not one this kernel writes. */
static int parse_lock(const char *s, struct lock_ent *e)
{
	char adv[16], type[8], end[24];
	unsigned long long ino, start;

	memset(e, 0, sizeof(*e));
	if (sscanf(s, "%7s %15s %7s %d %x:%x:%llu %llu %23s", e->name, adv, type, &e->pid, &e->maj,
		   &e->min, &ino, &start, end) != 9)
		return -EINVAL;
	e->ino = ino;
	e->start = start;
	e->end = strcmp(end, "EOF") ? strtoull(end, NULL, 10) : UINT64_MAX;
	e->type = !strcmp(type, "WRITE") ? F_WRLCK : !strcmp(type, "READ") ? F_RDLCK : -1;
	if (!strcmp(e->name, "FLOCK"))
		e->kind = CR_LOCK_FLOCK;
	else if (!strcmp(e->name, "POSIX"))
		e->kind = CR_LOCK_POSIX;
	else if (!strcmp(e->name, "OFDLCK"))
		e->kind = CR_LOCK_OFD;
	return 0;
}

static bool same_lock(const struct lock_ent *a, const struct lock_ent *b)
{
	return !strcmp(a->name, b->name) && a->type == b->type && a->pid == b->pid &&
	       a->maj == b->maj && a->min == b->min && a->ino == b->ino && a->start == b->start &&
	       a->end == b->end;
}

/* The locks fdinfo shows for @fi, into *out (malloc'ed); -errno, logged. */
static int fd_locks(const struct fd_info *fi, struct lock_ent **out, size_t *n)
{
	char *s = proc_read_file("/proc/%d/fdinfo/%d", fi->pid, fi->fd), *p;
	struct lock_ent *l = NULL, *nl;
	int ret = 0;

	*out = NULL;
	*n = 0;
	if (!s) {
		pr_perror("Can't read fdinfo of task %d fd %d", fi->pid, fi->fd);
		return errno ? -errno : -EIO;
	}
	for (p = strstr(s, "\nlock:"); p && !ret; p = strstr(p + 1, "\nlock:")) {
		const char *line = skip_id(p + strlen("\nlock:"));

		if (!line)
			continue;
		nl = realloc(l, (*n + 1) * sizeof(*l));
		if (!nl) {
			pr_err("No memory for the locks of task %d fd %d\n", fi->pid, fi->fd);
			ret = -ENOMEM;
			break;
		}
		l = nl;
		if (parse_lock(line, &l[*n])) {
			pr_err("Task %d fd %d (%s): can't read its lock line \"%.60s\"\n", fi->pid,
			       fi->fd, fi->link, line);
			ret = -ENOTSUP;
			break;
		}
		(*n)++;
	}
	free(s);
	if (ret)
		free(l);
	else
		*out = l;
	return ret;
}

/* Bytes start-end of a lock, for messages. */
static const char *lock_range(const struct lock_ent *e, char *buf, size_t len)
{
	if (e->end == UINT64_MAX)
		snprintf(buf, len, "%llu-EOF", (unsigned long long)e->start);
	else
		snprintf(buf, len, "%llu-%llu", (unsigned long long)e->start,
			 (unsigned long long)e->end);
	return buf;
}

static bool is_own_exe(const struct fd_info *fi)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/exe", fi->pid);
	return !stat(path, &st) && st.st_dev == fi->st.st_dev && st.st_ino == fi->st.st_ino;
}

/* Why the lock @e held through @fi can't come back, or NULL if it can. */
static const char *lock_refusal(const struct fd_info *fi, const struct lock_ent *e)
{
	if (!strcmp(e->name, "LEASE") || !strcmp(e->name, "DELEG"))
		return "a lease";
	if (!e->kind || e->type < 0)
		return "a kind of lock the engine does not take";
	if (fi->pid == fi->root && fi->fd <= 2)
		return "a lock on a file the restarter provides (inherited stdio)";
	if (!S_ISREG(fi->st.st_mode) && !S_ISDIR(fi->st.st_mode))
		return "a lock on a file that is not a regular file or directory";
	if (e->kind == CR_LOCK_POSIX && e->pid != fi->pid)
		return "another task's POSIX lock (an fd table shared between processes)";
	if (e->kind == CR_LOCK_POSIX && is_own_exe(fi))
		return "a POSIX lock on its own executable";
	return NULL;
}

int check_fd_locks(struct dump_ctx *ctx, const struct fd_info *fi)
{
	struct lock_state *st;
	struct lock_ent *l, *ns;
	const char *why;
	char range[48];
	size_t n;
	int ret;

	if (!fi->locked)
		return 0;
	st = lock_state(ctx);
	if (!st)
		return -ENOMEM;
	ret = fd_locks(fi, &l, &n);
	for (size_t i = 0; i < n && !ret; i++) {
		why = lock_refusal(fi, &l[i]);
		if (why) {
			pr_err("Task %d fd %d (%s) holds %s (%s %s, bytes %s): not supported\n",
			       fi->pid, fi->fd, fi->link, why, l[i].name,
			       l[i].type == F_WRLCK ? "WRITE" : "READ",
			       lock_range(&l[i], range, sizeof(range)));
			ret = -ENOTSUP;
			break;
		}
		ns = realloc(st->seen, (st->nseen + 1) * sizeof(*ns));
		if (!ns) {
			pr_err("No memory for the locks of task %d\n", fi->pid);
			ret = -ENOMEM;
			break;
		}
		st->seen = ns;
		ns[st->nseen++] = l[i];
	}
	free(l);
	return ret;
}

static const struct cr_task *tree_task(const struct cr_frozen *f, pid_t pid)
{
	for (size_t i = 0; i < f->ntasks; i++)
		if (f->tasks[i].pid == pid && !f->tasks[i].zombie)
			return &f->tasks[i];
	return NULL;
}

/*
 * A task of the tree that maps the file of @e, or 0. @maps caches each
 * task's /proc/PID/maps (read on first use: other processes' OFD locks may
 * be many).
 */
static pid_t mapped_by(const struct cr_frozen *f, char **maps, const struct lock_ent *e)
{
	char needle[64];

	snprintf(needle, sizeof(needle), " %02x:%02x %llu ", e->maj, e->min,
		 (unsigned long long)e->ino);
	for (size_t i = 0; i < f->ntasks; i++) {
		if (f->tasks[i].zombie)
			continue;
		if (!maps[i])
			maps[i] = proc_read_file("/proc/%d/maps", f->tasks[i].pid);
		if (maps[i] && strstr(maps[i], needle))
			return f->tasks[i].pid;
	}
	return 0;
}

/* Is lock @e of /proc/locks one of the tree's that no fd showed? The task, or 0. */
static pid_t unseen_owner(const struct lock_state *st, const struct cr_frozen *f, char **maps,
			  const struct lock_ent *e)
{
	for (size_t i = 0; st && i < st->nseen; i++)
		if (same_lock(&st->seen[i], e))
			return 0;
	if (e->pid > 0)
		return tree_task(f, e->pid) ? e->pid : 0;
	/* an OFD lock names no task: ours if a task maps its file */
	return e->kind == CR_LOCK_OFD ? mapped_by(f, maps, e) : 0;
}

int check_tree_locks(struct dump_ctx *ctx, const struct cr_frozen *f)
{
	char *s = proc_read_file("/proc/locks"), *line, *save = NULL;
	char **maps = calloc(f->ntasks + 1, sizeof(*maps));
	struct lock_ent e;
	char range[48];
	int ret = 0;
	pid_t who;

	if (!s) {
		pr_perror("Can't read /proc/locks");
		ret = errno ? -errno : -EIO;
		goto out;
	}
	if (!maps) {
		pr_err("No memory for the maps of tree %d\n", f->root);
		ret = -ENOMEM;
		goto out;
	}
	for (line = strtok_r(s, "\n", &save); line && !ret; line = strtok_r(NULL, "\n", &save)) {
		const char *l = skip_id(line);

		if (!l || parse_lock(l, &e))
			continue; /* a waiter, or a lock with no inode: not held by an fd */
		who = unseen_owner(ctx->locks, f, maps, &e);
		if (!who)
			continue;
		pr_err("Task %d holds %s %s lock on file %02x:%02x:%llu (bytes %s) that none of "
		       "its fds shows (held through a mapping or an fd in flight): not "
		       "supported\n",
		       who, e.name, e.type == F_WRLCK ? "WRITE" : "READ", e.maj, e.min,
		       (unsigned long long)e.ino, lock_range(&e, range, sizeof(range)));
		ret = -ENOTSUP;
	}
out:
	for (size_t i = 0; maps && i < f->ntasks; i++)
		free(maps[i]);
	free(maps);
	free(s);
	return ret;
}

/* ---- dump ---- */

static struct cr_lock_rec *find_rec(struct lock_state *st, const struct cr_lock_rec *r)
{
	for (size_t i = 0; i < st->nrecs; i++) {
		struct cr_lock_rec *o = &st->recs[i];

		if (o->kind == r->kind && o->file_id == r->file_id && o->type == r->type &&
		    o->start == r->start && o->len == r->len &&
		    (r->kind != CR_LOCK_POSIX || o->pid == r->pid))
			return o;
	}
	return NULL;
}

static int add_rec(struct lock_state *st, const struct cr_lock_rec *r, pid_t taker)
{
	struct cr_lock_rec *nr = realloc(st->recs, (st->nrecs + 1) * sizeof(*nr));
	pid_t *nt;

	if (nr)
		st->recs = nr;
	nt = nr ? realloc(st->takers, (st->nrecs + 1) * sizeof(*nt)) : NULL;
	if (!nt) {
		pr_err("No memory for a lock of task %d\n", r->pid);
		return -ENOMEM;
	}
	st->takers = nt;
	st->recs[st->nrecs] = *r;
	nt[st->nrecs++] = taker;
	return 0;
}

int note_fd_locks(struct dump_ctx *ctx, const struct fd_info *fi, uint32_t file_id)
{
	struct lock_state *st;
	struct cr_lock_rec r, *o;
	struct lock_ent *l;
	size_t n;
	int ret;

	if (!fi->locked)
		return 0;
	st = lock_state(ctx);
	if (!st)
		return -ENOMEM;
	ret = fd_locks(fi, &l, &n);
	for (size_t i = 0; i < n && !ret; i++) {
		if (!l[i].kind || l[i].type < 0)
			continue; /* refused by check_fd_locks: it can only be new since */
		r = (struct cr_lock_rec){.pid = fi->npid,
					 .fd = fi->fd,
					 .file_id = file_id,
					 .kind = l[i].kind,
					 .type = (uint32_t)l[i].type,
					 .start = l[i].start,
					 .len = l[i].end == UINT64_MAX ? 0
								       : l[i].end - l[i].start + 1};
		o = find_rec(st, &r);
		if (!o)
			ret = add_rec(st, &r, l[i].pid);
		else if (fi->pid == l[i].pid && st->takers[o - st->recs] != fi->pid) {
			/* a flock goes back to the task that took it, if it still holds it */
			o->pid = fi->npid;
			o->fd = fi->fd;
			st->takers[o - st->recs] = fi->pid;
		}
	}
	free(l);
	return ret;
}

int dump_locks(struct cr_img *img, struct dump_ctx *ctx)
{
	struct lock_state *st = ctx->locks;
	int ret = 0;

	for (size_t i = 0; st && i < st->nrecs && !ret; i++)
		ret = cr_img_write(img, CR_REC_FLOCK, &st->recs[i], sizeof(st->recs[i]));
	return ret;
}

/* ---- restore ---- */

int collect_lock(struct rst_image *ri, struct cr_img *img, const struct cr_rec_hdr *h, void *p)
{
	struct cr_lock_rec *nl;
	int ret = image_check_len(img, h, sizeof(*nl), 0);

	if (ret)
		return ret;
	nl = realloc(ri->locks, (ri->nlocks + 1) * sizeof(*nl));
	if (!nl) {
		pr_err("No memory for a file lock\n");
		return -ENOMEM;
	}
	ri->locks = nl;
	memcpy(&nl[ri->nlocks++], p, sizeof(*nl));
	free(p);
	return RST_REC_COPIED;
}

static bool task_holds(const struct rst_img_task *t, int fd, uint32_t file_id)
{
	for (size_t i = 0; i < t->nfds; i++)
		if (t->fds[i].fd == fd)
			return t->fds[i].file_id == file_id;
	return false;
}

int check_image_locks(const struct rst_image *img)
{
	for (size_t i = 0; i < img->nlocks; i++) {
		const struct cr_lock_rec *l = &img->locks[i];
		const struct rst_img_task *t = NULL;

		for (size_t k = 0; k < img->ntasks; k++)
			if (img->tasks[k].rec->pid == l->pid)
				t = &img->tasks[k];
		if (!t || !task_holds(t, l->fd, l->file_id) || l->kind < CR_LOCK_FLOCK ||
		    l->kind > CR_LOCK_OFD || (l->type != F_RDLCK && l->type != F_WRLCK) ||
		    l->start > INT64_MAX || l->len > INT64_MAX - l->start) {
			pr_err("bad image: lock %zu: task %d fd %d is not the task and fd of file "
			       "%u, or its kind, type or range is not one\n",
			       i, l->pid, l->fd, l->file_id);
			return -EBADMSG;
		}
	}
	return 0;
}

static const char *const kind_names[] = {
	[CR_LOCK_FLOCK] = "flock",
	[CR_LOCK_POSIX] = "POSIX",
	[CR_LOCK_OFD] = "OFD",
};

static int take_lock(const struct cr_lock_rec *l)
{
	struct flock fl = {.l_type = (short)l->type,
			   .l_whence = SEEK_SET,
			   .l_start = (off_t)l->start,
			   .l_len = (off_t)l->len};

	switch (l->kind) {
	case CR_LOCK_FLOCK:
		return flock(l->fd, (l->type == F_WRLCK ? LOCK_EX : LOCK_SH) | LOCK_NB);
	case CR_LOCK_POSIX:
		return fcntl(l->fd, F_SETLK, &fl);
	default:
		return fcntl(l->fd, F_OFD_SETLK, &fl);
	}
}

static const char *file_path(const struct rst_image *img, uint32_t id)
{
	for (size_t k = 0; k < img->nfiles; k++)
		if (img->files[k].rec->id == id)
			return img->files[k].rec->path;
	return "?";
}

/* --skip file:KIND (tests) left the lock's fd closed. */
static bool file_skipped(const struct rst_image *img, uint32_t id)
{
	for (size_t k = 0; k < img->nfiles; k++)
		if (img->files[k].rec->id == id)
			return img->files[k].rec->kind < 64 &&
			       img->skip_kinds & 1ull << img->files[k].rec->kind;
	return false;
}

/*
 * Would lock @l conflict with one held now (by a process outside the
 * tree)? Asked through the restarter's open of its file, which no restored
 * task holds a lock through yet: 1 and the holder's pid in *holder (-1: an
 * OFD lock or a flock), 0 if not, -errno.
 */
static int held_by_other(const struct cr_lock_rec *l, int fd, pid_t *holder)
{
	struct flock fl = {.l_type = (short)l->type,
			   .l_whence = SEEK_SET,
			   .l_start = (off_t)l->start,
			   .l_len = (off_t)l->len};

	*holder = -1;
	if (l->kind == CR_LOCK_FLOCK) {
		if (!flock(fd, (l->type == F_WRLCK ? LOCK_EX : LOCK_SH) | LOCK_NB))
			return flock(fd, LOCK_UN) ? -errno : 0;
		return errno == EWOULDBLOCK ? 1 : -errno;
	}
	if (fcntl(fd, F_OFD_GETLK, &fl))
		return -errno;
	*holder = fl.l_pid;
	return fl.l_type != F_UNLCK;
}

int check_locks_free(struct rst_image *img)
{
	char range[48];
	pid_t holder;
	int ret = 0;

	for (size_t i = 0; i < img->nlocks && ret <= 0; i++) {
		const struct cr_lock_rec *l = &img->locks[i];
		int fd = file_svc_fd(img, l->file_id);

		if (fd < 0 || (img->skip & RST_SKIP_LOCKS) || file_skipped(img, l->file_id))
			continue;
		ret = held_by_other(l, fd, &holder);
		if (ret < 0) {
			errno = -ret;
			pr_perror("Task %d fd %d (%s): can't test its lock", l->pid, l->fd,
				  file_path(img, l->file_id));
			return ret;
		}
		if (!ret)
			continue;
		if (l->len)
			snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)l->start,
				 (unsigned long long)(l->start + l->len - 1));
		else
			snprintf(range, sizeof(range), "%llu-EOF", (unsigned long long)l->start);
		pr_err("Task %d fd %d (%s): its %s %s lock on bytes %s is held by another "
		       "process now (pid %d, -1: an open file's lock): can't take it back\n",
		       l->pid, l->fd, file_path(img, l->file_id), kind_names[l->kind],
		       l->type == F_WRLCK ? "write" : "read", range, holder);
		return -EAGAIN;
	}
	return 0;
}

int restore_locks(struct rst_image *img, const struct rst_img_task *t)
{
	if (img->skip & RST_SKIP_LOCKS)
		return 0;
	for (size_t i = 0; i < img->nlocks; i++) {
		const struct cr_lock_rec *l = &img->locks[i];

		if (l->pid != t->rec->pid || file_skipped(img, l->file_id) || !take_lock(l))
			continue;
		pr_perror("Task %d fd %d (%s): can't take back its %s %s lock on bytes %llu+%llu "
			  "(another process holds the file locked?)",
			  l->pid, l->fd, file_path(img, l->file_id), kind_names[l->kind],
			  l->type == F_WRLCK ? "write" : "read", (unsigned long long)l->start,
			  (unsigned long long)l->len);
		return -errno;
	}
	return 0;
}
