// SPDX-License-Identifier: LGPL-2.1-or-later
/* SysV IPC: the per-namespace table and what every kind shares (ipc.h). */
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "ipc: "
#include "internal.h"
#include "ipc.h"
#include "log.h"
#include "owner-act.h"

/* made in this order at restore */
static const struct ipc_kind *const ipc_kinds[] = {&ipc_shm_kind, &ipc_sem_kind, &ipc_msg_kind};

static const struct ipc_kind *kind_of(uint32_t rec)
{
	for (size_t i = 0; i < ARRAY_SIZE(ipc_kinds); i++)
		if (ipc_kinds[i]->rec == rec)
			return ipc_kinds[i];
	return NULL;
}

int ipc_read_full(int fd, void *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ENODATA;
		done += n;
	}
	return 0;
}

int ipc_write_full(int fd, const void *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += n;
	}
	return 0;
}

int ipc_send(int out, uint32_t type, const void *rec, uint32_t len)
{
	uint32_t hdr[2] = {type, len};
	int ret = ipc_write_full(out, hdr, sizeof(hdr));

	return ret ? ret : ipc_write_full(out, rec, len);
}

int ipc_set_next_id(const char *kind, int id)
{
	char path[64], val[16];
	int fd, n, ret = 0;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s_next_id", kind);
	n = snprintf(val, sizeof(val), "%d", id);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, n) != n) {
		pr_perror("Can't set %s to %d (the kernel needs CONFIG_CHECKPOINT_RESTORE)", path,
			  id);
		ret = -errno ? -errno : -EIO;
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

void ipc_perm_from(struct ipc_perm *dst, const struct cr_ipc_perm *p)
{
	dst->uid = p->uid;
	dst->gid = p->gid;
	dst->mode = p->mode & 0777;
}

int ipc_check_made(const char *kind, const struct cr_ipc_perm *p, int got)
{
	if (got < 0) {
		pr_perror("Can't make SysV %s id %d (key %#x)", kind, p->id, (unsigned)p->key);
		return -errno;
	}
	if (got != p->id) {
		pr_err("SysV %s id %d (key %#x) came back as id %d\n", kind, p->id,
		       (unsigned)p->key, got);
		/* ours, and no record will undo it: removed now, not left behind */
		for (size_t i = 0; i < ARRAY_SIZE(ipc_kinds); i++)
			if (!strcmp(ipc_kinds[i]->name, kind))
				ipc_kinds[i]->remove(got);
		return -EEXIST;
	}
	return 0;
}

static int ipcns_of(pid_t pid, struct stat *st)
{
	char path[64];

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ns/ipc", pid);
	if (stat(pid ? path : "/proc/self/ns/ipc", st) < 0) {
		pr_perror("Can't stat the IPC namespace of task %d", pid ? pid : getpid());
		return -errno;
	}
	return 0;
}

/* 1: the tree's root is in cr's own IPC namespace; 0: in another; -errno */
static int shares_ipcns(pid_t root)
{
	struct stat self, tree;
	int ret = ipcns_of(0, &self);

	if (!ret)
		ret = ipcns_of(root, &tree);
	return ret ? ret : self.st_ino == tree.st_ino && self.st_dev == tree.st_dev;
}

/* One IPC namespace is saved, the root's: every task must be in it. */
static int check_same_ns(struct cr_frozen *f)
{
	struct stat root, st;
	int ret = ipcns_of(f->root, &root);

	for (size_t i = 1; i < f->ntasks && !ret; i++) {
		if (f->tasks[i].zombie)
			continue;
		ret = ipcns_of(f->tasks[i].pid, &st);
		if (!ret && st.st_ino != root.st_ino) {
			pr_err("Task %d is in another IPC namespace than the root (%d): not "
			       "supported\n",
			       f->tasks[i].pid, f->root);
			ret = -ENOTSUP;
		}
	}
	return ret;
}

/* 0: task @pid has the same undo list as @ref (none); -ENOTSUP if not */
static int undo_list_of(pid_t ref, pid_t pid)
{
	long same = syscall(SYS_kcmp, ref, pid, KCMP_SYSVSEM, 0, 0);

	if (same < 0 && errno == ENOSYS) {
		pr_warn("No kcmp(): can't tell whether task %d holds a semaphore undo list\n", pid);
		return 0;
	}
	if (same < 0) {
		pr_perror("kcmp(KCMP_SYSVSEM) of task %d", pid);
		return -errno;
	}
	if (same) {
		pr_err("Task %d has a SysV semaphore undo list (semop with SEM_UNDO, or threads, "
		       "which share one) while its IPC namespace holds semaphore sets: not "
		       "supported (it can't be read from outside)\n",
		       pid);
		return -ENOTSUP;
	}
	return 0;
}

/*
 * The reference task for check_sem_undo: a child of ours, forked without
 * CLONE_SYSVSEM, has no undo list. It joins the tree's IPC namespace (which
 * drops none: it has none) and says how many semaphore sets that holds.
 */
static __attribute__((noreturn)) void sem_ref_child(pid_t root, int in, int out)
{
	char path[64], c;
	struct seminfo info = {0};
	int fd, n = -1;

	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", root);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && !setns(fd, CLONE_NEWIPC) && semctl(0, 0, SEM_INFO, &info) >= 0)
		n = info.semusz;
	if (write(out, &n, sizeof(n)) != sizeof(n))
		_exit(1);
	_exit(read(in, &c, 1) < 0);
}

/*
 * A semaphore undo list (semop with SEM_UNDO) can't be read from outside:
 * refuse a task that has one (kcmp KCMP_SYSVSEM: not the reference's, which
 * is none) while its namespace holds semaphore sets. pthread_create makes
 * one, empty, for the threads to share: with no sets it can hold nothing.
 */
static int check_sem_undo(struct cr_frozen *f)
{
	int go[2], cnt[2], nsets = -1, ret = 0;
	pid_t ref;

	if (pipe2(go, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(cnt, O_CLOEXEC) < 0) {
		close(go[0]);
		close(go[1]);
		return -errno;
	}
	ref = fork();
	if (ref == 0) {
		close(go[1]); /* its EOF is the end of the check */
		close(cnt[0]);
		sem_ref_child(f->root, go[0], cnt[1]);
	}
	close(go[0]);
	close(cnt[1]);
	if (ref > 0 && ipc_read_full(cnt[0], &nsets, sizeof(nsets)))
		nsets = -1;
	if (ref > 0 && nsets < 0) {
		pr_err("Can't count the semaphore sets of task %d's IPC namespace\n", f->root);
		ret = -EIO;
	}
	for (size_t i = 0; i < f->ntasks && ref > 0 && nsets > 0 && !ret; i++)
		ret = f->tasks[i].zombie ? 0 : undo_list_of(ref, f->tasks[i].pid);
	close(go[1]);
	close(cnt[0]);
	if (ref > 0)
		waitpid(ref, NULL, 0);
	return ref < 0 ? -errno : ret;
}

/* A tree in cr's own IPC namespace: its objects are not saved, so it may attach none. */
static int check_shared_ns(struct cr_frozen *f)
{
	for (size_t i = 0; i < f->ntasks; i++) {
		char *maps, *p, *line;
		unsigned long s = 0, e = 0;

		if (f->tasks[i].zombie)
			continue;
		maps = proc_read_file("/proc/%d/maps", f->tasks[i].pid);
		if (!maps)
			return -errno;
		p = strstr(maps, " /SYSV");
		for (line = p; line && line > maps && line[-1] != '\n'; line--)
			;
		if (p && sscanf(line, "%lx-%lx", &s, &e) == 2)
			pr_err("Task %d: mapping %#lx-%#lx (%.*s) is SysV shm in cr's own IPC "
			       "namespace, whose objects are not saved: run the job in an IPC "
			       "namespace of its own\n",
			       f->tasks[i].pid, s, e, (int)strcspn(p + 1, "\n"), p + 1);
		free(maps);
		if (p)
			return -ENOTSUP;
	}
	return 0;
}

int check_ipc(struct cr_frozen *f)
{
	int ret = check_sem_undo(f), shared;

	if (!ret)
		ret = check_same_ns(f);
	if (ret)
		return ret;
	shared = shares_ipcns(f->root);
	if (shared < 0)
		return shared;
	return shared ? check_shared_ns(f) : 0;
}

/* The helper: joins the tree's IPC namespace and sends every object. */
static __attribute__((noreturn)) void ipc_helper(pid_t root, int out)
{
	char path[64];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", root);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWIPC) < 0) {
		pr_perror("Can't join the IPC namespace of task %d", root);
		ret = -errno;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ipc_kinds) && !ret; i++)
		ret = ipc_kinds[i]->dump(out);
	_exit(ret ? -ret & 0xff : 0);
}

/* Here: every record the helper sends, written to the image. */
static int receive(struct cr_img *img, int in)
{
	uint32_t hdr[2];
	void *rec = NULL;
	int ret;

	while (!(ret = ipc_read_full(in, hdr, sizeof(hdr)))) {
		const struct ipc_kind *k = kind_of(hdr[0]);

		if (!k || hdr[1] > (64u << 20)) {
			pr_err("Bad record %u (%u bytes) from the IPC helper\n", hdr[0], hdr[1]);
			return -EPROTO;
		}
		rec = malloc(hdr[1] + 1);
		ret = rec ? ipc_read_full(in, rec, hdr[1]) : -ENOMEM;
		if (!ret)
			ret = k->save ? k->save(img, rec, hdr[1], in)
				      : cr_img_write(img, hdr[0], rec, hdr[1]);
		free(rec);
		if (ret)
			return ret;
	}
	return ret == -ENODATA ? 0 : ret; /* the helper is done */
}

int dump_ipc(struct cr_img *img, struct cr_frozen *f)
{
	int shared = shares_ipcns(f->root), pfd[2], ret, status = 0;
	pid_t helper;

	if (shared)
		return shared < 0 ? shared : 0;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	helper = fork();
	if (helper == 0) {
		close(pfd[0]);
		ipc_helper(f->root, pfd[1]);
	}
	close(pfd[1]);
	ret = helper < 0 ? -errno : receive(img, pfd[0]);
	close(pfd[0]);
	if (helper > 0 && waitpid(helper, &status, 0) == helper && status) {
		pr_err("The IPC helper failed (status %#x)\n", status);
		ret = WIFEXITED(status) ? -WEXITSTATUS(status) : -EIO;
	}
	return ret;
}

/* ---- restore ---- */

int collect_ipc(struct rst_image *img, struct cr_img *cimg, const struct cr_rec_hdr *h, void *p)
{
	const struct ipc_kind *k = kind_of(h->type);
	struct rst_ipc_obj *o;

	if (!k)
		return RST_REC_OTHER;
	if (k->check(p, h->len)) {
		pr_err("%s: bad SysV %s record at offset %llu\n", cimg->path, k->name,
		       (unsigned long long)cimg->off);
		return -EBADMSG;
	}
	o = realloc(img->ipc, (img->nipc + 1) * sizeof(*o));
	if (!o)
		return -ENOMEM;
	img->ipc = o;
	img->ipc[img->nipc++] = (struct rst_ipc_obj){h->type, p, false};
	return RST_REC_KEPT;
}

/* The objects come back with their ids: the namespace must hold none. */
static int check_empty(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(ipc_kinds); i++) {
		char *s = proc_read_file("/proc/sysvipc/%s", ipc_kinds[i]->name);
		char *nl = s ? strchr(s, '\n') : NULL;
		bool empty = nl && !nl[1];

		free(s);
		if (!nl)
			return -EIO;
		if (!empty) {
			pr_err("The restart's IPC namespace already holds SysV %s objects "
			       "(/proc/sysvipc/%s): the image's need an empty one (restart in a "
			       "new one, e.g. unshare --ipc)\n",
			       ipc_kinds[i]->name, ipc_kinds[i]->name);
			return -EEXIST;
		}
	}
	return 0;
}

/* Under the owner policy: owned and created by the owner, a queue within msgmnb. */
static int check_owner(const struct cr_owner *ow, const struct ipc_kind *k, const void *rec)
{
	const struct cr_ipc_perm *p = rec;
	const struct {
		const char *name;
		uint32_t id;
		bool gid;
	} ids[] = {{"uid", p->uid, false},
		   {"cuid", p->cuid, false},
		   {"gid", p->gid, true},
		   {"cgid", p->cgid, true}};
	char *mnb;
	long max;

	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		if (!ids[i].gid && ids[i].id != ow->uid)
			pr_err("SysV %s id %d: %s is %u, the job's owner is %u\n", k->name, p->id,
			       ids[i].name, ids[i].id, (unsigned)ow->uid);
		else if (ids[i].gid && !owner_has_gid(ow, ids[i].id))
			pr_err("SysV %s id %d: %s is %u, not a group of the job's owner %u\n",
			       k->name, p->id, ids[i].name, ids[i].id, (unsigned)ow->uid);
		else
			continue;
		return -EPERM;
	}
	if (k->rec != CR_REC_IPC_MSG)
		return 0;
	mnb = proc_read_file("/proc/sys/kernel/msgmnb");
	max = mnb ? atol(mnb) : 0;
	free(mnb);
	if (((const struct cr_ipc_msg_rec *)rec)->qbytes <= (uint64_t)max)
		return 0;
	pr_err("SysV msg id %d: qbytes %llu is above kernel.msgmnb (%ld): raising it needs "
	       "CAP_SYS_RESOURCE, which the job's owner does not have\n",
	       p->id, (unsigned long long)((const struct cr_ipc_msg_rec *)rec)->qbytes, max);
	return -EPERM;
}

int ipc_create(const struct cr_owner *ow, uint32_t rec, key_t key, uint64_t n)
{
	const int fl = IPC_CREAT | IPC_EXCL | 0600;
	struct owner_act act;
	int id, err = owner_act_begin(ow, &act);

	if (err) {
		errno = -err;
		return -1;
	}
	id = rec == CR_REC_IPC_SHM   ? shmget(key, n, fl)
	     : rec == CR_REC_IPC_SEM ? semget(key, (int)n, fl)
				     : msgget(key, fl);
	err = errno;
	owner_act_end(&act);
	errno = err;
	return id;
}

int prepare_ipc(struct rst_image *img, const struct cr_restore_opts *opts)
{
	const struct cr_owner *ow = opts ? opts->owner : NULL;
	int ret = 0;

	if (!img->nipc || (img->skip & RST_SKIP_IPC))
		return 0;
	ret = check_empty();
	for (size_t i = 0; i < img->nipc && !ret && ow; i++)
		ret = check_owner(ow, kind_of(img->ipc[i].type), img->ipc[i].rec);
	for (size_t i = 0; i < ARRAY_SIZE(ipc_kinds) && !ret; i++)
		for (size_t k = 0; k < img->nipc && !ret; k++) {
			struct rst_ipc_obj *o = &img->ipc[k];

			if (o->type != ipc_kinds[i]->rec)
				continue;
			/* the id's sysctl needs root: set here, not as the owner */
			ret = ipc_set_next_id(ipc_kinds[i]->name,
					      ((const struct cr_ipc_perm *)o->rec)->id);
			if (!ret)
				ret = ipc_kinds[i]->make(img, ow, o->rec);
			o->made = !ret;
		}
	if (ret)
		undo_ipc(img);
	return ret;
}

int finish_ipc(struct rst_image *img)
{
	int ret = 0;

	for (size_t i = 0; i < img->nipc && !ret; i++) {
		const struct ipc_kind *k = kind_of(img->ipc[i].type);

		if (img->ipc[i].made && k->finish)
			ret = k->finish(img->ipc[i].rec);
	}
	return ret;
}

void undo_ipc(struct rst_image *img)
{
	for (size_t i = 0; i < img->nipc; i++) {
		struct rst_ipc_obj *o = &img->ipc[i];

		if (o->made)
			kind_of(o->type)->remove(((const struct cr_ipc_perm *)o->rec)->id);
		o->made = false;
	}
}
