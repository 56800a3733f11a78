/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The checkpoint tree of a job on shared storage:
 *
 *	<ckdir>/<jobid>/		0700, owned by the job's user
 *		<seq>/manifest.json	committed checkpoints (MAC'ed manifest)
 *		<seq>/node-<i>/...	written by the nodes
 *		.tmp-<seq>/		in progress
 *		<seq>.bad/		refused by a restore
 *		latest			newest committed seq, "<seq>\n"
 *		stdout, stderr		the job's output up to the last checkpoint
 *
 * Nothing below <ckdir> is ever reached through a symlink: the tree belongs to
 * the job's user, and crd works in it with that user's fs credentials
 * (user_fs_enter) but root's other privileges. All functions return 0 (or an
 * fd) or a negative errno; those taking err/errlen write there what failed.
 */
#ifndef CR_STORE_H
#define CR_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STORE_KEY_LEN	 32
#define STORE_DIGEST_HEX 65 /* 64 hex digits + NUL */

struct job_user {
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
 * The root-only MAC key: a regular file (opened O_NOFOLLOW), owned by uid 0, no
 * group/other permission bits, exactly 32 bytes.
 */
int store_key_load(const char *path, uint8_t key[STORE_KEY_LEN], char *err, size_t errlen);
/*
 * Create the key file with 32 random bytes (randombytes_buf), mode 0600,
 * O_EXCL; 0 if it already exists.
 */
int store_key_create(const char *path, char *err, size_t errlen);

/*
 * <ckdir>/<jobid> as a dirfd (O_DIRECTORY|O_CLOEXEC). With create, mkdir it
 * 0700 if missing. Refuses (-EPERM, message) a job dir not owned by the current
 * fsuid (setfsuid(-1) returns it), and a symlink (-ELOOP). ckdir itself is
 * opened as given (admin path).
 */
int store_job_open(const char *ckdir, uint32_t jobid, int create, char *err, size_t errlen);
/* 1 + the largest seq among <n>, .tmp-<n> and <n>.bad entries (1 when none). */
int store_next_seq(int jobfd, uint32_t *seq);
/*
 * Remove every stale .tmp-* (recursively, never following symlinks), then
 * mkdir .tmp-<seq> 0700 and return its fd (>= 0) or -errno.
 */
int store_begin(int jobfd, uint32_t seq, char *err, size_t errlen);
/*
 * Open an existing directory below jobfd by relative path (e.g.
 * ".tmp-7/node-1", "7/node-0") without following symlinks; with create, mkdir
 * the last component 0700 first. Returns fd or -errno.
 */
int store_open_dir(int jobfd, const char *rel, int create, char *err, size_t errlen);
/*
 * Every regular file below dirfd, recursively:
 * {"rel/path": {"size": N, "blake2b": "hex"}} (paths relative to dirfd,
 * '/'-separated), each file fsync'd and each directory fsync'd as it goes (this
 * is the commit's durability). *bytes = total size. A symlink, device, fifo or
 * socket below dirfd is an error naming it.
 */
int store_digest_tree(int dirfd, json_t **files, uint64_t *bytes, char *err, size_t errlen);
/*
 * Every file listed (as store_digest_tree makes them) exists below dirfd as a
 * regular file (no symlink on the way) with that size and digest. Extra files
 * are ignored. The first mismatch is named in err (-EBADMSG for a wrong
 * size/digest, -ENOENT missing, -ELOOP symlink).
 */
int store_check_tree(int dirfd, json_t *files, char *err, size_t errlen);
/*
 * Commit: set manifest "seq" (integer) and "mac"; write
 * .tmp-<seq>/manifest.json (O_EXCL), fsync it and .tmp-<seq>; renameat
 * .tmp-<seq> -> <seq>; fsync jobfd; write latest (latest.tmp, fsync, renameat,
 * fsync jobfd).
 */
int store_commit(int jobfd, uint32_t seq, json_t *manifest, const uint8_t key[STORE_KEY_LEN],
		 char *err, size_t errlen);
/* Remove .tmp-<seq> recursively (0 if absent). */
int store_abort(int jobfd, uint32_t seq);
/*
 * Load <seq>/manifest.json; refuse (-EBADMSG, message "checkpoint N: manifest
 * MAC does not verify (edited?)") a missing/wrong mac, a "seq" member different
 * from seq, or unparsable JSON.
 */
int store_load(int jobfd, uint32_t seq, const uint8_t key[STORE_KEY_LEN], json_t **manifest,
	       char *err, size_t errlen);
/* The newest committed checkpoint whose manifest verifies: its seq and manifest (-ENOENT: none). */
int store_load_newest(int jobfd, const uint8_t key[STORE_KEY_LEN], uint32_t *seq,
		      json_t **manifest);
/*
 * Committed seqs (numeric dir names holding a manifest.json regular file),
 * ascending, malloc'ed (NULL when *n is 0).
 */
int store_list(int jobfd, uint32_t **seqs, size_t *n);
/* The seq in "latest" (-ENOENT when missing, -EBADMSG when not a number). */
int store_latest(int jobfd, uint32_t *seq);
/* Rename <seq> to <seq>.bad so restore never picks it again. */
int store_mark_bad(int jobfd, uint32_t seq);
/*
 * Remove committed checkpoints beyond the newest `keep` (keep >= 1), oldest
 * first; `latest` is never removed.
 */
int store_prune(int jobfd, uint32_t keep, char *err, size_t errlen);
/* Remove <ckdir>/<jobid> entirely (the finished-job policy). */
int store_remove_job(const char *ckdir, uint32_t jobid, char *err, size_t errlen);

/*
 * The job's stdout/stderr as written up to a checkpoint, kept in <jobdir>/<name>
 * ("stdout" or "stderr"), appended incrementally: truncate <name> to `committed`
 * (the length recorded by the last committed checkpoint; creating it when missing),
 * then append srcfd's bytes [committed, current size of srcfd) read with pread (srcfd
 * is a read-only fd of the job's output file), fdatasync. *len = new length,
 * digest = BLAKE2b-256 hex of <name>[0, len). If srcfd is shorter than committed
 * (someone truncated the job's output) copy it all from offset 0.
 */
int store_output_save(int jobfd, const char *name, int srcfd, uint64_t committed, uint64_t *len,
		      char digest[STORE_DIGEST_HEX], char *err, size_t errlen);
/*
 * Check <name> holds >= len bytes whose [0, len) digest is `digest` (-EBADMSG
 * otherwise), then ftruncate(dstfd, 0) and write those len bytes to dstfd
 * (which may be O_APPEND, write-only). With dstfd -1, only the check.
 */
int store_output_restore(int jobfd, const char *name, uint64_t len, const char *digest, int dstfd,
			 char *err, size_t errlen);

#endif /* CR_STORE_H */
