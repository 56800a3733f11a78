// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Acting as the job's user (userfs.h): its credentials, and opening, writing
 * and syncing below a directory it owns without following its symlinks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "errmsg.h"
#include "userfs.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define RESOLVE_STORE (RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH)
#define OPENAT2_TRIES 16

/* ---- users ---- */

int user_lookup(uid_t uid, gid_t gid, struct job_user *u, char *err, size_t errlen)
{
	struct passwd pw, *res = NULL;
	size_t size = 16384;
	char *buf = NULL, *nbuf;
	int ret, n;

	for (;;) {
		nbuf = realloc(buf, size);
		if (!nbuf) {
			free(buf);
			return err_set(err, errlen, -ENOMEM, "uid %u: out of memory", uid);
		}
		buf = nbuf;
		ret = getpwuid_r(uid, &pw, buf, size, &res);
		if (ret != ERANGE || size >= (1u << 20))
			break;
		size *= 2;
	}
	if (ret || !res) {
		free(buf);
		if (ret)
			return err_sys(err, errlen, -ret, "uid %u: getpwuid_r", uid);
		return err_set(err, errlen, -ENOENT, "uid %u: no such user", uid);
	}
	n = (int)ARRAY_SIZE(u->groups);
	/* More groups than fit is refused rather than silently dropping some. */
	if (getgrouplist(pw.pw_name, gid, u->groups, &n) < 0) {
		ret = err_set(err, errlen, -E2BIG, "user %s: in %d groups, at most %zu supported",
			      pw.pw_name, n, ARRAY_SIZE(u->groups));
		free(buf);
		return ret;
	}
	snprintf(u->name, sizeof(u->name), "%s", pw.pw_name);
	free(buf);
	u->uid = uid;
	u->gid = gid;
	u->ngroups = n;
	return 0;
}

int user_fs_enter(const struct job_user *u, char *err, size_t errlen)
{
	if (u->ngroups < 0 || (size_t)u->ngroups > ARRAY_SIZE(u->groups))
		return err_set(err, errlen, -EINVAL, "uid %u: bad group count %d", u->uid,
			       u->ngroups);
	if (setgroups((size_t)u->ngroups, u->groups) < 0)
		return err_sys(err, errlen, -errno, "uid %u: setgroups", u->uid);
	/* setfs[ug]id report no error: the second call returns what the first one left. */
	setfsgid(u->gid);
	if ((gid_t)setfsgid(u->gid) != u->gid) {
		user_fs_leave();
		return err_set(err, errlen, -EPERM, "setfsgid(%u) refused", u->gid);
	}
	setfsuid(u->uid);
	if ((uid_t)setfsuid(u->uid) != u->uid) {
		user_fs_leave();
		return err_set(err, errlen, -EPERM, "setfsuid(%u) refused", u->uid);
	}
	return 0;
}

void user_fs_leave(void)
{
	setfsuid(0);
	setfsgid(0);
	setgroups(0, NULL);
}

/* ---- below a directory the user owns ---- */

int userfs_open_err(char *err, size_t errlen, int ret, const char *path)
{
	if (ret == -ELOOP)
		return err_set(err, errlen, ret, "%s: a symlink on the path, not followed", path);
	if (ret == -EXDEV)
		return err_set(err, errlen, ret, "%s: leads out of its directory, refused", path);
	if (ret == -ENOSYS)
		return err_set(err, errlen, ret, "%s: openat2 not available (Linux >= 5.6 needed)",
			       path);
	return err_sys(err, errlen, ret, "%s", path);
}

int userfs_open_beneath(int dirfd, const char *rel, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | ((flags & O_DIRECTORY) ? 0 : O_NOFOLLOW) | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_STORE,
	};
	long fd;
	int tries = 0;

	/* EAGAIN: a concurrent rename made the kernel unsure ".." stayed beneath; it asks for a
	 * retry. */
	do
		fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	while (fd < 0 && (errno == EINTR || (errno == EAGAIN && ++tries < OPENAT2_TRIES)));
	return fd < 0 ? -errno : (int)fd;
}

int userfs_opendir_beneath(int dirfd, const char *rel, DIR **d)
{
	int fd, ret;

	fd = userfs_open_beneath(dirfd, rel, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	*d = fdopendir(fd);
	if (!*d) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return 0;
}

/*
 * renameat without replacing what sits at `to`; where the filesystem lacks
 * RENAME_NOREPLACE (EINVAL, e.g. NFS), check then rename: only the job's user
 * writes this directory.
 */
int userfs_rename_noreplace(int dirfd, const char *from, const char *to)
{
	struct stat st;

	if (renameat2(dirfd, from, dirfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	if (fstatat(dirfd, to, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return -EEXIST;
	if (errno != ENOENT)
		return -errno;
	return renameat(dirfd, from, dirfd, to) < 0 ? -errno : 0;
}

int userfs_fsync_dir(int fd)
{
	if (fsync(fd) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}
