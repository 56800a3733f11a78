// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * BLAKE2b-256 digests of files and of the trees the nodes write (digest.h),
 * walked beneath their top directory, never through a symlink.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "errmsg.h"
#include "io.h"
#include "userfs.h"
#include "walk.h"

_Static_assert(STORE_DIGEST_HEX == 2 * crypto_generichash_BYTES + 1, "BLAKE2b-256 hex size");

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

struct hash_pass {
	crypto_generichash_state st;
	int outfd;
};

static int _hash_chunk(void *arg, const uint8_t *p, size_t n, uint64_t at)
{
	struct hash_pass *h = arg;

	(void)at;
	crypto_generichash_update(&h->st, p, n);
	return h->outfd >= 0 ? io_write_all(h->outfd, p, n, -1) : 0;
}

int digest_fd(int fd, uint64_t limit, int outfd, uint8_t *buf, char hex[STORE_DIGEST_HEX],
	      uint64_t *done)
{
	struct hash_pass h = {.outfd = outfd};
	uint8_t md[crypto_generichash_BYTES];
	int ret;

	crypto_generichash_init(&h.st, NULL, 0, sizeof(md));
	ret = io_read_chunks(fd, 0, limit, buf, DIGEST_CHUNK, _hash_chunk, &h, done);
	if (ret)
		return ret;
	crypto_generichash_final(&h.st, md, sizeof(md));
	sodium_bin2hex(hex, STORE_DIGEST_HEX, md, sizeof(md));
	return 0;
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

	fd = userfs_open_beneath(dfd, name, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0)
		return userfs_open_err(w->err, w->errlen, fd, w->path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(w->err, w->errlen, -EINVAL, "%s: no longer a regular file", w->path);
	}
	ret = digest_fd(fd, UINT64_MAX, -1, w->buf, hex, &size);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret)
		return err_sys(w->err, w->errlen, ret, "%s", w->path);
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

	ret = walk_push(w, name, &saved);
	if (ret)
		return ret;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		ret = err_sys(w->err, w->errlen, -errno, "%s: stat", w->path);
	else if (S_ISDIR(st.st_mode))
		ret = _digest_dir(w, dfd, name);
	else if (S_ISREG(st.st_mode))
		ret = _digest_file(w, dfd, name);
	else
		ret = err_set(w->err, w->errlen, S_ISLNK(st.st_mode) ? -ELOOP : -EINVAL,
			      "%s: %s, not a regular file", w->path, _kind(st.st_mode));
	walk_pop(w, saved);
	return ret;
}

static int _digest_dir(struct walk *w, int parentfd, const char *name)
{
	DIR *d;
	int ret;

	if (w->depth >= WALK_MAX_DEPTH)
		return err_set(w->err, w->errlen, -ELOOP, "%s: nested too deep", walk_path(w));
	ret = userfs_opendir_beneath(parentfd, name, &d);
	if (ret)
		return userfs_open_err(w->err, w->errlen, ret, walk_path(w));
	w->depth++;
	ret = walk_each_entry(d, _digest_entry, w, w->err, w->errlen, walk_path(w));
	w->depth--;
	if (!ret) {
		ret = userfs_fsync_dir(dirfd(d));
		if (ret)
			err_sys(w->err, w->errlen, ret, "%s: fsync", walk_path(w));
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
	walk_init(&w, "", err, errlen);
	w.files = json_object();
	w.buf = malloc(DIGEST_CHUNK);
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
	uint64_t got = 0; /* digest_fd sets it; the analyzer does not look across files */
	int fd, ret;

	if (json_unpack(v, "{s:I, s:s}", "size", &size, "blake2b", &want) || size < 0)
		return err_set(err, errlen, -EBADMSG, "%s: malformed manifest entry", path);
	fd = userfs_open_beneath(dirfd, path, O_RDONLY | O_NONBLOCK, 0);
	if (fd == -ENOENT)
		return err_set(err, errlen, fd, "%s: missing", path);
	if (fd < 0)
		return userfs_open_err(err, errlen, fd, path);
	if (fstat(fd, &st) < 0) {
		ret = err_sys(err, errlen, -errno, "%s: fstat", path);
	} else if (!S_ISREG(st.st_mode)) {
		ret = err_set(err, errlen, -EBADMSG, "%s: not a regular file", path);
	} else if (st.st_size != size) {
		ret = err_set(err, errlen, -EBADMSG, "%s: %lld bytes, the manifest says %lld", path,
			      (long long)st.st_size, (long long)size);
	} else {
		ret = digest_fd(fd, UINT64_MAX, -1, buf, hex, &got);
		if (ret)
			err_sys(err, errlen, ret, "%s: read", path);
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
	buf = malloc(DIGEST_CHUNK);
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
