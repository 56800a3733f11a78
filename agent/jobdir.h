/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The user's and the job's checkpoint directories (layout in store.h):
 * <userdir> is <CheckpointDir>/<user name> or the user's --checkpoint-dir as
 * given, <userdir>/<jobid> the job's. Call these with the job user's fs
 * credentials (user_fs_enter): crd never works in a user's directory as
 * root. All return 0 (or an fd) or a negative errno; those taking err/errlen
 * write there what failed.
 */
#ifndef CR_JOBDIR_H
#define CR_JOBDIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * <top>/<user>: the user directory of a job in the cluster's CheckpointDir
 * top, or chosen (the user's --checkpoint-dir, used as given) when non-empty.
 * -EINVAL for a user name that is no single path component.
 */
int store_user_dir(const char *top, const char *chosen, const char *user, char *out, size_t len,
		   char *err, size_t errlen);
/*
 * <userdir>/<jobid> as a dirfd (O_DIRECTORY|O_CLOEXEC); call it with the job
 * user's fs credentials. userdir's parent is reached by path (as the user);
 * userdir itself is refused (message naming it and the fix) when it is a
 * symlink (-ELOOP), not owned by the current fsuid (setfsuid(-1) returns it)
 * or not mode 0700 (-EPERM); with create it is made 0700 when missing, as
 * the user (-EACCES and the admin's command when the user may not). The job
 * dir is refused the same way (owner, symlink); with create, mkdir'd 0700.
 * -ENOENT: userdir or the job dir is not there (no checkpoint yet); -ENODEV:
 * userdir's parent is not there (the storage is missing, not the checkpoints).
 */
int store_job_open(const char *userdir, uint32_t jobid, int create, char *err, size_t errlen);
/* userdir (as store_job_open checks it) as a dirfd; -ENOENT (no message) when missing. */
int store_user_open(const char *userdir, int create, char *err, size_t errlen);
/*
 * <userdir>/<jobid> out of the way, renamed <jobid>.<why>-<time> (its name in
 * aside): "stale" for an earlier job's with the same id (slurmctld lost its
 * state) that a first start finds. 0 and aside "" when there is none.
 */
int store_set_aside(const char *userdir, uint32_t jobid, const char *why, char *aside,
		    size_t asidelen, char *err, size_t errlen);
/* Remove <userdir>/<jobid> entirely (the finished-job policy), as the job's user. */
int store_remove_job(const char *userdir, uint32_t jobid, char *err, size_t errlen);
/*
 * Whose <top>/<user>/<jobid> is it: for an admin's crctl on a job that ended.
 * Each entry of top named after a user is tried as that user (fs credentials
 * entered and left here, root's again on return); the first that holds the
 * job gives *uid and *gid (the user's primary group). -ENOENT: none.
 */
int store_find_owner(const char *top, uint32_t jobid, uid_t *uid, gid_t *gid);

#endif /* CR_JOBDIR_H */
