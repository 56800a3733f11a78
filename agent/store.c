// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The checkpoint tree of a job on shared storage (layout in store.h; the
 * user's and the job's directories in jobdir.c): checkpoint sequence numbers,
 * the MAC key and manifests with their binding (owner uid, lineage, slots),
 * commit, listing and pruning. The tree is writable by the job's user, so every
 * path below <userdir> is resolved beneath the job dirfd (userfs.h) and removed with
 * walk_remove_tree (walk.h): a planted symlink is an error or is removed
 * itself, never followed. No logging, no exit.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"
#include "io.h"
#include "store.h"
#include "userfs.h"
#include "walk.h"

/*
 * A genuine manifest is at most about 18 MiB: 256 slots, each with 512
 * threads and 1024 PUs listed (topo.c). An older format's, not sealed, is
 * parsed only up to OLD_MANIFEST_MAX to name its version.
 */
#define MANIFEST_MAX	  (32u << 20)
#define OLD_MANIFEST_MAX  (1u << 20)
#define TMP_PREFIX	  ".tmp-"
#define MANIFEST	  "manifest.json"
#define SEQ_NAME_LEN	  24 /* ".tmp-4294967295", "4294967295.bad" */
#define STORE_LINEAGE_MAX 64 /* crctl restarts of restarts */

_Static_assert(STORE_KEY_LEN == crypto_auth_KEYBYTES, "HMAC-SHA512-256 key size");

enum seq_kind {
	SEQ_NONE,
	SEQ_COMMITTED, /* <n> */
	SEQ_TMP,       /* .tmp-<n> */
	SEQ_BAD,       /* <n>.bad */
};

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

/* The whole regular file rel below dirfd (at most max bytes), malloc'ed and NUL-terminated. */
static int _read_file(int dirfd, const char *rel, size_t max, char **out, size_t *len)
{
	struct stat st;
	size_t got = 0;
	char *buf;
	ssize_t n = 0;
	int fd, ret = 0;

	fd = userfs_open_beneath(dirfd, rel, O_RDONLY | O_NONBLOCK, 0);
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
		return err_sys(err, errlen, -errno, "MAC key %s", path);
	if (fstat(fd, &st) < 0)
		ret = err_sys(err, errlen, -errno, "MAC key %s: fstat", path);
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
		ret = err_sys(err, errlen, -errno, "MAC key %s: read", path);
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
		return err_sys(err, errlen, -errno, "MAC key directory %s", dir);
	ret = userfs_fsync_dir(fd);
	close(fd);
	if (ret)
		return err_sys(err, errlen, ret, "MAC key directory %s: fsync", dir);
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
		return err_sys(err, errlen, -errno, "MAC key %s: create", path);
	randombytes_buf(key, sizeof(key));
	ret = io_write_all(fd, key, sizeof(key), -1);
	sodium_memzero(key, sizeof(key));
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret) {
		/* A partial key would be refused by every later load: leave none. */
		unlink(path);
		return err_sys(err, errlen, ret, "MAC key %s: write", path);
	}
	return _fsync_parent(path, err, errlen);
}

/* ---- the job directory (its opening and removal: jobdir.c) ---- */

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

	ret = userfs_opendir_beneath(jobfd, ".", &d);
	if (ret)
		return ret;
	ret = walk_each_entry(d, _max_seq, &max, NULL, 0, ".");
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
	walk_init(&w, "", err, errlen);
	ret = walk_empty_dir(&w, jobfd, ".", TMP_PREFIX);
	if (ret)
		return ret;
	snprintf(name, sizeof(name), TMP_PREFIX "%u", seq);
	if (mkdirat(jobfd, name, 0700) < 0)
		return err_sys(err, errlen, -errno, "%s: mkdir", name);
	fd = userfs_open_beneath(jobfd, name, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return userfs_open_err(err, errlen, fd, name);
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
		fd = userfs_open_beneath(jobfd, rel, O_RDONLY | O_DIRECTORY, 0);
		return fd < 0 ? userfs_open_err(err, errlen, fd, rel) : fd;
	}
	/* mkdirat would follow symlinks in the leading components: open the parent safely first. */
	memcpy(parent, rel, strlen(rel) + 1);
	slash = strrchr(parent, '/');
	if (slash) {
		*slash = '\0';
		base = slash + 1;
		pfd = userfs_open_beneath(jobfd, parent, O_RDONLY | O_DIRECTORY, 0);
		if (pfd < 0)
			return userfs_open_err(err, errlen, pfd, parent);
	}
	if (mkdirat(pfd, base, 0700) < 0 && errno != EEXIST) {
		fd = err_sys(err, errlen, -errno, "%s: mkdir", rel);
		goto out;
	}
	fd = userfs_open_beneath(pfd, base, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		fd = userfs_open_err(err, errlen, fd, rel);
out:
	if (pfd != jobfd)
		close(pfd);
	return fd;
}

/* ---- commit and load ---- */

/*
 * The seal (store.h): the file begins with SEAL_HEAD, the MAC's hex and
 * SEAL_TAIL; the MAC covers every byte after them. It is checked on the bytes
 * read, before any parsing: what a user wrote is never parsed.
 */
#define SEAL_HEAD "{\n \"mac\": \""
#define SEAL_TAIL "\",\n"
#define SEAL_HEX  (2 * crypto_auth_BYTES)
#define SEAL_LEN  (sizeof(SEAL_HEAD) - 1 + SEAL_HEX + sizeof(SEAL_TAIL) - 1)

char *store_seal(json_t *m, const uint8_t key[STORE_KEY_LEN])
{
	uint8_t mac[crypto_auth_BYTES];
	char *body, *text = NULL;
	size_t n;

	json_object_del(m, "mac");
	body = json_dumps(m, JSON_INDENT(1) | JSON_SORT_KEYS);
	/* "{\n" and the members, at least one: the seal takes the place of "{\n". */
	if (body && !strncmp(body, "{\n ", 3) && sodium_init() >= 0) {
		n = strlen(body + 2);
		text = malloc(SEAL_LEN + n + 2);
	}
	if (text) {
		memcpy(text + SEAL_LEN, body + 2, n);
		memcpy(text + SEAL_LEN + n, "\n", 2);
		crypto_auth(mac, (const uint8_t *)text + SEAL_LEN, n + 1, key);
		memcpy(text, SEAL_HEAD, sizeof(SEAL_HEAD) - 1);
		sodium_bin2hex(text + sizeof(SEAL_HEAD) - 1, SEAL_HEX + 1, mac, sizeof(mac));
		memcpy(text + sizeof(SEAL_HEAD) - 1 + SEAL_HEX, SEAL_TAIL, sizeof(SEAL_TAIL) - 1);
	}
	free(body);
	return text;
}

/*
 * Not sealed: a manifest of an older format (named, so that it is not taken
 * for a corrupt one), parsed only when small; otherwise edited.
 */
static int _unsealed(const char *text, size_t len, uint32_t seq, char *err, size_t errlen)
{
	json_t *m = len <= OLD_MANIFEST_MAX ? json_loadb(text, len, 0, NULL) : NULL;
	json_int_t v = json_integer_value(json_object_get(m, "version"));
	int old = json_is_string(json_object_get(m, "mac")) && v >= 1 && v < STORE_MANIFEST_VERSION;

	json_decref(m);
	if (old)
		return err_set(err, errlen, -EPROTONOSUPPORT,
			       "checkpoint %u: manifest format %lld (an older crd's): refused, "
			       "this crd restores format %d only",
			       seq, (long long)v, STORE_MANIFEST_VERSION);
	return err_set(err, errlen, -EBADMSG,
		       "checkpoint %u: manifest MAC does not verify (edited?)", seq);
}

/* 0 when text is sealed with key; -EBADMSG or -EPROTONOSUPPORT with err. */
static int _unseal(const char *text, size_t len, uint32_t seq, const uint8_t key[STORE_KEY_LEN],
		   char *err, size_t errlen)
{
	const char *hex = text + sizeof(SEAL_HEAD) - 1;
	uint8_t mac[crypto_auth_BYTES];
	size_t binlen;

	if (len < SEAL_LEN || memcmp(text, SEAL_HEAD, sizeof(SEAL_HEAD) - 1) ||
	    memcmp(hex + SEAL_HEX, SEAL_TAIL, sizeof(SEAL_TAIL) - 1) ||
	    sodium_hex2bin(mac, sizeof(mac), hex, SEAL_HEX, NULL, &binlen, NULL) ||
	    binlen != sizeof(mac))
		return _unsealed(text, len, seq, err, errlen);
	if (crypto_auth_verify(mac, (const uint8_t *)text + SEAL_LEN, len - SEAL_LEN, key))
		return err_set(err, errlen, -EBADMSG,
			       "checkpoint %u: manifest MAC does not verify (edited?)", seq);
	return 0;
}

/* ---- the binding: owner, lineage, slots ---- */

/* A lineage as committed: jobs >= 1, none twice, at most STORE_LINEAGE_MAX. */
static int _lineage_ok(const json_t *l)
{
	size_t i, j, n = json_array_size(l);

	if (!json_is_array(l) || n == 0 || n > STORE_LINEAGE_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		json_int_t v = json_integer_value(json_array_get(l, i));

		if (!json_is_integer(json_array_get(l, i)) || v < 1 || v > UINT32_MAX)
			return 0;
		for (j = 0; j < i; j++)
			if (json_integer_value(json_array_get(l, j)) == v)
				return 0;
	}
	return 1;
}

/* b into m: uid, jobid, lineage (b's, the oldest dropped past the maximum, then jobid), slots. */
static int _bind(json_t *m, const struct store_binding *b)
{
	json_t *l = json_array(), *slots = json_object_get(m, "slots"), *sl;
	size_t i, n = json_array_size(b->lineage), from = 0;

	if (!l)
		return -ENOMEM;
	if (n && json_integer_value(json_array_get(b->lineage, n - 1)) == b->jobid)
		n--; /* the job's own earlier checkpoint's: it ends with the job already */
	if (n >= STORE_LINEAGE_MAX)
		from = n - (STORE_LINEAGE_MAX - 1);
	for (i = from; i < n; i++)
		json_array_append(l, json_array_get(b->lineage, i));
	json_array_append_new(l, json_integer(b->jobid));
	if (json_object_set_new(m, "lineage", l) ||
	    json_object_set_new(m, "uid", json_integer(b->uid)) ||
	    json_object_set_new(m, "jobid", json_integer(b->jobid)))
		return -ENOMEM;
	if (!_lineage_ok(l))
		return -EINVAL;
	json_array_foreach(slots, i,
			   sl) if (!json_is_object(sl) ||
				   json_object_set_new(sl, "slot",
						       json_integer((json_int_t)i))) return -EINVAL;
	return 0;
}

/* Every slot entry numbered as its place; the one this node restores present. */
static int _check_slots(json_t *m, uint32_t seq, int want, char *err, size_t errlen)
{
	json_t *slots = json_object_get(m, "slots"), *sl;
	size_t i;

	json_array_foreach(slots, i, sl)
	{
		json_t *n = json_object_get(sl, "slot");

		if (!json_is_integer(n) || json_integer_value(n) != (json_int_t)i)
			return err_set(err, errlen, -EBADMSG,
				       "checkpoint %u: node-%zu is bound to slot %lld (slot)", seq,
				       i, (long long)json_integer_value(n));
	}
	if (want >= 0 && (size_t)want >= json_array_size(slots))
		return err_set(err, errlen, -EPERM, "checkpoint %u has no slot %d (slot)", seq,
			       want);
	return 0;
}

/* A genuine manifest, but is it this job's? -EPERM: not this owner's, job's or slot's. */
static int _check_binding(json_t *m, uint32_t seq, const struct store_binding *e, char *err,
			  size_t errlen)
{
	json_t *uid = json_object_get(m, "uid"), *job = json_object_get(m, "jobid");
	json_t *l = json_object_get(m, "lineage");
	size_t n = json_array_size(l);

	if (!json_is_integer(uid) || !json_is_integer(job))
		return err_set(err, errlen, -EBADMSG, "checkpoint %u: no owner uid or jobid", seq);
	if (json_integer_value(uid) != (json_int_t)e->uid)
		return err_set(
			err, errlen, -EPERM,
			"checkpoint %u: owner uid %lld, not the job's user (uid %u): another "
			"user's checkpoint, refused",
			seq, (long long)json_integer_value(uid), e->uid);
	if (json_integer_value(job) != (json_int_t)e->jobid)
		return err_set(err, errlen, -EPERM,
			       "checkpoint %u: of job %lld, not of job %u (jobid): another job's "
			       "checkpoint, refused",
			       seq, (long long)json_integer_value(job), e->jobid);
	if (!l)
		return err_set(err, errlen, -EPERM,
			       "checkpoint %u: no lineage (made before checkpoints were bound to "
			       "their job): refused",
			       seq);
	if (!_lineage_ok(l) || json_integer_value(json_array_get(l, n - 1)) != e->jobid)
		return err_set(err, errlen, -EPERM,
			       "checkpoint %u: its lineage does not end with job %u (lineage): "
			       "refused",
			       seq, e->jobid);
	return _check_slots(m, seq, e->slot, err, errlen);
}

static int _write_manifest(int dfd, const char *dname, const char *text, char *err, size_t errlen)
{
	int fd, ret;

	fd = userfs_open_beneath(dfd, MANIFEST, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return err_sys(err, errlen, fd, "%s/" MANIFEST ": create", dname);
	ret = io_write_all(fd, text, strlen(text), -1);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret)
		return err_sys(err, errlen, ret, "%s/" MANIFEST ": write", dname);
	ret = userfs_fsync_dir(dfd);
	if (ret)
		return err_sys(err, errlen, ret, "%s: fsync", dname);
	return 0;
}

static int _write_latest(int jobfd, uint32_t seq, char *err, size_t errlen)
{
	char text[SEQ_NAME_LEN];
	int fd, n, ret;

	n = snprintf(text, sizeof(text), "%u\n", seq);
	/* A stale latest.tmp (or anything planted there) goes first; unlinkat never follows. */
	if (unlinkat(jobfd, "latest.tmp", 0) < 0 && errno != ENOENT)
		return err_sys(err, errlen, -errno, "latest.tmp: remove");
	fd = userfs_open_beneath(jobfd, "latest.tmp", O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return userfs_open_err(err, errlen, fd, "latest.tmp");
	ret = io_write_all(fd, text, (size_t)n, -1);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret)
		return err_sys(err, errlen, ret, "latest.tmp: write");
	if (renameat(jobfd, "latest.tmp", jobfd, "latest") < 0)
		return err_sys(err, errlen, -errno, "latest.tmp -> latest: rename");
	ret = userfs_fsync_dir(jobfd);
	if (ret)
		return err_sys(err, errlen, ret, "job directory: fsync");
	return 0;
}

int store_commit(int jobfd, uint32_t seq, json_t *manifest, const struct store_binding *b,
		 const uint8_t key[STORE_KEY_LEN], char *err, size_t errlen)
{
	char tmp[SEQ_NAME_LEN], name[SEQ_NAME_LEN], *text = NULL;
	int dfd, ret;

	if (sodium_init() < 0)
		return err_set(err, errlen, -EIO, "libsodium initialisation failed");
	if (!json_is_object(manifest))
		return err_set(err, errlen, -EINVAL, "checkpoint %u: manifest is not an object",
			       seq);
	ret = _bind(manifest, b);
	if (!ret && json_object_set_new(manifest, "version", json_integer(STORE_MANIFEST_VERSION)))
		ret = -ENOMEM;
	if (ret)
		return err_set(err, errlen, ret,
			       "checkpoint %u: cannot bind the manifest to job %u", seq, b->jobid);
	/* The object as loaded back: its "mac" too. */
	if (json_object_set_new(manifest, "seq", json_integer(seq)) ||
	    !(text = store_seal(manifest, key)) ||
	    json_object_set_new(manifest, "mac",
				json_stringn(text + sizeof(SEAL_HEAD) - 1, SEAL_HEX))) {
		free(text);
		return err_set(err, errlen, -ENOMEM, "checkpoint %u: out of memory", seq);
	}
	snprintf(tmp, sizeof(tmp), TMP_PREFIX "%u", seq);
	snprintf(name, sizeof(name), "%u", seq);
	dfd = userfs_open_beneath(jobfd, tmp, O_RDONLY | O_DIRECTORY, 0);
	if (dfd < 0) {
		free(text);
		return userfs_open_err(err, errlen, dfd, tmp);
	}
	ret = _write_manifest(dfd, tmp, text, err, errlen);
	free(text);
	close(dfd);
	if (ret)
		return ret;
	ret = userfs_rename_noreplace(jobfd, tmp, name);
	if (ret)
		return err_sys(err, errlen, ret, "checkpoint %u: rename %s -> %s", seq, tmp, name);
	ret = userfs_fsync_dir(jobfd);
	if (ret)
		return err_sys(err, errlen, ret, "checkpoint %u: fsync of the job directory", seq);
	return _write_latest(jobfd, seq, err, errlen);
}

int store_abort(int jobfd, uint32_t seq)
{
	char name[SEQ_NAME_LEN];
	struct walk w;
	int ret;

	snprintf(name, sizeof(name), TMP_PREFIX "%u", seq);
	walk_init(&w, name, NULL, 0);
	ret = walk_remove_tree(&w, jobfd, name);
	return ret == -ENOENT ? 0 : ret;
}

/* A genuine manifest of an older format (sealed as this one, its "version" older). */
static int _check_version(json_t *m, uint32_t seq, char *err, size_t errlen)
{
	json_int_t v = json_integer_value(json_object_get(m, "version"));

	if (v == STORE_MANIFEST_VERSION)
		return 0;
	return err_set(err, errlen, -EPROTONOSUPPORT,
		       "checkpoint %u: manifest format %lld (an older crd's): refused, this crd "
		       "restores format %d only",
		       seq, (long long)v, STORE_MANIFEST_VERSION);
}

int store_parse(const char *text, size_t len, uint32_t seq, const uint8_t key[STORE_KEY_LEN],
		const struct store_binding *expect, json_t **manifest, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *m, *s;
	int ret;

	*manifest = NULL;
	if (sodium_init() < 0)
		return err_set(err, errlen, -EIO, "libsodium initialisation failed");
	ret = _unseal(text, len, seq, key, err, errlen);
	if (ret)
		return ret;
	m = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(m)) {
		json_decref(m);
		return err_set(err, errlen, -EBADMSG, "checkpoint %u: %u/" MANIFEST " line %d: %s",
			       seq, seq, jerr.line, m ? "not an object" : jerr.text);
	}
	/* A genuine manifest of another checkpoint, copied here. */
	s = json_object_get(m, "seq");
	if (!json_is_integer(s) || json_integer_value(s) != seq)
		ret = err_set(err, errlen, -EBADMSG, "checkpoint %u: the manifest is not for it",
			      seq);
	if (!ret)
		ret = _check_version(m, seq, err, errlen);
	if (!ret)
		ret = _check_binding(m, seq, expect, err, errlen);
	if (ret) {
		json_decref(m);
		return ret;
	}
	*manifest = m;
	return 0;
}

int store_load(int jobfd, uint32_t seq, const uint8_t key[STORE_KEY_LEN],
	       const struct store_binding *expect, json_t **manifest, char *err, size_t errlen)
{
	char rel[SEQ_NAME_LEN + sizeof(MANIFEST)];
	size_t len;
	char *text;
	int ret;

	*manifest = NULL;
	snprintf(rel, sizeof(rel), "%u/" MANIFEST, seq);
	ret = _read_file(jobfd, rel, MANIFEST_MAX, &text, &len);
	if (ret == -EINVAL || ret == -EFBIG)
		return err_set(err, errlen, ret, "%s: not a regular file of at most %u bytes", rel,
			       MANIFEST_MAX);
	if (ret)
		return userfs_open_err(err, errlen, ret, rel);
	ret = store_parse(text, len, seq, key, expect, manifest, err, errlen);
	free(text);
	return ret;
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
	fd = userfs_open_beneath(dfd, rel, O_PATH, 0);
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

int store_load_newest(int jobfd, const uint8_t key[STORE_KEY_LEN],
		      const struct store_binding *expect, uint32_t *seq, json_t **manifest)
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
		if (store_load(jobfd, seqs[n], key, expect, manifest, err, sizeof(err)) == 0)
			*seq = seqs[n];
	free(seqs);
	return *manifest ? 0 : -ENOENT;
}

json_t *store_lineage(const char *userdir, uid_t uid, uint32_t from, const json_t *prev,
		      const uint8_t key[STORE_KEY_LEN])
{
	struct store_binding b = {.uid = uid, .jobid = from, .slot = -1};
	json_t *m = NULL, *l;
	uint32_t seq;
	int fd;

	if (prev)
		return json_deep_copy(json_object_get(prev, "lineage"));
	if (!from)
		return NULL;
	fd = store_job_open(userdir, from, 0, NULL, 0);
	if (fd >= 0 && store_load_newest(fd, key, &b, &seq, &m) == 0)
		l = json_deep_copy(json_object_get(m, "lineage"));
	else /* its checkpoints gone: at least the link to it */
		l = json_pack("[I]", (json_int_t)from);
	json_decref(m);
	if (fd >= 0)
		close(fd);
	return l;
}

int store_list(int jobfd, uint32_t **seqs, size_t *n)
{
	struct seq_list l = {0};
	DIR *d;
	int ret;

	*seqs = NULL;
	*n = 0;
	ret = userfs_opendir_beneath(jobfd, ".", &d);
	if (ret)
		return ret;
	ret = walk_each_entry(d, _list_entry, &l, NULL, 0, ".");
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
	ret = userfs_rename_noreplace(jobfd, from, to);
	if (ret)
		return ret;
	/* It must stay refused after a crash too. */
	return userfs_fsync_dir(jobfd);
}

static int _remove_checkpoint(int jobfd, uint32_t seq, char *err, size_t errlen)
{
	char name[SEQ_NAME_LEN];
	struct walk w;
	int dfd, ret = 0;

	snprintf(name, sizeof(name), "%u", seq);
	/* The manifest first: a removal cut short leaves no half checkpoint for store_list. */
	dfd = userfs_open_beneath(jobfd, name, O_RDONLY | O_DIRECTORY, 0);
	if (dfd < 0)
		return userfs_open_err(err, errlen, dfd, name);
	if (unlinkat(dfd, MANIFEST, 0) < 0 && errno != ENOENT)
		ret = err_sys(err, errlen, -errno, "%s/" MANIFEST ": remove", name);
	close(dfd);
	if (ret)
		return ret;
	walk_init(&w, name, err, errlen);
	ret = walk_remove_tree(&w, jobfd, name);
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
		return err_sys(err, errlen, ret, "prune: listing the checkpoints");
	/* Without a readable latest we cannot tell what must stay: prune nothing. */
	ret = store_latest(jobfd, &latest);
	if (ret && ret != -ENOENT) {
		free(seqs);
		return err_sys(err, errlen, ret, "prune: latest");
	}
	have_latest = !ret;
	ret = 0;
	for (i = 0; n > keep && i < n - keep && !ret; i++)
		if (!have_latest || seqs[i] != latest)
			ret = _remove_checkpoint(jobfd, seqs[i], err, errlen);
	free(seqs);
	return ret;
}

/* ---- what a restore finds: a job with <seq>.bad once had checkpoints ---- */

static int _count_bad(int dfd, const char *name, void *arg)
{
	uint32_t seq;

	(void)dfd;
	if (_name_seq(name, &seq) == SEQ_BAD)
		(*(size_t *)arg)++;
	return 0;
}

int store_count_bad(int jobfd, size_t *n)
{
	DIR *d;
	int ret;

	*n = 0;
	ret = userfs_opendir_beneath(jobfd, ".", &d);
	if (ret)
		return ret;
	ret = walk_each_entry(d, _count_bad, n, NULL, 0, ".");
	closedir(d);
	return ret;
}
