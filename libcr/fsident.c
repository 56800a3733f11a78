// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * File identities. The image names files by path (cwd, root, exe, open and
 * mapped files); a path is only worth recording if it leads back to the
 * file it stands for. At dump each one is resolved in the tree's root, as
 * restore will see it, and must be the very file the task holds (same
 * device and inode, the moment it is read); what it is then is recorded:
 * its file handle (name_to_handle_at: the inode and generation on a local
 * filesystem, the server's handle on NFS, the FID on Lustre, the same on
 * every node, unlike st_dev), its inode, type, size and mtime. At restore,
 * before anything is changed or forked, the path must lead to that file
 * again (docs/image-format.md: how each kind of path is compared).
 */
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "files: "
#include "log.h"
#include "fsident.h"

_Static_assert(sizeof(struct cr_fident) == 184, "docs/image-format.md gives its size");

/* What @fd is now; -errno, not logged. */
static int read_ident(int fd, struct cr_fident *id)
{
	uint8_t buf[sizeof(struct file_handle) + CR_HANDLE_LEN] __attribute__((aligned(8)));
	struct file_handle *fh = (struct file_handle *)buf;
	struct statfs sfs;
	struct stat st;
	int mnt;

	if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0)
		return -errno;
	id->mode = st.st_mode;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	id->fs_type = (uint64_t)sfs.f_type;
	fh->handle_bytes = CR_HANDLE_LEN;
	/* no handle (the filesystem gives none): the inode stands alone */
	if (!name_to_handle_at(fd, "", fh, &mnt, AT_EMPTY_PATH) &&
	    fh->handle_bytes <= CR_HANDLE_LEN) {
		id->handle_type = fh->handle_type;
		id->handle_bytes = fh->handle_bytes;
		memcpy(id->handle, fh->f_handle, fh->handle_bytes);
	}
	return 0;
}

/*
 * How a path is compared: tmpfs inodes die with the tmpfs (the job
 * container's /tmp and /dev/shm are rebuilt from its archive), so there the
 * content stands for the file; elsewhere the file itself.
 */
static void decide(struct cr_fident *id, uint32_t flags)
{
	id->flags = flags;
	if (!S_ISREG(id->mode) && !S_ISDIR(id->mode))
		id->how = CR_FIDENT_NONE;
	else if (id->fs_type == TMPFS_MAGIC || id->fs_type == RAMFS_MAGIC)
		id->how = CR_FIDENT_CONTENT;
	else
		id->how = CR_FIDENT_EXACT;
}

/* @path resolved in the root of task @root, never outside it; -errno. */
static int open_in_root(pid_t root, const char *path)
{
	struct open_how how = {.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	char proc[64];
	int rfd, fd, err;

	snprintf(proc, sizeof(proc), "/proc/%d/root", root);
	rfd = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return -errno;
	fd = syscall(SYS_openat2, rfd, path, &how, sizeof(how));
	err = errno;
	close(rfd);
	return fd < 0 ? -err : fd;
}

int fident_dump(pid_t root, pid_t pid, const char *what, const char *path, const struct stat *want,
		uint32_t flags, struct cr_fident *id)
{
	int fd = path[0] == '/' ? open_in_root(root, path) : -ENOENT, ret;
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (fd >= 0 && fstat(fd, &st) < 0)
		st.st_ino = 0;
	if (fd < 0 || st.st_dev != want->st_dev || st.st_ino != want->st_ino) {
		pr_err("Task %d: %s %s does not lead back to the file the task holds (%s): it was "
		       "removed, renamed, replaced or hidden by a mount since the task took it, "
		       "and a restore would not find it. Give the file back that path (a "
		       "directory the job container hides, under its own /tmp or /dev/shm, "
		       "cannot be: use one on shared storage) or let the task let go of it, "
		       "then checkpoint again\n",
		       pid, what, path, fd < 0 ? strerror(-fd) : "another file is there now");
		if (fd >= 0)
			close(fd);
		return -ENOTSUP;
	}
	ret = read_ident(fd, id);
	close(fd);
	if (ret) {
		errno = -ret;
		pr_perror("Task %d: can't read what %s %s is", pid, what, path);
		return ret;
	}
	decide(id, flags);
	return 0;
}

static bool same_file(const struct cr_fident *was, const struct cr_fident *now)
{
	if (was->handle_bytes && now->handle_bytes)
		return was->handle_type == now->handle_type &&
		       was->handle_bytes == now->handle_bytes &&
		       !memcmp(was->handle, now->handle, was->handle_bytes);
	return was->ino == now->ino;
}

/* mtime to the second: tar (the container's /tmp archive) and packages keep no more */
static bool same_content(const struct cr_fident *was, const struct cr_fident *now)
{
	return was->size == now->size &&
	       was->mtime_ns / 1000000000LL == now->mtime_ns / 1000000000LL;
}

/* Why @now is not the file @was recorded, or NULL when it is. */
static const char *differs(const struct cr_fident *was, const struct cr_fident *now)
{
	bool reg = S_ISREG(was->mode), written = was->flags & CR_FIDENT_WRITTEN;

	if ((was->mode ^ now->mode) & S_IFMT)
		return "another kind of file is there";
	if (was->how == CR_FIDENT_EXACT && !same_file(was, now) &&
	    !(was->flags & CR_FIDENT_COPY_OK && reg && same_content(was, now)))
		return "another file is there (file handle or inode differ)";
	if (was->how == CR_FIDENT_CONTENT && reg && !written && !same_content(was, now))
		return "its size or modification time differ";
	return NULL;
}

int fident_verify_fd(int fd, const struct cr_fident *id, pid_t pid, const char *what,
		     const char *path)
{
	struct cr_fident now = {0};
	const char *why;
	int ret;

	if (id->how == CR_FIDENT_NONE)
		return 0;
	ret = read_ident(fd, &now);
	if (ret) {
		errno = -ret;
		pr_perror("Task %d: can't read what %s %s is", pid, what, path);
		return ret;
	}
	why = differs(id, &now);
	if (!why)
		return 0;
	pr_err("Task %d: %s %s is not the file it was at checkpoint: %s. Put that file back at "
	       "its path to restore this checkpoint\n",
	       pid, what, path, why);
	return -ESTALE;
}

/* Restore: @path must lead, as the task will use it, to the file @id recorded. */
static int verify_path(const char *path, const struct cr_fident *id, pid_t pid, const char *what)
{
	int fd = open(path, O_PATH | O_CLOEXEC), ret;

	if (fd < 0) {
		pr_perror("Task %d: can't reach its %s %s", pid, what, path);
		return -errno;
	}
	ret = fident_verify_fd(fd, id, pid, what, path);
	close(fd);
	return ret;
}

static bool deleted(const char *path)
{
	size_t n = strlen(path), k = strlen(" (deleted)");

	return n > k && !strcmp(path + n - k, " (deleted)");
}

static int check_task(const struct rst_img_task *t)
{
	const struct cr_task_rec *tr = t->rec;
	int ret = verify_path(tr->cwd, &tr->cwd_id, tr->pid, "working directory");

	if (!ret && tr->root[0] && strcmp(tr->root, "/"))
		ret = verify_path(tr->root, &tr->root_id, tr->pid, "root directory");
	/* a deleted executable's text is saved by content; only its name is lost */
	if (!ret && t->mm && !deleted(t->mm->exe))
		ret = verify_path(t->mm->exe, &t->mm->exe_id, tr->pid, "executable");
	for (size_t i = 0; i < t->nvmas && !ret; i++) {
		const struct cr_vma_rec *v = t->vmas[i];

		if ((v->kind == CR_VMA_FILE_PRIVATE || v->kind == CR_VMA_FILE_SHARED) &&
		    !v->shmem_id)
			ret = verify_path(v->path, &v->ident, tr->pid, "mapped file");
	}
	return ret;
}

int fident_check_tasks(const struct rst_image *img)
{
	int ret = 0;

	for (size_t i = 0; i < img->ntasks && !ret; i++)
		if (!(img->tasks[i].rec->flags & CR_TASK_ZOMBIE))
			ret = check_task(&img->tasks[i]);
	return ret;
}
