/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Acting as the job's user. crd works in the job's checkpoint tree with the
 * user's fs credentials (user_fs_enter) but root's other privileges; the tree
 * is writable by the user, so every path below it is opened with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) from a
 * directory fd: a planted symlink is an error, never followed. All functions
 * return 0 (or an fd) or a negative errno; those taking err/errlen write there
 * what failed.
 */
#ifndef CR_USERFS_H
#define CR_USERFS_H

#include <dirent.h>
#include <stddef.h>
#include <sys/types.h>

struct job_user {
	char name[256]; /* the login name, as getpwuid_r gives it */
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[256];
};

/* Supplementary groups of uid (getpwuid_r + getgrouplist), gid as primary. */
int user_lookup(uid_t uid, gid_t gid, struct job_user *u, char *err, size_t errlen);
/*
 * setgroups(u->groups), setfsgid(u->gid), setfsuid(u->uid), each checked
 * (setfsuid/setfsgid return the previous value: call twice to verify). Needs
 * root. On failure the root fs credentials are back. The fs ids are per
 * thread, the groups (glibc) per process.
 */
int user_fs_enter(const struct job_user *u, char *err, size_t errlen);
/* Back to root fs credentials and no supplementary groups. */
void user_fs_leave(void);

/*
 * rel below dirfd, never through a symlink or magic link, never outside dirfd.
 * O_NOFOLLOW on a final component except for O_DIRECTORY opens: with both, the
 * kernel reports a final symlink as ENOTDIR; RESOLVE_NO_SYMLINKS alone refuses
 * it with ELOOP, which is what callers are promised. O_CLOEXEC is added.
 * Returns the fd or -errno.
 */
int userfs_open_beneath(int dirfd, const char *rel, int flags, mode_t mode);
/* The directory rel below dirfd (as userfs_open_beneath) as a DIR stream. */
int userfs_opendir_beneath(int dirfd, const char *rel, DIR **d);
/*
 * Names in err why an open below the job dir failed (ret, returned);
 * -ELOOP and -EXDEV are refusals, not accidents.
 */
int userfs_open_err(char *err, size_t errlen, int ret, const char *path);
/*
 * renameat(from -> to) in dirfd without replacing what is at `to` (-EEXIST);
 * where the filesystem lacks RENAME_NOREPLACE (EINVAL, e.g. NFS), check then
 * rename: only the job's user writes the directory.
 */
int userfs_rename_noreplace(int dirfd, const char *from, const char *to);
/* fsync a directory; some filesystems cannot (EINVAL): as durable as they make it. */
int userfs_fsync_dir(int fd);

#endif /* CR_USERFS_H */
