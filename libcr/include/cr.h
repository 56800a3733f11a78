/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcr: checkpoint and restart of a Linux process tree from userspace.
 *
 * The calls are the steps a job-wide coordinator needs: every node freezes
 * before any dumps, and resume-or-kill is decided only after all committed.
 *
 *	h = cr_freeze(pid, &fopts);      tree held in ptrace-stop
 *	cr_dump(h, dir);                 image written, tree still held
 *	cr_release(h, CR_RESUME);        or CR_KILL
 *
 *	r = cr_restore(dir, &ropts);     tree rebuilt, every task stopped
 *	cr_rollback(r);                  files back to the checkpoint, still stopped
 *	cr_resume(r);                    or cr_abort(r)
 *
 * All ptrace work happens on the calling thread: call these from a
 * single-threaded process (cr_restore forks the tree from it).
 * Functions return 0 or a negative errno; handles come back through an out
 * parameter. Errors are logged once, where they happen.
 */
#ifndef CR_H
#define CR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define __must_check __attribute__((warn_unused_result))

struct cr_frozen;   /* a held tree, from cr_freeze() */
struct cr_restored; /* a rebuilt, stopped tree, from cr_restore() */

/* Logging: messages at or below @level go to @fd (default: 2, CR_LOG_WARN). */
enum cr_log_level {
	CR_LOG_ERROR = 1,
	CR_LOG_WARN = 2,
	CR_LOG_INFO = 3,
	CR_LOG_DEBUG = 4,
};
void cr_log_setup(int fd, enum cr_log_level level);

/*
 * The owner policy: whom a tree belongs to, and the most its tasks may hold.
 * A checkpointer running as root on behalf of a user (crd) sets it on both
 * sides; NULL keeps the plain behaviour (root checkpointing and restoring
 * its own trees as they were, capabilities and all).
 *
 * cr_freeze() with an owner refuses (-EPERM, naming the task and the field)
 * a tree whose tasks hold more than the owner: a setuid program running, a
 * capability, ids or groups that are not the owner's, a bounding set or
 * limit above the owner's. cr_restore() with an owner refuses (-EPERM) an
 * image whose tasks would get more, before any task is created: every uid
 * (real, effective, saved, fs) is @uid; every gid and supplementary group is
 * @gid or one of @groups; the permitted, effective, inheritable and ambient
 * capability sets are empty; the bounding set is within @cap_bnd (a plain
 * user's full bounding set is no capability); each limit's soft and hard
 * value is at most the owner's hard one (a user may raise a soft limit up
 * to its hard limit at any time, so the soft limit grants nothing more);
 * no_new_privs is set when @no_new_privs is; the root is "/"; the cwd and
 * the executable can be reached by the owner (checked with the owner's fs
 * ids and groups). Securebits: every defined bit only takes privilege away
 * (the *_LOCKED bits, NOROOT, NO_SETUID_FIXUP, NO_CAP_AMBIENT_RAISE) or is
 * keep-caps, which any process may set and which keeps nothing once the
 * capability sets are empty: any combination of them is restored; a bit
 * the kernel does not define is refused.
 *
 * Whatever the policy, cr_freeze() refuses (-ENOTSUP) a task in another user
 * namespace than the caller's (a restore cannot recreate it, and the
 * capabilities it holds there would be granted here) and a task or thread
 * with a seccomp filter or in strict mode (the filter is not saved; the
 * syscalls a dump injects would meet it).
 */
struct cr_owner {
	uid_t uid;
	gid_t gid;	     /* the owner's primary group */
	const gid_t *groups; /* the owner's groups (getgrouplist()), @gid may be among them */
	size_t ngroups;
	uint64_t cap_bnd;	/* bounding set allowed: the job step's */
	struct rlimit rlim[16]; /* the job's limits, by RLIMIT_*: what the step's task has */
	bool no_new_privs;	/* the step runs with no_new_privs: so must every task */
};

/*
 * Fill @o's cap_bnd, rlim and no_new_privs from a running task's /proc (the
 * job step's task; getpid() for the caller's own); uid, gid and groups are
 * the caller's to set. 0 or -errno.
 */
__must_check int cr_owner_from_task(pid_t pid, struct cr_owner *o);

struct cr_freeze_opts {
	/*
	 * A cgroup directory holding exactly the tree (a v1 freezer cgroup or
	 * a cgroup2 directory). When set it is frozen only long enough to
	 * seize every thread. When NULL the tree is walked and re-walked
	 * until no task or thread appears that is not seized.
	 */
	const char *cgroup;
	unsigned int timeout_ms;      /* give up freezing after this; 0: 10 s */
	const struct cr_owner *owner; /* NULL: no owner policy (see struct cr_owner) */
	/*
	 * Lock the root task's net namespace once the tree is frozen (see
	 * cr_net_lock; refused, -EPERM, if it is the caller's own). Needed to
	 * dump established TCP connections. cr_release(CR_RESUME) unlocks it;
	 * CR_KILL leaves it locked for cr_restore to unlock.
	 */
	bool net_lock;
	/*
	 * An IPv4 network (host order, prefix length; 0: none) whose addresses
	 * are checkpointed at the same time as this tree, on other nodes (a
	 * job network): a TCP connection to one of them is dumped as it is,
	 * its other end by that node's dump, both under their network locks.
	 */
	uint32_t peer_net;
	unsigned int peer_net_prefix;
};

/*
 * The network lock of a net namespace (@nsfd: an open /proc/PID/ns/net or
 * /run/netns/NAME): an nftables table "cr_netlock" drops every packet in
 * and out, loopback included. Locking twice is harmless; the caller's own
 * namespace is refused (-EPERM). For an agent that locks a job's
 * namespace before cr_freeze and unlocks it after a failed restore.
 */
__must_check int cr_net_lock(int nsfd);
int cr_net_unlock(int nsfd);

__must_check int cr_freeze(pid_t root, const struct cr_freeze_opts *opts, struct cr_frozen **out);

/*
 * Write the image of a frozen tree into @dir (created, must not exist).
 * Refuses (-ENOTSUP, naming the task and the path) a tree whose cwd, root,
 * exe, open or mapped file is no longer reached by its path from the root
 * task's root (removed, replaced, or hidden by a mount). Refuses with
 * -EAGAIN what passes with time (a TCP connection to outside the tree, one
 * not yet accepted, one opening or closing): release the tree, try again.
 */
__must_check int cr_dump(struct cr_frozen *f, const char *dir);

/*
 * Digests of an image's files, per chunk of CR_DIGEST_CHUNK bytes (the last
 * one shorter): BLAKE2b-256 (crypto_generichash, no key) of each chunk.
 * cr_dump_ex computes them from the bytes it writes, while it writes them,
 * never by reading a file back; cr_restore with opts->digests reads every
 * byte it uses from the image through them (docs/image-format.md).
 */
#define CR_DIGEST_CHUNK (1u << 20)
#define CR_DIGEST_LEN	32
#define CR_DIGEST_NAME	64 /* file names are shorter than this */

struct cr_file_digest {
	char name[CR_DIGEST_NAME]; /* a file of the image directory */
	uint64_t size;
	size_t nchunks; /* (size + CR_DIGEST_CHUNK - 1) / CR_DIGEST_CHUNK */
	uint8_t (*chunk)[CR_DIGEST_LEN];
};

struct cr_digests {
	struct cr_file_digest *files;
	size_t nfiles;
};

/* cr_dump, and *digests (the caller frees it with cr_digests_free). */
__must_check int cr_dump_ex(struct cr_frozen *f, const char *dir, struct cr_digests **digests);
void cr_digests_free(struct cr_digests *d);
/*
 * As JSON: {"algorithm": "blake2b-256", "chunk_size": 1048576, "files":
 * [{"name": ..., "size": ..., "chunks": [hex, ...]}]}; *json is malloc'ed.
 */
__must_check int cr_digests_to_json(const struct cr_digests *d, char **json);
/* Parsed and checked (names, sizes against chunk counts); -EINVAL if not. */
__must_check int cr_digests_from_json(const char *json, struct cr_digests **out);

enum cr_release_mode {
	CR_RESUME = 1, /* let the tree run on as if nothing happened */
	CR_KILL = 2,   /* SIGKILL every task of the tree */
};
/* Release the tree and free @f, whatever the result. */
int cr_release(struct cr_frozen *f, enum cr_release_mode mode);

/* Number of tasks in a frozen tree (for progress and tests). */
size_t cr_frozen_ntasks(const struct cr_frozen *f);
/* How long locking the tree's net namespace took in cr_freeze (0 without net_lock). */
double cr_frozen_lock_seconds(const struct cr_frozen *f);

/* An fd of the restarting process that stands in for a file of the image. */
struct cr_inherit_fd {
	const char *key; /* "stdin", "stdout", "stderr", or "path:/some/file" */
	int fd;
};

/* A path prefix of the image that lives elsewhere on the restoring node. */
struct cr_path_remap {
	const char *from;
	const char *to;
};

struct cr_restore_opts {
	bool new_pidns; /* restore into a fresh pid namespace */
	/*
	 * Default: the restarter's fds 0, 1 and 2 stand in for the root
	 * task's stdio. Entries here override or add to that.
	 */
	const struct cr_inherit_fd *inherit;
	size_t ninherit;
	const struct cr_path_remap *remap;
	size_t nremap;
	/*
	 * Regular files the tree held open for writing. With rollback_files,
	 * cr_restore checks that each is at least as long as at checkpoint,
	 * refusing (naming the task and the file) one that shrank or vanished,
	 * and changes none; cr_rollback (or cr_resume, when it was not called),
	 * before any task runs, truncates each one that grew back to its size at
	 * checkpoint, once per file, through the fd cr_restore opened. cr_abort
	 * before cr_rollback, and a cr_restore that fails, leave
	 * every file as they found it. Only the length is rolled back: bytes
	 * overwritten in place since the checkpoint, writes through shared
	 * mappings and files the tree no longer held stay as they are.
	 * Without it the files are reopened as they are now.
	 * Either way every path the image records (cwd, root, exe, open and
	 * mapped files) must lead to the file it led to at checkpoint
	 * (docs/image-format.md, "File identity"), or cr_restore refuses it.
	 */
	bool rollback_files;
	/*
	 * Debug switch for tests: a comma-separated list of kinds of state not
	 * to restore ("sigactions,fds,..."), to prove the tests see the loss.
	 */
	const char *skip;
	const struct cr_owner *owner; /* NULL: no owner policy (see struct cr_owner) */
	/*
	 * The digests of the image's files (from cr_dump_ex, kept where the
	 * user cannot change them). When set, every byte read from @dir is read
	 * once, into memory the user cannot reach, checked against its chunk's
	 * digest and only then used; a mismatch fails with -EBADMSG naming the
	 * file and chunk, a file the list does not name is never read (-EBADMSG
	 * if the image needs it). NULL: the files are trusted as they are.
	 */
	const struct cr_digests *digests;
	/*
	 * The net namespace to restore the sockets into (/proc/PID/ns/net,
	 * /run/netns/NAME); the calling thread moves into it. NULL: the
	 * caller's own (then net_lock locks the caller's own namespace: for a
	 * restarter that lives in the tree's, as a job container's init
	 * does). With net_lock it is locked (again) first, sockets
	 * are rebuilt while nothing moves, and cr_resume unlocks it and only
	 * then lets established TCP connections out of repair mode; cr_abort
	 * unlocks it too. Established TCP connections need net_lock.
	 */
	const char *netns;
	bool net_lock;
	/*
	 * The peer network of the dump (cr_freeze_opts.peer_net): under the
	 * owner policy an established TCP connection whose other end is not in
	 * the image is refused unless that end's address is in it (the agent
	 * keeps the job network to the job's own slots).
	 */
	uint32_t peer_net;
	unsigned int peer_net_prefix;
};

__must_check int cr_restore(const char *dir, const struct cr_restore_opts *opts,
			    struct cr_restored **out);

/* The restored root task, as seen from the restarting process's pid namespace. */
pid_t cr_restored_root(const struct cr_restored *r);
/*
 * The process the restarter waits on: the root task, or with new_pidns the
 * init of the new namespace (which exits with the root's status).
 */
pid_t cr_restored_child(const struct cr_restored *r);

/*
 * With rollback_files: every file the tree held for writing goes back to its
 * length at checkpoint, the tasks still stopped; @r is kept either way (on
 * failure the caller aborts; files cut before the failure stay cut). A
 * job-wide coordinator calls it on every node and resumes none before all
 * succeeded: a file open on several nodes is then never cut after a task of
 * another node wrote to it (cutting it twice to the same length is
 * harmless). A second call does nothing.
 */
__must_check int cr_rollback(struct cr_restored *r);

/*
 * cr_rollback keeping what it cuts: before a file is cut, the bytes past its
 * length at checkpoint go into a new file "<n>.tail" of @dirfd, listed in
 * "index" there (one line each: n, offset, length, "cloned", "copied" or
 * "not kept", the path). Cloned (a reflink: free, and not counted) when
 * @dirfd is on the file's filesystem and it shares extents; otherwise
 * copied while all copies together stay within @max_copy bytes; a tail that
 * would exceed it is not kept, and the rollback goes on. A tail that cannot
 * be written (I/O, a full disk) fails the rollback before that file is cut.
 */
struct cr_rollback_keep {
	int dirfd;
	uint64_t max_copy;
};
__must_check int cr_rollback_keep(struct cr_restored *r, const struct cr_rollback_keep *keep);
/*
 * Let every restored task run; frees @r. Without an earlier cr_rollback the
 * files are rolled back first (single-node callers); if that fails, the
 * tree is killed as by cr_abort and the error returned.
 */
__must_check int cr_resume(struct cr_restored *r);
/* Kill everything that was built; frees @r. No file is changed (cut by cr_rollback stays cut). */
int cr_abort(struct cr_restored *r);

/*
 * Describe an image as JSON (header, tasks with their mappings, threads and
 * fds, files, data file sizes); *json is malloc'ed, the caller frees it.
 */
__must_check int cr_image_describe(const char *dir, char **json);

#ifdef __cplusplus
}
#endif
#endif /* CR_H */
