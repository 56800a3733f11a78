// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The checkpoint tree of a job on shared storage (layout in store.h). The tree
 * is writable by the job's user, so every path below <ckdir> is resolved with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) from the job dirfd, walked
 * with fstatat(AT_SYMLINK_NOFOLLOW) and removed with unlinkat: a planted
 * symlink is an error or is removed itself, never followed. No logging, no exit.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "errmsg.h"
#include "store.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define RESOLVE_STORE (RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH)
#define IO_CHUNK      (256u << 10)
#define MANIFEST_MAX  (256u << 20)
#define MAX_DEPTH     64 /* node image trees are a few levels deep */
#define TMP_PREFIX    ".tmp-"
#define MANIFEST      "manifest.json"
#define OPENAT2_TRIES 16
#define SEQ_NAME_LEN  24 /* ".tmp-4294967295", "4294967295.bad" */

_Static_assert(STORE_KEY_LEN == crypto_auth_KEYBYTES, "HMAC-SHA512-256 key size");
_Static_assert(STORE_DIGEST_HEX == 2 * crypto_generichash_BYTES + 1, "BLAKE2b-256 hex size");

enum seq_kind {
	SEQ_NONE,
	SEQ_COMMITTED, /* <n> */
	SEQ_TMP,       /* .tmp-<n> */
	SEQ_BAD,       /* <n>.bad */
};

/* A walk below some directory: path names the current entry relative to its top. */
struct walk {
	char path[PATH_MAX];
	size_t len;
	int depth;
	uint8_t *buf; /* IO_CHUNK bytes */
	json_t *files;
	uint64_t bytes;
	char *err;
	size_t errlen;
};

static int _syserr(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* As err_set, with ": <strerror(-ret)>" appended. */
static int _syserr(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
		n = strlen(err);
		snprintf(err + n, errlen - n, ": %s", strerror(-ret));
	}
	return ret;
}

/* Names why an openat2 below the job dir failed; -ELOOP and -EXDEV are refusals, not accidents. */
static int _open_err(char *err, size_t errlen, int ret, const char *path)
{
	if (ret == -ELOOP)
		return err_set(err, errlen, ret, "%s: a symlink on the path, not followed", path);
	if (ret == -EXDEV)
		return err_set(err, errlen, ret, "%s: leads out of its directory, refused", path);
	if (ret == -ENOSYS)
		return err_set(err, errlen, ret, "%s: openat2 not available (Linux >= 5.6 needed)",
			       path);
	return _syserr(err, errlen, ret, "%s", path);
}

/*
 * rel below dirfd, never through a symlink or magic link, never outside dirfd.
 * O_NOFOLLOW on a final component except for O_DIRECTORY opens: with both, the
 * kernel reports a final symlink as ENOTDIR; RESOLVE_NO_SYMLINKS alone refuses
 * it with ELOOP, which is what callers are promised.
 */
static int _open_beneath(int dirfd, const char *rel, int flags, mode_t mode)
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

static int _opendir_beneath(int dirfd, const char *rel, DIR **d)
{
	int fd, ret;

	fd = _open_beneath(dirfd, rel, O_RDONLY | O_DIRECTORY, 0);
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

/* Some filesystems cannot fsync a directory (EINVAL): as durable as they make it. */
static int _fsync_dir(int fd)
{
	if (fsync(fd) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

static int _write_all(int fd, const void *p, size_t len)
{
	const uint8_t *c = p;
	ssize_t n;

	while (len) {
		n = write(fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		c += n;
		len -= n;
	}
	return 0;
}

static int _pwrite_all(int fd, const void *p, size_t len, off_t off)
{
	const uint8_t *c = p;
	ssize_t n;

	while (len) {
		n = pwrite(fd, c, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		c += n;
		len -= n;
		off += n;
	}
	return 0;
}

/* A seq as the store writes it: decimal, no sign, no leading zero; *end is after the digits. */
static int _parse_seq(const char *s, uint32_t *seq, const char **end)
{
	uint64_t v = 0;

	if (*s < '1' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
	}
	*seq = (uint32_t)v;
	*end = s;
	return 0;
}

static enum seq_kind _name_seq(const char *name, uint32_t *seq)
{
	const char *end;

	if (!strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)))
		return !_parse_seq(name + strlen(TMP_PREFIX), seq, &end) && !*end ? SEQ_TMP
										  : SEQ_NONE;
	if (_parse_seq(name, seq, &end))
		return SEQ_NONE;
	if (!*end)
		return SEQ_COMMITTED;
	return strcmp(end, ".bad") ? SEQ_NONE : SEQ_BAD;
}

static const char *_kind(mode_t mode)
{
	if (S_ISLNK(mode))
		return "a symlink";
	if (S_ISFIFO(mode))
		return "a fifo";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	return "a special file";
}

static void _walk_init(struct walk *w, const char *top, char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	snprintf(w->path, sizeof(w->path), "%s", top);
	w->len = strlen(w->path);
	w->err = err;
	w->errlen = errlen;
}

static const char *_wpath(const struct walk *w)
{
	return w->len ? w->path : ".";
}

/* Appends name to w->path; *saved is the length _pop() goes back to. */
static int _push(struct walk *w, const char *name, size_t *saved)
{
	size_t n = strlen(name), sep = w->len ? 1 : 0;

	if (w->len + sep + n >= sizeof(w->path))
		return err_set(w->err, w->errlen, -ENAMETOOLONG, "%s/%s: path too long", w->path,
			       name);
	*saved = w->len;
	if (sep)
		w->path[w->len++] = '/';
	memcpy(w->path + w->len, name, n + 1);
	w->len += n;
	return 0;
}

static void _pop(struct walk *w, size_t saved)
{
	w->len = saved;
	w->path[saved] = '\0';
}

/* fn(dirfd(d), name, arg) for each entry but . and ..; stops at fn's first error. */
static int _each_entry(DIR *d, int (*fn)(int dfd, const char *name, void *arg), void *arg,
		       char *err, size_t errlen, const char *path)
{
	struct dirent *de;
	int ret;

	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de)
			return errno ? _syserr(err, errlen, -errno, "%s: readdir", path) : 0;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		ret = fn(dirfd(d), de->d_name, arg);
		if (ret)
			return ret;
	}
}

/* Hashes fd's bytes [0, limit) (or to EOF) with pread, copying them to outfd when >= 0. */
static int _hash_fd(int fd, uint64_t limit, int outfd, uint8_t *buf, char hex[STORE_DIGEST_HEX],
		    uint64_t *done)
{
	crypto_generichash_state st;
	uint8_t md[crypto_generichash_BYTES];
	uint64_t off = 0;
	size_t want;
	ssize_t n;
	int ret;

	crypto_generichash_init(&st, NULL, 0, sizeof(md));
	while (off < limit) {
		want = limit - off < IO_CHUNK ? (size_t)(limit - off) : IO_CHUNK;
		n = pread(fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		crypto_generichash_update(&st, buf, (size_t)n);
		if (outfd >= 0) {
			ret = _write_all(outfd, buf, (size_t)n);
			if (ret)
				return ret;
		}
		off += (uint64_t)n;
	}
	crypto_generichash_final(&st, md, sizeof(md));
	sodium_bin2hex(hex, STORE_DIGEST_HEX, md, sizeof(md));
	*done = off;
	return 0;
}

/* The whole regular file rel below dirfd (at most max bytes), malloc'ed and NUL-terminated. */
static int _read_file(int dirfd, const char *rel, size_t max, char **out, size_t *len)
{
	struct stat st;
	size_t got = 0;
	char *buf;
	ssize_t n = 0;
	int fd, ret = 0;

	fd = _open_beneath(dirfd, rel, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	ret = -EINVAL;
	if (!S_ISREG(st.st_mode))
		goto out;
	ret = -EFBIG;
	if ((uint64_t)st.st_size > max)
		goto out;
	ret = -ENOMEM;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		goto out;
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	ret = n < 0 ? -errno : 0;
	if (ret) {
		free(buf);
		goto out;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
out:
	close(fd);
	return ret;
}

/*
 * renameat without replacing what sits at `to`; where the filesystem lacks
 * RENAME_NOREPLACE (EINVAL, e.g. NFS), check then rename: only the job's user
 * writes this directory.
 */
static int _rename_noreplace(int dirfd, const char *from, const char *to)
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

/* ---- removal ---- */

static int _remove_tree(struct walk *w, int dirfd, const char *name);

struct rm_pass {
	struct walk *w;
	const char *prefix; /* only entries starting with it, all when NULL */
	int removed;
};

static int _rm_entry(int dfd, const char *name, void *arg)
{
	struct rm_pass *p = arg;
	size_t saved = 0;
	int ret;

	if (p->prefix && strncmp(name, p->prefix, strlen(p->prefix)))
		return 0;
	ret = _push(p->w, name, &saved);
	if (ret)
		return ret;
	ret = _remove_tree(p->w, dfd, name);
	_pop(p->w, saved);
	if (ret == -ENOENT) /* gone meanwhile */
		return 0;
	if (!ret)
		p->removed++;
	return ret;
}

/*
 * Removes the entries of directory name (matching prefix); passes again while a
 * pass removed something, as readdir may skip entries of a directory that
 * changes under it (NFS).
 */
static int _empty_dir(struct walk *w, int dirfd, const char *name, const char *prefix)
{
	struct rm_pass p = {.w = w, .prefix = prefix};
	DIR *d;
	int ret;

	if (w->depth >= MAX_DEPTH)
		return err_set(w->err, w->errlen, -ELOOP, "%s: nested too deep", _wpath(w));
	ret = _opendir_beneath(dirfd, name, &d);
	if (ret)
		return ret == -ENOENT ? ret : _open_err(w->err, w->errlen, ret, _wpath(w));
	w->depth++;
	do {
		p.removed = 0;
		rewinddir(d);
		ret = _each_entry(d, _rm_entry, &p, w->err, w->errlen, _wpath(w));
	} while (!ret && p.removed);
	w->depth--;
	closedir(d);
	return ret;
}

/*
 * Removes name below dirfd (w->path) with all it holds; a symlink is unlinked,
 * not followed. -ENOENT (no message) when it is not there.
 */
static int _remove_tree(struct walk *w, int dirfd, const char *name)
{
	struct stat st;
	int ret;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return _syserr(w->err, w->errlen, -errno, "%s: stat", w->path);
	}
	if (S_ISDIR(st.st_mode)) {
		ret = _empty_dir(w, dirfd, name, NULL);
		if (ret)
			return ret;
	}
	if (unlinkat(dirfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return _syserr(w->err, w->errlen, -errno, "%s: remove", w->path);
	}
	return 0;
}

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
			return _syserr(err, errlen, -ret, "uid %u: getpwuid_r", uid);
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
		return _syserr(err, errlen, -errno, "uid %u: setgroups", u->uid);
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

/* ---- the MAC key ---- */

int store_key_load(const char *path, uint8_t key[STORE_KEY_LEN], char *err, size_t errlen)
{
	struct stat st;
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ELOOP)
		return err_set(err, errlen, -ELOOP, "MAC key %s: a symlink, refused", path);
	if (fd < 0)
		return _syserr(err, errlen, -errno, "MAC key %s", path);
	if (fstat(fd, &st) < 0)
		ret = _syserr(err, errlen, -errno, "MAC key %s: fstat", path);
	else if (!S_ISREG(st.st_mode))
		ret = err_set(err, errlen, -EINVAL, "MAC key %s: not a regular file", path);
	else if (st.st_uid != 0)
		ret = err_set(err, errlen, -EPERM, "MAC key %s: owned by uid %u, not root", path,
			      st.st_uid);
	else if (st.st_mode & 077)
		ret = err_set(err, errlen, -EPERM, "MAC key %s: mode %04o gives group/other access",
			      path, st.st_mode & 07777);
	else if (st.st_size != STORE_KEY_LEN)
		ret = err_set(err, errlen, -EINVAL, "MAC key %s: %lld bytes, not %d", path,
			      (long long)st.st_size, STORE_KEY_LEN);
	if (ret)
		goto out;
	do
		n = pread(fd, key, STORE_KEY_LEN, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		ret = _syserr(err, errlen, -errno, "MAC key %s: read", path);
	else if (n != STORE_KEY_LEN)
		ret = err_set(err, errlen, -EIO, "MAC key %s: short read", path);
out:
	close(fd);
	if (ret)
		sodium_memzero(key, STORE_KEY_LEN);
	return ret;
}

/* The key's directory entry must survive a crash too, or every manifest stops verifying. */
static int _fsync_parent(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, ret;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return err_set(err, errlen, -ENAMETOOLONG, "MAC key %s: path too long", path);
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return _syserr(err, errlen, -errno, "MAC key directory %s", dir);
	ret = _fsync_dir(fd);
	close(fd);
	if (ret)
		return _syserr(err, errlen, ret, "MAC key directory %s: fsync", dir);
	return 0;
}

int store_key_create(const char *path, char *err, size_t errlen)
{
	uint8_t key[STORE_KEY_LEN];
	int fd, ret;

	if (sodium_init() < 0)
		return err_set(err, errlen, -EIO, "libsodium initialisation failed");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST)
		return 0;
	if (fd < 0)
		return _syserr(err, errlen, -errno, "MAC key %s: create", path);
	randombytes_buf(key, sizeof(key));
	ret = _write_all(fd, key, sizeof(key));
	sodium_memzero(key, sizeof(key));
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret) {
		/* A partial key would be refused by every later load: leave none. */
		unlink(path);
		return _syserr(err, errlen, ret, "MAC key %s: write", path);
	}
	return _fsync_parent(path, err, errlen);
}

/* ---- the job directory ---- */

int store_job_open(const char *ckdir, uint32_t jobid, int create, char *err, size_t errlen)
{
	char name[SEQ_NAME_LEN], path[PATH_MAX];
	struct stat st;
	uid_t fsuid;
	int ckfd, pfd, fd;

	snprintf(name, sizeof(name), "%u", jobid);
	snprintf(path, sizeof(path), "%s/%s", ckdir, name);
	ckfd = open(ckdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ckfd < 0)
		return _syserr(err, errlen, -errno, "checkpoint directory %s", ckdir);
	if (create && mkdirat(ckfd, name, 0700) < 0 && errno != EEXIST) {
		fd = _syserr(err, errlen, -errno, "%s: mkdir", path);
		close(ckfd);
		return fd;
	}
	/* O_PATH first: the owner is checked before read access to someone else's dir matters. */
	pfd = _open_beneath(ckfd, name, O_PATH | O_DIRECTORY, 0);
	close(ckfd);
	if (pfd == -ELOOP)
		return err_set(err, errlen, pfd, "%s: a symlink, refused", path);
	if (pfd < 0)
		return _open_err(err, errlen, pfd, path);
	/* setfsuid(-1) changes nothing and returns the current fsuid. */
	fsuid = (uid_t)setfsuid((uid_t)-1);
	if (fstat(pfd, &st) < 0)
		fd = _syserr(err, errlen, -errno, "%s: fstat", path);
	else if (st.st_uid != fsuid)
		fd = err_set(err, errlen, -EPERM, "%s: owned by uid %u, not by uid %u", path,
			     st.st_uid, fsuid);
	else if ((fd = _open_beneath(pfd, ".", O_RDONLY | O_DIRECTORY, 0)) < 0)
		_open_err(err, errlen, fd, path);
	close(pfd);
	return fd;
}

static int _max_seq(int dfd, const char *name, void *arg)
{
	uint32_t *max = arg, seq;

	(void)dfd;
	if (_name_seq(name, &seq) != SEQ_NONE && seq > *max)
		*max = seq;
	return 0;
}

int store_next_seq(int jobfd, uint32_t *seq)
{
	uint32_t max = 0;
	DIR *d;
	int ret;

	ret = _opendir_beneath(jobfd, ".", &d);
	if (ret)
		return ret;
	ret = _each_entry(d, _max_seq, &max, NULL, 0, ".");
	closedir(d);
	if (ret)
		return ret;
	if (max == UINT32_MAX)
		return -EOVERFLOW;
	*seq = max + 1;
	return 0;
}

int store_begin(int jobfd, uint32_t seq, char *err, size_t errlen)
{
	char name[SEQ_NAME_LEN];
	struct walk w;
	int ret, fd;

	/* What a crashed or aborted checkpoint left: nothing can resume it. */
	_walk_init(&w, "", err, errlen);
	ret = _empty_dir(&w, jobfd, ".", TMP_PREFIX);
	if (ret)
		return ret;
	snprintf(name, sizeof(name), TMP_PREFIX "%u", seq);
	if (mkdirat(jobfd, name, 0700) < 0)
		return _syserr(err, errlen, -errno, "%s: mkdir", name);
	fd = _open_beneath(jobfd, name, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return _open_err(err, errlen, fd, name);
	return fd;
}

int store_open_dir(int jobfd, const char *rel, int create, char *err, size_t errlen)
{
	char parent[PATH_MAX];
	const char *base = rel;
	char *slash;
	int pfd = jobfd, fd;

	if (!rel || !*rel || strlen(rel) >= sizeof(parent) || rel[strlen(rel) - 1] == '/')
		return err_set(err, errlen, -EINVAL, "bad directory path \"%s\"", rel ? rel : "");
	if (!create) {
		fd = _open_beneath(jobfd, rel, O_RDONLY | O_DIRECTORY, 0);
		return fd < 0 ? _open_err(err, errlen, fd, rel) : fd;
	}
	/* mkdirat would follow symlinks in the leading components: open the parent safely first. */
	memcpy(parent, rel, strlen(rel) + 1);
	slash = strrchr(parent, '/');
	if (slash) {
		*slash = '\0';
		base = slash + 1;
		pfd = _open_beneath(jobfd, parent, O_RDONLY | O_DIRECTORY, 0);
		if (pfd < 0)
			return _open_err(err, errlen, pfd, parent);
	}
	if (mkdirat(pfd, base, 0700) < 0 && errno != EEXIST) {
		fd = _syserr(err, errlen, -errno, "%s: mkdir", rel);
		goto out;
	}
	fd = _open_beneath(pfd, base, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		fd = _open_err(err, errlen, fd, rel);
out:
	if (pfd != jobfd)
		close(pfd);
	return fd;
}

/* ---- digests ---- */

static int _digest_dir(struct walk *w, int parentfd, const char *name);

static int _digest_file(struct walk *w, int dfd, const char *name)
{
	char hex[STORE_DIGEST_HEX];
	struct stat st;
	uint64_t size;
	json_t *e;
	int fd, ret;

	fd = _open_beneath(dfd, name, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0)
		return _open_err(w->err, w->errlen, fd, w->path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(w->err, w->errlen, -EINVAL, "%s: no longer a regular file", w->path);
	}
	ret = _hash_fd(fd, UINT64_MAX, -1, w->buf, hex, &size);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret)
		return _syserr(w->err, w->errlen, ret, "%s", w->path);
	e = json_pack("{s:I, s:s}", "size", (json_int_t)size, "blake2b", hex);
	if (!e)
		return err_set(w->err, w->errlen, -ENOMEM, "%s: out of memory", w->path);
	/* jansson wants UTF-8 keys; a name that is not is refused with it. */
	if (json_object_set_new(w->files, w->path, e))
		return err_set(w->err, w->errlen, -EINVAL, "%s: file name is not UTF-8", w->path);
	w->bytes += size;
	return 0;
}

static int _digest_entry(int dfd, const char *name, void *arg)
{
	struct walk *w = arg;
	struct stat st;
	size_t saved = 0;
	int ret;

	ret = _push(w, name, &saved);
	if (ret)
		return ret;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		ret = _syserr(w->err, w->errlen, -errno, "%s: stat", w->path);
	else if (S_ISDIR(st.st_mode))
		ret = _digest_dir(w, dfd, name);
	else if (S_ISREG(st.st_mode))
		ret = _digest_file(w, dfd, name);
	else
		ret = err_set(w->err, w->errlen, S_ISLNK(st.st_mode) ? -ELOOP : -EINVAL,
			      "%s: %s, not a regular file", w->path, _kind(st.st_mode));
	_pop(w, saved);
	return ret;
}

static int _digest_dir(struct walk *w, int parentfd, const char *name)
{
	DIR *d;
	int ret;

	if (w->depth >= MAX_DEPTH)
		return err_set(w->err, w->errlen, -ELOOP, "%s: nested too deep", _wpath(w));
	ret = _opendir_beneath(parentfd, name, &d);
	if (ret)
		return _open_err(w->err, w->errlen, ret, _wpath(w));
	w->depth++;
	ret = _each_entry(d, _digest_entry, w, w->err, w->errlen, _wpath(w));
	w->depth--;
	if (!ret) {
		ret = _fsync_dir(dirfd(d));
		if (ret)
			_syserr(w->err, w->errlen, ret, "%s: fsync", _wpath(w));
	}
	closedir(d);
	return ret;
}

int store_digest_tree(int dirfd, json_t **files, uint64_t *bytes, char *err, size_t errlen)
{
	struct walk w;
	int ret;

	*files = NULL;
	if (sodium_init() < 0)
		return err_set(err, errlen, -EIO, "libsodium initialisation failed");
	_walk_init(&w, "", err, errlen);
	w.files = json_object();
	w.buf = malloc(IO_CHUNK);
	ret = -ENOMEM;
	if (!w.files || !w.buf) {
		err_set(err, errlen, ret, "digest: out of memory");
		goto out;
	}
	ret = _digest_dir(&w, dirfd, ".");
	if (ret)
		goto out;
	*files = w.files;
	*bytes = w.bytes;
	w.files = NULL;
out:
	json_decref(w.files);
	free(w.buf);
	return ret;
}

static int _check_file(int dirfd, const char *path, json_t *v, uint8_t *buf, char *err,
		       size_t errlen)
{
	char hex[STORE_DIGEST_HEX];
	const char *want;
	json_int_t size;
	struct stat st;
	uint64_t got;
	int fd, ret;

	if (json_unpack(v, "{s:I, s:s}", "size", &size, "blake2b", &want) || size < 0)
		return err_set(err, errlen, -EBADMSG, "%s: malformed manifest entry", path);
	fd = _open_beneath(dirfd, path, O_RDONLY | O_NONBLOCK, 0);
	if (fd == -ENOENT)
		return err_set(err, errlen, fd, "%s: missing", path);
	if (fd < 0)
		return _open_err(err, errlen, fd, path);
	if (fstat(fd, &st) < 0) {
		ret = _syserr(err, errlen, -errno, "%s: fstat", path);
	} else if (!S_ISREG(st.st_mode)) {
		ret = err_set(err, errlen, -EBADMSG, "%s: not a regular file", path);
	} else if (st.st_size != size) {
		ret = err_set(err, errlen, -EBADMSG, "%s: %lld bytes, the manifest says %lld", path,
			      (long long)st.st_size, (long long)size);
	} else {
		ret = _hash_fd(fd, UINT64_MAX, -1, buf, hex, &got);
		if (ret)
			_syserr(err, errlen, ret, "%s: read", path);
		else if (got != (uint64_t)size || strcmp(hex, want))
			ret = err_set(err, errlen, -EBADMSG,
				      "%s: content does not match its digest", path);
	}
	close(fd);
	return ret;
}

int store_check_tree(int dirfd, json_t *files, char *err, size_t errlen)
{
	const char *path;
	uint8_t *buf;
	json_t *v;
	int ret = 0;

	if (!json_is_object(files))
		return err_set(err, errlen, -EBADMSG, "manifest file list is not an object");
	if (sodium_init() < 0)
		return err_set(err, errlen, -EIO, "libsodium initialisation failed");
	buf = malloc(IO_CHUNK);
	if (!buf)
		return err_set(err, errlen, -ENOMEM, "check: out of memory");
	json_object_foreach(files, path, v)
	{
		ret = _check_file(dirfd, path, v, buf, err, errlen);
		if (ret)
			break;
	}
	free(buf);
	return ret;
}

/* ---- commit and load ---- */

/* HMAC of m serialized canonically; m must not hold "mac" (it is not covered). */
static int _manifest_mac(json_t *m, const uint8_t key[STORE_KEY_LEN],
			 uint8_t mac[crypto_auth_BYTES])
{
	char *text;

	text = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return -ENOMEM;
	crypto_auth(mac, (const uint8_t *)text, strlen(text), key);
	free(text);
	return 0;
}

static int _seal(json_t *m, uint32_t seq, const uint8_t key[STORE_KEY_LEN])
{
	uint8_t mac[crypto_auth_BYTES];
	char hex[2 * crypto_auth_BYTES + 1];
	int ret;

	json_object_del(m, "mac");
	if (json_object_set_new(m, "seq", json_integer(seq)))
		return -ENOMEM;
	ret = _manifest_mac(m, key, mac);
	if (ret)
		return ret;
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	return json_object_set_new(m, "mac", json_string(hex)) ? -ENOMEM : 0;
}

/* 0 when m's "mac" is the HMAC of the rest; m is left as it came. */
static int _verify(json_t *m, const uint8_t key[STORE_KEY_LEN])
{
	uint8_t want[crypto_auth_BYTES], got[crypto_auth_BYTES];
	json_t *mac = json_object_get(m, "mac");
	size_t binlen;
	int ret;

	if (!json_is_string(mac) || json_string_length(mac) != 2 * sizeof(want) ||
	    sodium_hex2bin(want, sizeof(want), json_string_value(mac), 2 * sizeof(want), NULL,
			   &binlen, NULL) ||
	    binlen != sizeof(want))
		return -EBADMSG;
	json_incref(mac);
	json_object_del(m, "mac");
	ret = _manifest_mac(m, key, got);
	if (!ret && sodium_memcmp(want, got, sizeof(want)))
		ret = -EBADMSG;
	if (json_object_set_new(m, "mac", mac) && !ret)
		ret = -ENOMEM;
	return ret;
}

static int _write_manifest(int dfd, const char *dname, json_t *m, char *err, size_t errlen)
{
	char *text;
	int fd, ret;

	text = json_dumps(m, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (!text)
		return err_set(err, errlen, -ENOMEM, "%s/" MANIFEST ": out of memory", dname);
	fd = _open_beneath(dfd, MANIFEST, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		free(text);
		return _syserr(err, errlen, fd, "%s/" MANIFEST ": create", dname);
	}
	ret = _write_all(fd, text, strlen(text));
	if (!ret)
		ret = _write_all(fd, "\n", 1);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	free(text);
	if (ret)
		return _syserr(err, errlen, ret, "%s/" MANIFEST ": write", dname);
	ret = _fsync_dir(dfd);
	if (ret)
		return _syserr(err, errlen, ret, "%s: fsync", dname);
	return 0;
}

static int _write_latest(int jobfd, uint32_t seq, char *err, size_t errlen)
{
	char text[SEQ_NAME_LEN];
	int fd, n, ret;

	n = snprintf(text, sizeof(text), "%u\n", seq);
	/* A stale latest.tmp (or anything planted there) goes first; unlinkat never follows. */
	if (unlinkat(jobfd, "latest.tmp", 0) < 0 && errno != ENOENT)
		return _syserr(err, errlen, -errno, "latest.tmp: remove");
	fd = _open_beneath(jobfd, "latest.tmp", O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return _open_err(err, errlen, fd, "latest.tmp");
	ret = _write_all(fd, text, (size_t)n);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret)
		return _syserr(err, errlen, ret, "latest.tmp: write");
	if (renameat(jobfd, "latest.tmp", jobfd, "latest") < 0)
		return _syserr(err, errlen, -errno, "latest.tmp -> latest: rename");
	ret = _fsync_dir(jobfd);
	if (ret)
		return _syserr(err, errlen, ret, "job directory: fsync");
	return 0;
}

int store_commit(int jobfd, uint32_t seq, json_t *manifest, const uint8_t key[STORE_KEY_LEN],
		 char *err, size_t errlen)
{
	char tmp[SEQ_NAME_LEN], name[SEQ_NAME_LEN];
	int dfd, ret;

	if (sodium_init() < 0)
		return err_set(err, errlen, -EIO, "libsodium initialisation failed");
	if (!json_is_object(manifest))
		return err_set(err, errlen, -EINVAL, "checkpoint %u: manifest is not an object",
			       seq);
	if (_seal(manifest, seq, key))
		return err_set(err, errlen, -ENOMEM, "checkpoint %u: out of memory", seq);
	snprintf(tmp, sizeof(tmp), TMP_PREFIX "%u", seq);
	snprintf(name, sizeof(name), "%u", seq);
	dfd = _open_beneath(jobfd, tmp, O_RDONLY | O_DIRECTORY, 0);
	if (dfd < 0)
		return _open_err(err, errlen, dfd, tmp);
	ret = _write_manifest(dfd, tmp, manifest, err, errlen);
	close(dfd);
	if (ret)
		return ret;
	ret = _rename_noreplace(jobfd, tmp, name);
	if (ret)
		return _syserr(err, errlen, ret, "checkpoint %u: rename %s -> %s", seq, tmp, name);
	ret = _fsync_dir(jobfd);
	if (ret)
		return _syserr(err, errlen, ret, "checkpoint %u: fsync of the job directory", seq);
	return _write_latest(jobfd, seq, err, errlen);
}

int store_abort(int jobfd, uint32_t seq)
{
	char name[SEQ_NAME_LEN];
	struct walk w;
	int ret;

	snprintf(name, sizeof(name), TMP_PREFIX "%u", seq);
	_walk_init(&w, name, NULL, 0);
	ret = _remove_tree(&w, jobfd, name);
	return ret == -ENOENT ? 0 : ret;
}

int store_load(int jobfd, uint32_t seq, const uint8_t key[STORE_KEY_LEN], json_t **manifest,
	       char *err, size_t errlen)
{
	char rel[SEQ_NAME_LEN + sizeof(MANIFEST)];
	json_error_t jerr;
	json_t *m, *s;
	size_t len;
	char *text;
	int ret;

	*manifest = NULL;
	if (sodium_init() < 0)
		return err_set(err, errlen, -EIO, "libsodium initialisation failed");
	snprintf(rel, sizeof(rel), "%u/" MANIFEST, seq);
	ret = _read_file(jobfd, rel, MANIFEST_MAX, &text, &len);
	if (ret == -EINVAL || ret == -EFBIG)
		return err_set(err, errlen, ret, "%s: not a regular file of at most %u bytes", rel,
			       MANIFEST_MAX);
	if (ret)
		return _open_err(err, errlen, ret, rel);
	m = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!m)
		return err_set(err, errlen, -EBADMSG, "checkpoint %u: %s line %d: %s", seq, rel,
			       jerr.line, jerr.text);
	ret = _verify(m, key);
	if (ret == -EBADMSG)
		err_set(err, errlen, ret, "checkpoint %u: manifest MAC does not verify (edited?)",
			seq);
	else if (ret)
		err_set(err, errlen, ret, "checkpoint %u: out of memory", seq);
	/* A genuine manifest of another checkpoint, copied here. */
	s = json_object_get(m, "seq");
	if (!ret && (!json_is_integer(s) || json_integer_value(s) != seq))
		ret = err_set(err, errlen, -EBADMSG, "checkpoint %u: the manifest is not for it",
			      seq);
	if (ret) {
		json_decref(m);
		return ret;
	}
	*manifest = m;
	return 0;
}

/* ---- listing, latest, pruning ---- */

struct seq_list {
	uint32_t *v;
	size_t n, cap;
};

static int _list_entry(int dfd, const char *name, void *arg)
{
	char rel[SEQ_NAME_LEN + sizeof(MANIFEST)];
	struct seq_list *l = arg;
	struct stat st;
	uint32_t seq, *v;
	int fd, ok;

	/* A committed seq's name is at most SEQ_NAME_LEN digits: rel holds it. */
	if (_name_seq(name, &seq) != SEQ_COMMITTED ||
	    snprintf(rel, sizeof(rel), "%s/" MANIFEST, name) >= (int)sizeof(rel))
		return 0;
	fd = _open_beneath(dfd, rel, O_PATH, 0);
	/* Not (or not yet, or no longer) a checkpoint, or one reached through a symlink. */
	if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP || fd == -EXDEV)
		return 0;
	if (fd < 0)
		return fd;
	ok = !fstat(fd, &st) && S_ISREG(st.st_mode);
	close(fd);
	if (!ok)
		return 0;
	if (l->n == l->cap) {
		v = realloc(l->v, (l->cap ? l->cap * 2 : 16) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = l->cap ? l->cap * 2 : 16;
	}
	l->v[l->n++] = seq;
	return 0;
}

static int _cmp_seq(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int store_load_newest(int jobfd, const uint8_t key[STORE_KEY_LEN], uint32_t *seq, json_t **manifest)
{
	uint32_t *seqs = NULL;
	size_t n = 0;
	char err[512];
	int ret;

	*manifest = NULL;
	ret = store_list(jobfd, &seqs, &n);
	if (ret)
		return ret;
	while (n-- > 0 && !*manifest)
		if (store_load(jobfd, seqs[n], key, manifest, err, sizeof(err)) == 0)
			*seq = seqs[n];
	free(seqs);
	return *manifest ? 0 : -ENOENT;
}

int store_list(int jobfd, uint32_t **seqs, size_t *n)
{
	struct seq_list l = {0};
	DIR *d;
	int ret;

	*seqs = NULL;
	*n = 0;
	ret = _opendir_beneath(jobfd, ".", &d);
	if (ret)
		return ret;
	ret = _each_entry(d, _list_entry, &l, NULL, 0, ".");
	closedir(d);
	if (ret) {
		free(l.v);
		return ret;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), _cmp_seq);
	*seqs = l.v;
	*n = l.n;
	return 0;
}

int store_latest(int jobfd, uint32_t *seq)
{
	const char *end;
	uint32_t v;
	size_t len = 0;
	char *text = NULL;
	int ret;

	ret = _read_file(jobfd, "latest", SEQ_NAME_LEN, &text, &len);
	if (ret == -EFBIG || ret == -EINVAL)
		return -EBADMSG;
	if (ret || !text) /* clang 14's analyzer takes -errno for 0 */
		return ret ?: -EIO;
	ret = -EBADMSG;
	/* "<seq>\n", or "<seq>" as an admin may write it; nothing else (no NUL either). */
	if (!_parse_seq(text, &v, &end) &&
	    ((size_t)(end - text) == len || ((size_t)(end - text) + 1 == len && *end == '\n'))) {
		*seq = v;
		ret = 0;
	}
	free(text);
	return ret;
}

int store_mark_bad(int jobfd, uint32_t seq)
{
	char from[SEQ_NAME_LEN], to[SEQ_NAME_LEN];
	int ret;

	snprintf(from, sizeof(from), "%u", seq);
	snprintf(to, sizeof(to), "%u.bad", seq);
	ret = _rename_noreplace(jobfd, from, to);
	if (ret)
		return ret;
	/* It must stay refused after a crash too. */
	return _fsync_dir(jobfd);
}

static int _remove_checkpoint(int jobfd, uint32_t seq, char *err, size_t errlen)
{
	char name[SEQ_NAME_LEN];
	struct walk w;
	int dfd, ret = 0;

	snprintf(name, sizeof(name), "%u", seq);
	/* The manifest first: a removal cut short leaves no half checkpoint for store_list. */
	dfd = _open_beneath(jobfd, name, O_RDONLY | O_DIRECTORY, 0);
	if (dfd < 0)
		return _open_err(err, errlen, dfd, name);
	if (unlinkat(dfd, MANIFEST, 0) < 0 && errno != ENOENT)
		ret = _syserr(err, errlen, -errno, "%s/" MANIFEST ": remove", name);
	close(dfd);
	if (ret)
		return ret;
	_walk_init(&w, name, err, errlen);
	ret = _remove_tree(&w, jobfd, name);
	return ret == -ENOENT ? 0 : ret;
}

int store_prune(int jobfd, uint32_t keep, char *err, size_t errlen)
{
	uint32_t *seqs, latest = 0;
	int ret, have_latest;
	size_t n, i;

	if (keep < 1)
		return err_set(err, errlen, -EINVAL, "prune: keep count must be at least 1");
	ret = store_list(jobfd, &seqs, &n);
	if (ret)
		return _syserr(err, errlen, ret, "prune: listing the checkpoints");
	/* Without a readable latest we cannot tell what must stay: prune nothing. */
	ret = store_latest(jobfd, &latest);
	if (ret && ret != -ENOENT) {
		free(seqs);
		return _syserr(err, errlen, ret, "prune: latest");
	}
	have_latest = !ret;
	ret = 0;
	for (i = 0; n > keep && i < n - keep && !ret; i++)
		if (!have_latest || seqs[i] != latest)
			ret = _remove_checkpoint(jobfd, seqs[i], err, errlen);
	free(seqs);
	return ret;
}

int store_remove_job(const char *ckdir, uint32_t jobid, char *err, size_t errlen)
{
	char name[SEQ_NAME_LEN], path[PATH_MAX];
	struct walk w;
	int ckfd, ret;

	snprintf(name, sizeof(name), "%u", jobid);
	snprintf(path, sizeof(path), "%s/%s", ckdir, name);
	ckfd = open(ckdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ckfd < 0)
		return _syserr(err, errlen, -errno, "checkpoint directory %s", ckdir);
	/* A symlink planted as the job dir is removed itself, its target left alone. */
	_walk_init(&w, path, err, errlen);
	ret = _remove_tree(&w, ckfd, name);
	close(ckfd);
	return ret == -ENOENT ? 0 : ret;
}

/* ---- the job's output ---- */

static int _output_name(const char *name)
{
	return name && (!strcmp(name, "stdout") || !strcmp(name, "stderr"));
}

/* srcfd's [off, end) to the same offsets of dstfd; stops early where srcfd ends. */
static int _copy_range(int srcfd, int dstfd, uint64_t off, uint64_t end, uint8_t *buf,
		       uint64_t *copied)
{
	uint64_t start = off;
	size_t want;
	ssize_t n;
	int ret;

	while (off < end) {
		want = end - off < IO_CHUNK ? (size_t)(end - off) : IO_CHUNK;
		n = pread(srcfd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		ret = _pwrite_all(dstfd, buf, (size_t)n, (off_t)off);
		if (ret)
			return ret;
		off += (uint64_t)n;
	}
	*copied = off - start;
	return 0;
}

static int _output_append(int fd, const char *name, int srcfd, uint64_t committed, uint64_t *len,
			  char digest[STORE_DIGEST_HEX], uint8_t *buf, char *err, size_t errlen)
{
	struct stat src, dst;
	uint64_t start, n = 0;
	int ret;

	if (fstat(srcfd, &src) < 0)
		return _syserr(err, errlen, -errno, "%s: the job's output", name);
	if (!S_ISREG(src.st_mode))
		return err_set(err, errlen, -EINVAL, "%s: the job's output is not a regular file",
			       name);
	if (fstat(fd, &dst) < 0)
		return _syserr(err, errlen, -errno, "%s: fstat", name);
	if (!S_ISREG(dst.st_mode))
		return err_set(err, errlen, -EINVAL, "%s: not a regular file", name);
	/* The job's output was truncated, or our copy lost what was committed: start over. */
	start = committed;
	if ((uint64_t)src.st_size < committed || (uint64_t)dst.st_size < committed)
		start = 0;
	if (ftruncate(fd, (off_t)start) < 0)
		return _syserr(err, errlen, -errno, "%s: truncate to %llu", name,
			       (unsigned long long)start);
	ret = _copy_range(srcfd, fd, start, (uint64_t)src.st_size, buf, &n);
	if (ret)
		return _syserr(err, errlen, ret, "%s: copying the job's output", name);
	if (fdatasync(fd) < 0)
		return _syserr(err, errlen, -errno, "%s: fdatasync", name);
	*len = start + n;
	ret = _hash_fd(fd, *len, -1, buf, digest, &n);
	if (ret)
		return _syserr(err, errlen, ret, "%s: read", name);
	if (n != *len)
		return err_set(err, errlen, -EIO, "%s: shrank while being saved", name);
	return 0;
}

int store_output_save(int jobfd, const char *name, int srcfd, uint64_t committed, uint64_t *len,
		      char digest[STORE_DIGEST_HEX], char *err, size_t errlen)
{
	uint8_t *buf;
	int fd, ret;

	if (!_output_name(name))
		return err_set(err, errlen, -EINVAL, "output \"%s\": not stdout or stderr",
			       name ? name : "");
	if (sodium_init() < 0)
		return err_set(err, errlen, -EIO, "libsodium initialisation failed");
	buf = malloc(IO_CHUNK);
	if (!buf)
		return err_set(err, errlen, -ENOMEM, "%s: out of memory", name);
	fd = _open_beneath(jobfd, name, O_RDWR | O_CREAT | O_NONBLOCK, 0600);
	if (fd < 0) {
		free(buf);
		return _open_err(err, errlen, fd, name);
	}
	ret = _output_append(fd, name, srcfd, committed, len, digest, buf, err, errlen);
	close(fd);
	free(buf);
	return ret;
}

/* dstfd from its start; a non-regular output (/dev/null, a tty) cannot be truncated. */
static int _output_rewind(int dstfd)
{
	struct stat st;

	if (fstat(dstfd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return 0;
	if (ftruncate(dstfd, 0) < 0)
		return -errno;
	/* Without O_APPEND writes would go on at the old offset, leaving a hole. */
	if (lseek(dstfd, 0, SEEK_SET) < 0)
		return -errno;
	return 0;
}

static int _output_copy(int fd, const char *name, uint64_t len, const char *digest, int dstfd,
			uint8_t *buf, char *err, size_t errlen)
{
	char hex[STORE_DIGEST_HEX];
	struct stat st;
	uint64_t got = 0;
	int ret;

	if (fstat(fd, &st) < 0)
		return _syserr(err, errlen, -errno, "%s: fstat", name);
	if (!S_ISREG(st.st_mode))
		return err_set(err, errlen, -EBADMSG, "%s: not a regular file", name);
	if ((uint64_t)st.st_size < len)
		return err_set(err, errlen, -EBADMSG,
			       "%s: %lld bytes saved, the checkpoint has %llu", name,
			       (long long)st.st_size, (unsigned long long)len);
	ret = _hash_fd(fd, len, -1, buf, hex, &got);
	if (ret)
		return _syserr(err, errlen, ret, "%s: read", name);
	if (got != len || strcmp(hex, digest))
		return err_set(err, errlen, -EBADMSG,
			       "%s: saved output does not match the checkpoint's digest", name);
	if (dstfd < 0)
		return 0;
	ret = _output_rewind(dstfd);
	if (ret)
		return _syserr(err, errlen, ret, "%s: truncating the job's output", name);
	/* Hashed again while copying: the user could change the saved copy in between. */
	ret = _hash_fd(fd, len, dstfd, buf, hex, &got);
	if (ret)
		return _syserr(err, errlen, ret, "%s: restoring the job's output", name);
	if (got != len || strcmp(hex, digest))
		return err_set(err, errlen, -EBADMSG, "%s: saved output changed while restored",
			       name);
	return 0;
}

int store_output_restore(int jobfd, const char *name, uint64_t len, const char *digest, int dstfd,
			 char *err, size_t errlen)
{
	uint8_t *buf;
	int fd, ret;

	if (!_output_name(name))
		return err_set(err, errlen, -EINVAL, "output \"%s\": not stdout or stderr",
			       name ? name : "");
	if (!digest || strlen(digest) != STORE_DIGEST_HEX - 1)
		return err_set(err, errlen, -EBADMSG, "%s: malformed digest", name);
	if (sodium_init() < 0)
		return err_set(err, errlen, -EIO, "libsodium initialisation failed");
	fd = _open_beneath(jobfd, name, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0)
		return _open_err(err, errlen, fd, name);
	buf = malloc(IO_CHUNK);
	if (!buf)
		ret = err_set(err, errlen, -ENOMEM, "%s: out of memory", name);
	else
		ret = _output_copy(fd, name, len, digest, dstfd, buf, err, errlen);
	free(buf);
	close(fd);
	return ret;
}
