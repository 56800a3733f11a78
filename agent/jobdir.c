// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The user's and the job's checkpoint directories (jobdir.h): made, opened
 * and checked with the job user's fs credentials, set aside and removed as
 * that user; for an admin's question about an ended job, whose they are.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errmsg.h"
#include "jobdir.h"
#include "userfs.h"
#include "walk.h"

#define JOB_NAME_LEN 40 /* "4294967295.stale-<time>" */

int store_user_dir(const char *top, const char *chosen, const char *user, char *out, size_t len,
		   char *err, size_t errlen)
{
	int n;

	if (chosen && *chosen) {
		if (chosen[0] != '/')
			return err_set(err, errlen, -EINVAL,
				       "checkpoint directory \"%s\": not an absolute path", chosen);
		n = snprintf(out, len, "%s", chosen);
	} else {
		/* The name is a path component under root's top: nothing that climbs or nests. */
		if (!*user || strchr(user, '/') || !strcmp(user, ".") || !strcmp(user, ".."))
			return err_set(err, errlen, -EINVAL,
				       "user name \"%s\" cannot name a checkpoint directory", user);
		n = snprintf(out, len, "%s/%s", top, user);
	}
	if (n < 0 || (size_t)n >= len)
		return err_set(err, errlen, -ENAMETOOLONG,
			       "checkpoint directory of %s: path too long", user);
	return 0;
}

/* userdir's parent (reached by path, as the caller's fs credentials resolve it) and its name. */
static int _user_parent(const char *userdir, char parent[PATH_MAX], char base[NAME_MAX + 1])
{
	size_t n = strlen(userdir);
	char *slash;

	while (n > 1 && userdir[n - 1] == '/')
		n--;
	if (n >= PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(parent, userdir, n);
	parent[n] = '\0';
	slash = strrchr(parent, '/');
	if (!slash || !slash[1] || strlen(slash + 1) > NAME_MAX || !strcmp(slash + 1, ".") ||
	    !strcmp(slash + 1, ".."))
		return -EINVAL;
	snprintf(base, NAME_MAX + 1, "%s", slash + 1);
	slash[slash == parent ? 1 : 0] = '\0';
	return 0;
}

/* Owner and mode of userdir (pfd, an O_PATH fd): the user's alone, 0700. */
static int _user_dir_check(int pfd, const char *userdir, char *err, size_t errlen)
{
	/* setfsuid(-1) changes nothing and returns the current fsuid. */
	uid_t fsuid = (uid_t)setfsuid((uid_t)-1);
	struct stat st;

	if (fstat(pfd, &st) < 0)
		return err_sys(err, errlen, -errno, "%s: fstat", userdir);
	if (st.st_uid != fsuid)
		return err_set(
			err, errlen, -EPERM,
			"checkpoint directory %s is owned by uid %u, not by the job's user "
			"(uid %u): refused; it must be the user's own (remove it, or as root: "
			"chown %u %s)",
			userdir, st.st_uid, fsuid, fsuid, userdir);
	if ((st.st_mode & 0777) != 0700)
		return err_set(err, errlen, -EPERM,
			       "checkpoint directory %s has mode %04o: refused; it must be 0700 "
			       "(chmod 0700 %s)",
			       userdir, st.st_mode & 07777, userdir);
	return 0;
}

/* Create userdir as the user; when the user may not, say what the admin must do. */
static int _user_dir_make(int parentfd, const char *base, const char *userdir, char *err,
			  size_t errlen)
{
	uid_t fsuid = (uid_t)setfsuid((uid_t)-1);

	if (mkdirat(parentfd, base, 0700) == 0 || errno == EEXIST)
		return 0;
	if (errno == EACCES || errno == EPERM || errno == EROFS)
		return err_sys(
			err, errlen, -errno,
			"cannot create checkpoint directory %s as uid %u (as root: install -d "
			"-m 0700 -o %u %s)",
			userdir, fsuid, fsuid, userdir);
	return err_sys(err, errlen, -errno, "checkpoint directory %s: mkdir", userdir);
}

int store_user_open(const char *userdir, int create, char *err, size_t errlen)
{
	char parent[PATH_MAX], base[NAME_MAX + 1];
	int ppfd, pfd, fd;

	if (_user_parent(userdir, parent, base))
		return err_set(err, errlen, -EINVAL, "\"%s\" cannot be a checkpoint directory",
			       userdir);
	ppfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* Not "no checkpoint yet": the storage is not there (not mounted?). */
	if (ppfd < 0 && errno == ENOENT)
		return err_set(err, errlen, -ENODEV,
			       "checkpoint directory %s: missing (is the storage mounted?)",
			       parent);
	if (ppfd < 0)
		return err_sys(err, errlen, -errno, "checkpoint directory %s", parent);
	/* O_PATH first: owner and mode are checked before anything is read in it. */
	pfd = userfs_open_beneath(ppfd, base, O_PATH | O_DIRECTORY, 0);
	if (pfd == -ENOENT && create) {
		pfd = _user_dir_make(ppfd, base, userdir, err, errlen);
		if (!pfd)
			pfd = userfs_open_beneath(ppfd, base, O_PATH | O_DIRECTORY, 0);
		else
			goto out_pp;
	}
	if (pfd == -ENOENT) {
		err_set(err, errlen, pfd, "checkpoint directory %s: none", userdir);
		goto out_pp;
	}
	if (pfd == -ELOOP || pfd == -ENOTDIR) {
		pfd = err_set(err, errlen, -ELOOP,
			      "checkpoint directory %s is a symlink or no directory: refused",
			      userdir);
		goto out_pp;
	}
	if (pfd < 0) {
		userfs_open_err(err, errlen, pfd, userdir);
		goto out_pp;
	}
	fd = _user_dir_check(pfd, userdir, err, errlen);
	if (!fd && (fd = userfs_open_beneath(pfd, ".", O_RDONLY | O_DIRECTORY, 0)) < 0)
		userfs_open_err(err, errlen, fd, userdir);
	close(pfd);
	close(ppfd);
	return fd;
out_pp:
	close(ppfd);
	return pfd;
}

int store_job_open(const char *userdir, uint32_t jobid, int create, char *err, size_t errlen)
{
	char name[JOB_NAME_LEN], path[PATH_MAX];
	struct stat st;
	uid_t fsuid;
	int ckfd, pfd, fd;

	snprintf(name, sizeof(name), "%u", jobid);
	snprintf(path, sizeof(path), "%s/%s", userdir, name);
	ckfd = store_user_open(userdir, create, err, errlen);
	if (ckfd < 0)
		return ckfd;
	if (create && mkdirat(ckfd, name, 0700) < 0 && errno != EEXIST) {
		fd = err_sys(err, errlen, -errno, "%s: mkdir", path);
		close(ckfd);
		return fd;
	}
	/* O_PATH first: the owner is checked before read access to someone else's dir matters. */
	pfd = userfs_open_beneath(ckfd, name, O_PATH | O_DIRECTORY, 0);
	close(ckfd);
	if (pfd == -ELOOP)
		return err_set(err, errlen, pfd, "%s: a symlink, refused", path);
	if (pfd < 0)
		return userfs_open_err(err, errlen, pfd, path);
	fsuid = (uid_t)setfsuid((uid_t)-1);
	if (fstat(pfd, &st) < 0)
		fd = err_sys(err, errlen, -errno, "%s: fstat", path);
	else if (st.st_uid != fsuid)
		fd = err_set(err, errlen, -EPERM, "%s: owned by uid %u, not by uid %u", path,
			     st.st_uid, fsuid);
	else if ((fd = userfs_open_beneath(pfd, ".", O_RDONLY | O_DIRECTORY, 0)) < 0)
		userfs_open_err(err, errlen, fd, path);
	close(pfd);
	return fd;
}

int store_set_aside(const char *userdir, uint32_t jobid, const char *why, char *aside,
		    size_t asidelen, char *err, size_t errlen)
{
	char name[JOB_NAME_LEN];
	struct stat st;
	int ufd, ret = 0;

	*aside = '\0';
	ufd = store_user_open(userdir, 0, err, errlen);
	if (ufd == -ENOENT)
		return 0;
	if (ufd < 0)
		return ufd;
	snprintf(name, sizeof(name), "%u", jobid);
	snprintf(aside, asidelen, "%u.%s-%lld", jobid, why, (long long)time(NULL));
	if (fstatat(ufd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		ret = errno == ENOENT ? 0 : err_sys(err, errlen, -errno, "%s/%s", userdir, name);
	else if ((ret = userfs_rename_noreplace(ufd, name, aside)))
		err_sys(err, errlen, ret, "%s/%s -> %s: rename", userdir, name, aside);
	else
		ret = 1;
	if (ret != 1)
		*aside = '\0';
	if (ret == 1)
		ret = userfs_fsync_dir(ufd);
	close(ufd);
	return ret;
}

int store_remove_job(const char *userdir, uint32_t jobid, char *err, size_t errlen)
{
	char name[JOB_NAME_LEN], path[PATH_MAX];
	struct walk w;
	int ufd, ret;

	snprintf(name, sizeof(name), "%u", jobid);
	snprintf(path, sizeof(path), "%s/%s", userdir, name);
	ufd = store_user_open(userdir, 0, err, errlen);
	if (ufd == -ENOENT)
		return 0;
	if (ufd < 0)
		return ufd;
	/* A symlink planted as the job dir is removed itself, its target left alone. */
	walk_init(&w, path, err, errlen);
	ret = walk_remove_tree(&w, ufd, name);
	close(ufd);
	return ret == -ENOENT ? 0 : ret;
}

/* Does the user named name hold <top>/<name>/<jobid>? Tried as that user. */
static int _holds(const char *top, const char *name, uint32_t jobid, uid_t *uid, gid_t *gid)
{
	char buf[4096], dir[PATH_MAX];
	struct passwd pw, *res = NULL;
	struct job_user u;
	int fd;

	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) || !res || pw.pw_uid == 0 ||
	    store_user_dir(top, NULL, name, dir, sizeof(dir), NULL, 0) ||
	    user_lookup(pw.pw_uid, pw.pw_gid, &u, NULL, 0) || user_fs_enter(&u, NULL, 0)) {
		user_fs_leave();
		return 0;
	}
	fd = store_job_open(dir, jobid, 0, NULL, 0);
	user_fs_leave();
	if (fd < 0)
		return 0;
	close(fd);
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	return 1;
}

int store_find_owner(const char *top, uint32_t jobid, uid_t *uid, gid_t *gid)
{
	struct dirent *de;
	int found = 0;
	DIR *d;

	/* top is the admin's CheckpointDir: root lists it, and enters nothing in it. */
	d = opendir(top);
	if (!d)
		return -errno;
	while (!found && (de = readdir(d)))
		if (de->d_name[0] != '.')
			found = _holds(top, de->d_name, jobid, uid, gid);
	closedir(d);
	return found ? 0 : -ENOENT;
}
