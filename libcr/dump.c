// SPDX-License-Identifier: LGPL-2.1-or-later
/* cr_dump: drive the per-kind dumpers over a frozen tree. */
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "dump: "
#include "files.h"
#include "internal.h"
#include "ipc.h"
#include "log.h"
#include "memory.h"
#include "signals.h"
#include "sockdiag.h"
#include "task.h"
#include "threads.h"
#include "timers.h"

static int write_header(struct cr_img *img, struct cr_frozen *f)
{
	struct cr_header_rec h;
	struct utsname u;
	struct timespec ts;

	memset(&h, 0, sizeof(h));
	h.magic = CR_IMG_MAGIC;
	h.version = CR_IMG_VERSION;
	h.page_size = PAGE_SIZE;
	uname(&u);
	snprintf(h.arch, sizeof(h.arch), "%.15s", u.machine);
	snprintf(h.kernel, sizeof(h.kernel), "%.64s", u.release);
	cpu_xsave_info(&h.xfeatures, &h.xsave_size);
	h.ntasks = f->ntasks;
	clock_gettime(CLOCK_REALTIME, &ts);
	h.time_ns = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	h.root_pid = f->tasks[0].ns_pid;
	h.root_sid = f->tasks[0].ns_sid;
	h.root_pgid = f->tasks[0].ns_pgid;
	h.root_is_init = f->tasks[0].ns_pid == 1; /* pid 1 of its own namespace */
	return cr_img_write(img, CR_REC_HEADER, &h, sizeof(h));
}

static int remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096];

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(dir) ? -errno : 0;
}

static int dump_one_task(struct cr_img *img, struct dump_ctx *ctx, struct cr_frozen *f,
			 struct cr_task *t)
{
	int ret = t->zombie ? 0 : infect_find_ip(t->pid, &t->inject_ip);

	if (!ret)
		ret = dump_task(img, f, t);
	if (ret || t->zombie)
		return ret;
	ret = dump_memory(img, ctx, t);
	if (!ret)
		ret = dump_threads(img, t);
	if (!ret)
		ret = dump_signals(img, t);
	if (!ret)
		ret = dump_timers(img, t);
	if (!ret)
		ret = dump_fds(img, ctx, t);
	return ret;
}

int cr_dump(struct cr_frozen *f, const char *dir)
{
	return cr_dump_ex(f, dir, NULL);
}

/*
 * The tree's sockets are described from its own net namespace (sock_diag
 * answers for the namespace of the socket that asks): this thread goes there
 * for the dump. *self: where to come back (-1: it was ours already).
 */
static int tree_netns_enter(pid_t root, int *self)
{
	char path[64];
	struct stat a, b;
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", root);
	*self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*self < 0 || fd < 0 || fstat(*self, &a) < 0 || fstat(fd, &b) < 0) {
		ret = -errno;
		pr_perror("Can't open the net namespace of task %d", root);
	} else if (a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		if (setns(fd, CLONE_NEWNET) < 0) {
			ret = -errno;
			pr_perror("Can't enter the net namespace of task %d", root);
		}
		close(fd);
		return ret;
	}
	if (fd >= 0)
		close(fd);
	if (*self >= 0)
		close(*self);
	*self = -1;
	return ret;
}

static int tree_netns_leave(int self)
{
	int ret = 0;

	if (self < 0)
		return 0;
	if (setns(self, CLONE_NEWNET) < 0) {
		ret = -errno;
		pr_perror("Can't come back to our own net namespace");
	}
	close(self);
	return ret;
}

static int dump_tree(struct cr_frozen *f, const char *dir, struct cr_digests **digests);

int cr_dump_ex(struct cr_frozen *f, const char *dir, struct cr_digests **digests)
{
	int self, ret, back;

	if (digests)
		*digests = NULL;
	ret = tree_netns_enter(f->root, &self);
	if (ret)
		return ret;
	ret = dump_tree(f, dir, digests);
	back = tree_netns_leave(self);
	return ret ? ret : back;
}

/* Before anything is written: everything must be something we can restore. */
static int check_tree(struct dump_ctx *ctx, struct cr_frozen *f)
{
	int ret = 0;

	for (size_t i = 0; i < f->ntasks && !ret; i++) {
		if (f->tasks[i].zombie)
			continue;
		ret = check_memory(&f->tasks[i]);
		if (!ret)
			ret = check_fds(ctx, &f->tasks[i]);
	}
	if (!ret)
		ret = check_tree_locks(ctx, f);
	return ret ? ret : check_ipc(f);
}

static int dump_tree(struct cr_frozen *f, const char *dir, struct cr_digests **digests)
{
	struct cr_digests *dg = NULL;
	/* check and dump share it: the socket index is built once */
	struct dump_ctx ctx = {.root = f->root, .net = f->net, .tree = f};
	struct cr_img img;
	int ret = check_tree(&ctx, f);

	if (!ret)
		ret = cr_img_create(&img, dir);
	if (ret) {
		free_dump_locks(&ctx);
		sk_index_free(&ctx);
		return ret;
	}
	if (find_zero_pfn(&ctx.zero_pfn))
		ctx.zero_pfn = 0; /* without it zero pages are saved: correct, larger */
	ret = write_header(&img, f);
	for (size_t i = 0; i < f->ntasks && !ret; i++)
		ret = dump_one_task(&img, &ctx, f, &f->tasks[i]);
	if (!ret)
		ret = dump_locks(&img, &ctx); /* once every task's fds are seen */
	if (!ret)
		ret = dump_ipc(&img, f); /* the tree's IPC namespace (ipc.h) */
	if (!ret)
		ret = cr_img_write(&img, CR_REC_END, NULL, 0);
	if (!ret && fflush(img.f))
		ret = -EIO;
	if (!ret)
		ret = cr_img_take_digests(&img, &dg);
	if (!ret && fsync(img.dirfd) < 0)
		ret = -errno;
	cr_img_close(&img);
	free_dump_fds(&ctx);
	free_dump_locks(&ctx);
	sk_index_free(&ctx);
	free(ctx.shmem);
	if (!ret && digests)
		*digests = dg;
	else
		cr_digests_free(dg);
	if (ret) {
		pr_err("Checkpoint of tree %d failed; removing %s\n", f->root, dir);
		remove_tree(dir);
		return ret;
	}
	pr_info("Checkpoint of %zu tasks written to %s\n", f->ntasks, dir);
	return 0;
}
