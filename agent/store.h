/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The checkpoint tree of a job on shared storage:
 *
 *	<userdir>/			0700, owned by the job's user: the cluster's
 *					<CheckpointDir>/<user name>, or the user's
 *					own --checkpoint-dir as given
 *	<userdir>/<jobid>/		0700, owned by the job's user
 *		<seq>/manifest.json	committed checkpoints (MAC'ed manifest)
 *		<seq>/node-<i>/...	written by the nodes: image/, tmp.tar,
 *					shm.tar, (node-0) stdout, stderr, and
 *					digests.json, their per-chunk digests
 *					(digest.h), whose digest the manifest holds
 *		.tmp-<seq>/		in progress
 *		<seq>.bad/		refused by a restore
 *		latest			newest committed seq, "<seq>\n"
 *
 * Nothing below <userdir> is ever reached through a symlink: the tree belongs
 * to the job's user, and crd works in it (userdir itself included: it is
 * created, opened and checked) only with that user's fs credentials
 * (user_fs_enter, userfs.h), never as root. The digests of the
 * nodes' files are in digest.h, the saved stdout/stderr in output.h. All
 * functions return 0 (or an fd) or a negative errno; those taking err/errlen
 * write there what failed. The directories themselves: jobdir.h.
 */
#ifndef CR_STORE_H
#define CR_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "jobdir.h"

#define STORE_KEY_LEN 32
/*
 * The manifest's "version": 3 lists, per slot, the digest of node-<i>/digests.json
 * (digest.h), the per-chunk digests of every file the node wrote, computed
 * while writing; the file is sealed (store_seal): its MAC, at its head, covers
 * the bytes that follow and is checked before they are parsed. Formats 1
 * (digests of whole files re-read after the dump) and 2 (the MAC over the
 * parsed JSON, so a user's file was parsed before it was authenticated) are
 * refused by store_load.
 */
#define STORE_MANIFEST_VERSION 3

/*
 * What a manifest is bound to, inside its MAC: the image's owner, the job
 * whose checkpoints these are (its directory's id) with the chain of jobs
 * `crctl restart` made it from, and each node-<slot>/ its slot number.
 */
struct store_binding {
	uid_t uid;	/* the job's user */
	uint32_t jobid; /* whose checkpoints: <userdir>/<jobid> */
	int slot;	/* load: the slot this node restores; -1: the manifest as a whole */
	/* commit: the lineage the job resumed (oldest first; NULL: none); jobid is appended */
	const json_t *lineage;
};

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
 * Commit: set manifest "seq" (integer), "version" (STORE_MANIFEST_VERSION), the binding ("uid",
 * "jobid", "lineage": b->lineage then b->jobid, "slot" in every "slots" entry) and "mac"; write
 * .tmp-<seq>/manifest.json (O_EXCL), fsync it and .tmp-<seq>; renameat
 * .tmp-<seq> -> <seq>; fsync jobfd; write latest (latest.tmp, fsync, renameat,
 * fsync jobfd).
 */
int store_commit(int jobfd, uint32_t seq, json_t *manifest, const struct store_binding *b,
		 const uint8_t key[STORE_KEY_LEN], char *err, size_t errlen);
/* Remove .tmp-<seq> recursively (0 if absent). */
int store_abort(int jobfd, uint32_t seq);
/*
 * The text of manifest m as committed, m's "mac" removed: a JSON object that
 * begins with its "mac" member, the hex of HMAC-SHA512-256 (key) of every
 * byte after that member's line; the others, sorted, one per line. NULL when
 * out of memory or m is empty.
 */
char *store_seal(json_t *m, const uint8_t key[STORE_KEY_LEN]);
/*
 * Load <seq>/manifest.json (at most 32 MiB); refuse (-EBADMSG, message "checkpoint N: manifest
 * MAC does not verify (edited?)") a missing/wrong seal, a "seq" member different
 * from seq, unparsable JSON or a malformed binding; refuse (-EPROTONOSUPPORT,
 * named) a genuine manifest of another format version; refuse (-EPERM, the field
 * named) a genuine manifest whose binding is not expect's: another owner uid,
 * another job, a lineage that does not end with it, a slot that is not
 * expect->slot. -EPERM is "not this job's", not "corrupt".
 */
int store_load(int jobfd, uint32_t seq, const uint8_t key[STORE_KEY_LEN],
	       const struct store_binding *expect, json_t **manifest, char *err, size_t errlen);
/*
 * store_load's checks on a manifest already in memory (len bytes of text):
 * what store_load does once it has read <seq>/manifest.json.
 */
int store_parse(const char *text, size_t len, uint32_t seq, const uint8_t key[STORE_KEY_LEN],
		const struct store_binding *expect, json_t **manifest, char *err, size_t errlen);
/*
 * The newest committed checkpoint whose manifest verifies and is bound as
 * expect: its seq and manifest (-ENOENT: none).
 */
int store_load_newest(int jobfd, const uint8_t key[STORE_KEY_LEN],
		      const struct store_binding *expect, uint32_t *seq, json_t **manifest);
/*
 * The lineage a new checkpoint of jobid resumes (store_binding.lineage): that
 * of prev (the job's own newest checkpoint) or, for the first checkpoint of a
 * job `crctl restart` made from job `from` (0: none), that of from's newest
 * checkpoint in userdir ([from] when it has none). NULL: none.
 */
json_t *store_lineage(const char *userdir, uid_t uid, uint32_t from, const json_t *prev,
		      const uint8_t key[STORE_KEY_LEN]);
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
/* How many <seq>.bad a restore set aside: a job that has them once had checkpoints. */
int store_count_bad(int jobfd, size_t *n);

#endif /* CR_STORE_H */
