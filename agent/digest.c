// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The digests of the files a node writes into a checkpoint (digest.h): their
 * list, node-<slot>/digests.json, written and loaded from memory; the node's
 * tree fsync'd, walked beneath its top directory, never through a symlink.
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
#include "img-digest.h"
#include "errmsg.h"
#include "io.h"
#include "userfs.h"
#include "walk.h"

_Static_assert(STORE_DIGEST_HEX == 2 * CR_DIGEST_LEN + 1, "BLAKE2b-256 hex size");

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

/* ---- the commit's durability ---- */

static int _sync_dir(struct walk *w, int parentfd, const char *name);

static int _sync_file(struct walk *w, int dfd, const char *name)
{
	struct stat st;
	int fd, ret = 0;

	fd = userfs_open_beneath(dfd, name, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0)
		return userfs_open_err(w->err, w->errlen, fd, w->path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		ret = err_set(w->err, w->errlen, -EINVAL, "%s: no longer a regular file", w->path);
	else if (fsync(fd) < 0)
		ret = err_sys(w->err, w->errlen, -errno, "%s: fsync", w->path);
	close(fd);
	return ret;
}

static int _sync_entry(int dfd, const char *name, void *arg)
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
		ret = _sync_dir(w, dfd, name);
	else if (S_ISREG(st.st_mode))
		ret = _sync_file(w, dfd, name);
	else
		ret = err_set(w->err, w->errlen, S_ISLNK(st.st_mode) ? -ELOOP : -EINVAL,
			      "%s: %s, not a regular file", w->path, _kind(st.st_mode));
	walk_pop(w, saved);
	return ret;
}

static int _sync_dir(struct walk *w, int parentfd, const char *name)
{
	DIR *d;
	int ret;

	if (w->depth >= WALK_MAX_DEPTH)
		return err_set(w->err, w->errlen, -ELOOP, "%s: nested too deep", walk_path(w));
	ret = userfs_opendir_beneath(parentfd, name, &d);
	if (ret)
		return userfs_open_err(w->err, w->errlen, ret, walk_path(w));
	w->depth++;
	ret = walk_each_entry(d, _sync_entry, w, w->err, w->errlen, walk_path(w));
	w->depth--;
	if (!ret) {
		ret = userfs_fsync_dir(dirfd(d));
		if (ret)
			err_sys(w->err, w->errlen, ret, "%s: fsync", walk_path(w));
	}
	closedir(d);
	return ret;
}

int store_sync_tree(int dirfd, char *err, size_t errlen)
{
	struct walk w;

	walk_init(&w, "", err, errlen);
	return _sync_dir(&w, dirfd, ".");
}

/* ---- node-<slot>/digests.json ---- */

#define DIGESTS_MAX (64u << 20) /* 64 bytes a MiB: a 1 PiB image */

/* A list as the JSON object cr_digests_to_json makes (NULL: an empty one). */
static json_t *_list_json(const struct cr_digests *d)
{
	struct cr_digests empty = {0};
	char *text = NULL;
	json_t *j;

	if (cr_digests_to_json(d ? d : &empty, &text))
		return NULL;
	j = json_loads(text, 0, NULL);
	free(text);
	return j;
}

static int _list_parse(json_t *j, struct cr_digests **out)
{
	char *text = json_is_object(j) ? json_dumps(j, JSON_COMPACT) : NULL;
	int ret;

	if (!text)
		return -EBADMSG;
	ret = cr_digests_from_json(text, out);
	free(text);
	return ret ? -EBADMSG : 0;
}

static uint64_t _list_bytes(const struct cr_digests *d)
{
	uint64_t n = 0;

	for (size_t i = 0; d && i < d->nfiles; i++)
		n += d->files[i].size;
	return n;
}

static int _hex_entry(const char *text, size_t len, json_t **entry)
{
	uint8_t md[CR_DIGEST_LEN];
	char hex[STORE_DIGEST_HEX];

	if (imgd_hash(text, len, md))
		return -EIO;
	sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
	*entry = json_pack("{s:{s:I, s:s}}", DIGESTS_FILE, "size", (json_int_t)len, "blake2b", hex);
	return *entry ? 0 : -ENOMEM;
}

int digests_write(int nodefd, const struct node_digests *d, json_t **entry, uint64_t *bytes,
		  char *err, size_t errlen)
{
	json_t *j = json_pack("{s:i, s:o*, s:o*}", "format", 2, "image", _list_json(d->image),
			      "files", _list_json(d->files));
	char *text = j && json_object_size(j) == 3 ? json_dumps(j, JSON_COMPACT) : NULL;
	size_t len = text ? strlen(text) : 0;
	int fd, ret;

	json_decref(j);
	*entry = NULL;
	if (!text)
		return err_set(err, errlen, -ENOMEM, "%s: out of memory", DIGESTS_FILE);
	fd = openat(nodefd, DIGESTS_FILE, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	ret = fd < 0 ? -errno : io_write_all(fd, text, len, -1);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret)
		err_sys(err, errlen, ret, "%s", DIGESTS_FILE);
	else if ((ret = _hex_entry(text, len, entry)))
		err_set(err, errlen, ret, "%s: cannot hash it", DIGESTS_FILE);
	free(text);
	*bytes = _list_bytes(d->image) + _list_bytes(d->files) + len;
	return ret;
}

/* Up to @size bytes of fd into buf with pread: *got. */
static int _pread_all(int fd, uint8_t *buf, uint64_t size, uint64_t *got)
{
	ssize_t n;

	*got = 0;
	while (*got < size) {
		n = pread(fd, buf + *got, size - *got, (off_t)*got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		*got += (uint64_t)n;
	}
	return 0;
}

/* Exactly @size bytes of digests.json below @nodefd into a new buffer (NUL-terminated). */
static int _read_whole(int nodefd, uint64_t size, char **out, char *err, size_t errlen)
{
	uint64_t got = 0;
	uint8_t *buf;
	int fd, ret;

	fd = userfs_open_beneath(nodefd, DIGESTS_FILE, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0)
		return fd == -ENOENT || fd == -ELOOP
			       ? err_set(err, errlen, -EBADMSG, "%s: missing", DIGESTS_FILE)
			       : userfs_open_err(err, errlen, fd, DIGESTS_FILE);
	buf = malloc(size + 1);
	ret = buf ? _pread_all(fd, buf, size, &got) : -ENOMEM;
	close(fd);
	if (!ret && got != size)
		ret = err_set(err, errlen, -EBADMSG, "%s: shorter than the manifest says",
			      DIGESTS_FILE);
	else if (ret)
		err_sys(err, errlen, ret, "%s: read", DIGESTS_FILE);
	if (ret) {
		free(buf);
		return ret;
	}
	buf[size] = '\0';
	*out = (char *)buf;
	return 0;
}

/* The bytes read are the bytes checked, then parsed: nothing is read twice. */
static int _parse(const char *text, struct node_digests *d)
{
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	int ret = -EBADMSG;

	if (j && json_integer_value(json_object_get(j, "format")) == 2 &&
	    !_list_parse(json_object_get(j, "image"), &d->image) &&
	    !_list_parse(json_object_get(j, "files"), &d->files))
		ret = 0;
	json_decref(j);
	return ret;
}

int digests_load(int nodefd, json_t *files, struct node_digests *d, char *err, size_t errlen)
{
	json_t *e = json_object_get(files, DIGESTS_FILE);
	const char *want = json_string_value(json_object_get(e, "blake2b"));
	json_int_t size = json_integer_value(json_object_get(e, "size"));
	uint8_t md[CR_DIGEST_LEN];
	char hex[STORE_DIGEST_HEX], *text = NULL;
	int ret;

	*d = (struct node_digests){0};
	if (!want || size <= 0 || (uint64_t)size > DIGESTS_MAX)
		return err_set(err, errlen, -EBADMSG, "the manifest has no digests for this slot");
	ret = _read_whole(nodefd, (uint64_t)size, &text, err, errlen);
	if (ret)
		return ret;
	if (imgd_hash(text, (size_t)size, md)) {
		ret = err_set(err, errlen, -EIO, "%s: cannot hash it", DIGESTS_FILE);
	} else {
		sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
		if (strcmp(hex, want))
			ret = err_set(err, errlen, -EBADMSG,
				      "%s: content does not match its digest", DIGESTS_FILE);
		else if (_parse(text, d))
			ret = err_set(err, errlen, -EBADMSG, "%s: malformed", DIGESTS_FILE);
	}
	free(text);
	if (ret)
		digests_free(d);
	return ret;
}

void digests_free(struct node_digests *d)
{
	cr_digests_free(d->image);
	cr_digests_free(d->files);
	*d = (struct node_digests){0};
}
