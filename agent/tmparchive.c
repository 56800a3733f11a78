// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Container tmpfs archives (see archive.h).
 *
 * Saving walks the tree itself with openat(O_NOFOLLOW) and
 * fstatat(AT_SYMLINK_NOFOLLOW) instead of libarchive's disk reader: nothing is
 * opened through a path that could cross a symlink, and a file or directory
 * the caller's fsuid cannot read is an error rather than a warning.
 * Restoring uses libarchive's disk writer, which works with paths relative to
 * the working directory, so it runs with dirfd as the working directory.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tmparchive.h"
#include "errmsg.h"
#include "img-digest.h"
#include "img-read.h"

#define DATA_CHUNK  (256 * 1024)
#define BLOCK_BYTES (64 * 1024) /* output and input blocking, a multiple of 512 */
#define TAR_BLOCK   512

/*
 * Writes the archive to outfd, digesting what it writes (when dg); after a
 * failure, drops what libarchive still flushes.
 */
struct writer {
	int fd;
	bool failed;
	struct img_digester *dg;
};

struct save_ctx {
	struct writer w;
	struct archive *a;
	struct archive_entry *entry;
	struct archive_entry_linkresolver *links;
	char *path; /* of the entry being saved, relative to the top */
	size_t len, cap;
	char *buf;   /* file data */
	char *zeros; /* fed for holes, which the writer skips without reading */
	uint64_t nentries, nskipped;
	char *err;
	size_t errlen;
};

static const char *_here(const struct save_ctx *c)
{
	return c->len ? c->path : ".";
}

/* A failed system call on the current path; uses errno. */
static int _sys_fail(struct save_ctx *c, const char *what)
{
	int e = errno ? errno : EIO;

	return err_set(c->err, c->errlen, -e, "%s: %s: %s", _here(c), what, strerror(e));
}

static int _arc_fail(struct save_ctx *c, const char *what)
{
	const char *msg = archive_error_string(c->a);
	int e = archive_errno(c->a);

	return err_set(c->err, c->errlen, e > 0 ? -e : -EIO, "%s: %s: %s", _here(c), what,
		       msg ? msg : "unknown error");
}

/* Append @name to the current path; *old is what to cut it back to. */
static int _path_push(struct save_ctx *c, const char *name, size_t *old)
{
	size_t n = strlen(name), need = c->len + n + 2, cap;
	char *p;

	if (need > c->cap) {
		for (cap = c->cap * 2; cap < need; cap *= 2)
			;
		p = realloc(c->path, cap);
		if (!p)
			return err_set(c->err, c->errlen, -ENOMEM, "%s/%s: out of memory", _here(c),
				       name);
		c->path = p;
		c->cap = cap;
	}
	*old = c->len;
	if (c->len)
		c->path[c->len++] = '/';
	memcpy(c->path + c->len, name, n + 1);
	c->len += n;
	return 0;
}

static void _path_pop(struct save_ctx *c, size_t old)
{
	c->len = old;
	c->path[old] = '\0';
}

static void _free_names(char **v, size_t n)
{
	while (n)
		free(v[--n]);
	free(v);
}

static int _name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The names in directory @dfd, sorted: equal trees give equal archives. */
static int _list_dir(struct save_ctx *c, int dfd, char ***names, size_t *count)
{
	size_t n = 0, cap = 0;
	char **v = NULL, **nv;
	struct dirent *d;
	DIR *dir;
	int fd, ret = 0;

	/* A new open file description: the caller's dirfd keeps its offset. */
	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return _sys_fail(c, "open");
	dir = fdopendir(fd);
	if (!dir) {
		ret = _sys_fail(c, "fdopendir");
		close(fd);
		return ret;
	}
	for (;;) {
		errno = 0;
		d = readdir(dir);
		if (!d) {
			if (errno)
				ret = _sys_fail(c, "readdir");
			break;
		}
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				ret = err_set(c->err, c->errlen, -ENOMEM, "%s: out of memory",
					      _here(c));
				break;
			}
			v = nv;
		}
		v[n] = strdup(d->d_name);
		if (!v[n]) {
			ret = err_set(c->err, c->errlen, -ENOMEM, "%s: out of memory", _here(c));
			break;
		}
		n++;
	}
	closedir(dir);
	if (ret) {
		_free_names(v, n);
		return ret;
	}
	if (n)
		qsort(v, n, sizeof(*v), _name_cmp);
	*names = v;
	*count = n;
	return 0;
}

/* Whole seconds: pax restricted keeps sub-second times only in some entries. */
static void _entry_from_stat(struct save_ctx *c, const struct stat *st)
{
	archive_entry_clear(c->entry);
	archive_entry_copy_pathname(c->entry, c->path);
	archive_entry_copy_stat(c->entry, st);
	archive_entry_set_mtime(c->entry, st->st_mtime, 0);
}

/* Turns a second name of an inode into a hard link to the first. */
static void _linkify(struct save_ctx *c)
{
	struct archive_entry *spare;

	/* The tar strategy edits the entry in place and never hands one back. */
	archive_entry_linkify(c->links, &c->entry, &spare);
}

static int _put_header(struct save_ctx *c)
{
	if (archive_write_header(c->a, c->entry) != ARCHIVE_OK)
		return _arc_fail(c, "archive header");
	c->nentries++;
	return 0;
}

static int _write_data(struct save_ctx *c, const void *p, size_t n)
{
	la_ssize_t w = archive_write_data(c->a, p, n);

	if (w < 0)
		return _arc_fail(c, "archive data");
	if ((size_t)w != n)
		return err_set(c->err, c->errlen, -EIO, "%s: archive data: %zd of %zu bytes taken",
			       _here(c), w, n);
	return 0;
}

/* Bytes [@from, @to) of the file: read, or zeros for a hole. */
static int _copy_range(struct save_ctx *c, int fd, off_t from, off_t to, bool hole)
{
	size_t want;
	ssize_t n;
	int ret;

	while (from < to) {
		want = to - from < DATA_CHUNK ? (size_t)(to - from) : DATA_CHUNK;
		if (hole) {
			n = want;
			ret = _write_data(c, c->zeros, want);
		} else {
			n = pread(fd, c->buf, want, from);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return _sys_fail(c, "read");
			if (n == 0)
				return err_set(c->err, c->errlen, -EIO,
					       "%s: changed while archiving (ends at %jd bytes)",
					       _here(c), (intmax_t)from);
			ret = _write_data(c, c->buf, n);
		}
		if (ret)
			return ret;
		from += n;
	}
	return 0;
}

/* Describe the data regions of @fd in the entry; none when it has no hole. */
static int _map_holes(struct save_ctx *c, int fd, off_t size)
{
	off_t off = 0, data, hole;
	int n = 0;

	while (off < size) {
		data = lseek(fd, off, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break; /* only a hole is left */
		if (data < 0)
			return _sys_fail(c, "seek data");
		if (data >= size)
			break;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return _sys_fail(c, "seek hole");
		if (hole > size)
			hole = size;
		if (data == 0 && hole == size)
			return 0;
		archive_entry_sparse_add_entry(c->entry, data, hole - data);
		n++;
		off = hole;
	}
	/* All hole: an empty region at the end still marks it sparse. */
	if (!n && size) {
		archive_entry_sparse_add_entry(c->entry, size, 0);
		n = 1;
	}
	/* Adding cannot report a failed allocation: count what was kept. */
	if (archive_entry_sparse_count(c->entry) != n)
		return err_set(c->err, c->errlen, -ENOMEM, "%s: out of memory for its sparse map",
			       _here(c));
	return 0;
}

static int _save_data(struct save_ctx *c, int fd, off_t size)
{
	la_int64_t off, len;
	off_t pos = 0;
	bool sparse;
	int ret;

	sparse = archive_entry_sparse_reset(c->entry) > 0;
	while (sparse && archive_entry_sparse_next(c->entry, &off, &len) == ARCHIVE_OK) {
		ret = _copy_range(c, fd, pos, off, true);
		if (!ret)
			ret = _copy_range(c, fd, off, off + len, false);
		if (ret)
			return ret;
		pos = off + len;
	}
	return _copy_range(c, fd, pos, size, sparse);
}

static int _save_file(struct save_ctx *c, int dfd, const char *name, const struct stat *st)
{
	struct stat fst;
	int fd, ret;

	_entry_from_stat(c, st);
	_linkify(c);
	if (archive_entry_hardlink(c->entry))
		return _put_header(c);
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return _sys_fail(c, "open");
	if (fstat(fd, &fst) < 0) {
		ret = _sys_fail(c, "fstat");
		goto out;
	}
	if (!S_ISREG(fst.st_mode) || fst.st_ino != st->st_ino || fst.st_dev != st->st_dev ||
	    fst.st_size != st->st_size) {
		ret = err_set(c->err, c->errlen, -EIO, "%s: changed while archiving", _here(c));
		goto out;
	}
	ret = _map_holes(c, fd, st->st_size);
	if (!ret)
		ret = _put_header(c);
	if (!ret)
		ret = _save_data(c, fd, st->st_size);
out:
	close(fd);
	return ret;
}

static int _save_symlink(struct save_ctx *c, int dfd, const char *name, const struct stat *st)
{
	size_t size = st->st_size > 0 ? (size_t)st->st_size + 1 : 256;
	char *target = NULL, *p;
	ssize_t n;
	int ret;

	for (;;) {
		p = realloc(target, size);
		if (!p) {
			free(target);
			return err_set(c->err, c->errlen, -ENOMEM, "%s: out of memory", _here(c));
		}
		target = p;
		n = readlinkat(dfd, name, target, size);
		if (n < 0) {
			ret = _sys_fail(c, "readlink");
			free(target);
			return ret;
		}
		if ((size_t)n < size)
			break;
		size *= 2; /* grew since the stat */
	}
	target[n] = '\0';
	_entry_from_stat(c, st);
	archive_entry_copy_symlink(c->entry, target);
	free(target);
	/*
	 * Not _linkify: a second name of a symlink is stored as a symlink
	 * again. Extracting a hard link applies its mode and times by name,
	 * through the symlink, to whatever it points at (the restore refuses one).
	 */
	return _put_header(c);
}

static int _save_dir(struct save_ctx *c, int dfd);

static int _save_subdir(struct save_ctx *c, int dfd, const char *name, const struct stat *st)
{
	int fd, ret;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return _sys_fail(c, "open");
	_entry_from_stat(c, st);
	ret = _put_header(c);
	if (!ret)
		ret = _save_dir(c, fd);
	close(fd);
	return ret;
}

static int _save_one(struct save_ctx *c, int dfd, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return _sys_fail(c, "stat");
	switch (st.st_mode & S_IFMT) {
	case S_IFDIR:
		return _save_subdir(c, dfd, name, &st);
	case S_IFREG:
		return _save_file(c, dfd, name, &st);
	case S_IFLNK:
		return _save_symlink(c, dfd, name, &st);
	case S_IFIFO:
		_entry_from_stat(c, &st);
		_linkify(c);
		return _put_header(c);
	case S_IFSOCK:
		/* Bound by a live process: a restored one rebinds it or not at all. */
		c->nskipped++;
		return 0;
	case S_IFCHR:
	case S_IFBLK:
		return err_set(c->err, c->errlen, -ENOTSUP,
			       "%s: a device node, which a job's tmpfs may not hold", _here(c));
	}
	return err_set(c->err, c->errlen, -ENOTSUP, "%s: unknown file type %#o", _here(c),
		       (unsigned)(st.st_mode & S_IFMT));
}

static int _save_dir(struct save_ctx *c, int dfd)
{
	char **names = NULL;
	size_t n = 0, i, old = 0;
	int ret;

	ret = _list_dir(c, dfd, &names, &n);
	for (i = 0; !ret && i < n; i++) {
		ret = _path_push(c, names[i], &old);
		if (ret)
			break;
		ret = _save_one(c, dfd, names[i]);
		_path_pop(c, old);
	}
	_free_names(names, n);
	return ret;
}

static la_ssize_t _write_cb(struct archive *a, void *data, const void *buf, size_t len)
{
	struct writer *w = data;
	const char *p = buf;
	size_t left = len;
	ssize_t n;

	if (!w->failed && w->dg)
		imgd_update(w->dg, buf, len);
	while (!w->failed && left) {
		n = write(w->fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			archive_set_error(a, errno, "write: %s", strerror(errno));
			return -1;
		}
		p += n;
		left -= n;
	}
	return len;
}

static int _save_open(struct save_ctx *c, int outfd)
{
	struct stat st;

	c->a = archive_write_new();
	c->entry = archive_entry_new();
	c->links = archive_entry_linkresolver_new();
	c->cap = 256;
	c->path = calloc(1, c->cap);
	c->buf = malloc(DATA_CHUNK);
	c->zeros = calloc(1, DATA_CHUNK);
	if (!c->a || !c->entry || !c->links || !c->path || !c->buf || !c->zeros)
		return err_set(c->err, c->errlen, -ENOMEM, "archive: out of memory");
	archive_entry_linkresolver_set_strategy(c->links, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	/* Names are bytes: no conversion that depends on the locale. */
	if (archive_write_set_format_pax_restricted(c->a) != ARCHIVE_OK ||
	    archive_write_set_format_option(c->a, "pax", "hdrcharset", "BINARY") != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(c->a, BLOCK_BYTES) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(c->a, 1) != ARCHIVE_OK ||
	    archive_write_open(c->a, &c->w, NULL, _write_cb, NULL) != ARCHIVE_OK)
		return _arc_fail(c, "archive setup");
	/* An archive written into the tree must not archive itself. */
	if (!fstat(outfd, &st) && S_ISREG(st.st_mode))
		archive_write_set_skip_file(c->a, st.st_dev, st.st_ino);
	return 0;
}

int archive_save_tree(int dirfd, int outfd, uint64_t *nentries, uint64_t *nskipped, char *err,
		      size_t errlen)
{
	return archive_save_digested(dirfd, outfd, NULL, NULL, nentries, nskipped, err, errlen);
}

int archive_save_digested(int dirfd, int outfd, const char *name, struct cr_digests *list,
			  uint64_t *nentries, uint64_t *nskipped, char *err, size_t errlen)
{
	struct save_ctx c = {.err = err, .errlen = errlen};
	int ret = 0;

	if (err && errlen)
		err[0] = '\0';
	c.w.fd = outfd;
	if (list && !(c.w.dg = imgd_new()))
		ret = err_set(err, errlen, -ENOMEM, "archive: out of memory");
	if (!ret)
		ret = _save_open(&c, outfd);
	if (!ret)
		ret = _save_dir(&c, dirfd);
	if (!ret && archive_write_close(c.a) != ARCHIVE_OK)
		ret = _arc_fail(&c, "archive end");
	/*
	 * After a failure, no end-of-archive blocks that would make it look
	 * whole (archive_write_fail() would skip them too, but leaks).
	 */
	c.w.failed = ret != 0;
	archive_write_free(c.a);
	if (c.links)
		archive_entry_linkresolver_free(c.links);
	archive_entry_free(c.entry);
	free(c.path);
	free(c.buf);
	free(c.zeros);
	*nentries = c.nentries;
	*nskipped = c.nskipped;
	if (!ret && c.w.dg && (ret = imgd_finish(c.w.dg, name, list)))
		err_set(err, errlen, ret, "%s: digests: %s", name, strerror(-ret));
	else if (c.w.dg && ret)
		imgd_free(c.w.dg);
	return ret;
}

/*
 * Reads infd for libarchive, or through libcr's checking reader (ir: each
 * chunk read once, checked against its digest, then handed out), noting
 * where the last non-zero byte was.
 */
struct reader {
	int fd;
	struct img_reader *ir;
	uint64_t left; /* with ir: bytes its digests cover, not yet read */
	int err;       /* errno of a failed read */
	char *buf;
	int64_t delivered, last_nz;
};

static ssize_t _read_some(struct reader *r)
{
	size_t n = r->left < BLOCK_BYTES ? (size_t)r->left : BLOCK_BYTES;
	ssize_t got;
	int ret;

	if (!r->ir) {
		do
			got = read(r->fd, r->buf, BLOCK_BYTES);
		while (got < 0 && errno == EINTR);
		return got < 0 ? -errno : got;
	}
	ret = n ? imgr_read(r->ir, r->buf, n) : 0;
	if (ret)
		return ret == -ENODATA ? -EBADMSG : ret;
	r->left -= n;
	return (ssize_t)n;
}

static la_ssize_t _read_cb(struct archive *a, void *data, const void **out)
{
	struct reader *r = data;
	ssize_t n, i;

	n = _read_some(r);
	if (n < 0) {
		r->err = (int)-n;
		archive_set_error(a, r->err, "read: %s", strerror(r->err));
		return -1;
	}
	for (i = n - 1; i >= 0; i--)
		if (r->buf[i]) {
			r->last_nz = r->delivered + i;
			break;
		}
	r->delivered += n;
	*out = r->buf;
	return n;
}

/* A failure of the archive reader: reading infd, or else a malformed archive. */
static int _in_fail(struct archive *in, const struct reader *rd, char *err, size_t errlen,
		    const char *path)
{
	const char *msg = archive_error_string(in);

	if (rd->err == EBADMSG)
		return err_set(err, errlen, -EBADMSG, "%s: does not match its digest",
			       rd->ir ? rd->ir->name : "archive");
	return err_set(err, errlen, rd->err ? -rd->err : -EBADMSG, "archive%s%s: %s: %s",
		       path ? " at " : "", path ? path : "",
		       rd->err ? "cannot read" : "truncated or corrupt",
		       msg ? msg : "unknown error");
}

static int _out_fail(struct archive *disk, char *err, size_t errlen, const char *path)
{
	const char *msg = archive_error_string(disk);
	int e = archive_errno(disk);

	/* Refusals (.., absolute, through a symlink) come without an errno. */
	return err_set(err, errlen, e > 0 ? -e : -EPERM, "%s: %s", path,
		       msg ? msg : "cannot extract");
}

/* Only what archive_save_tree writes: no device nodes, no sockets. */
static bool _allowed(struct archive_entry *e)
{
	if (archive_entry_hardlink(e))
		return true;
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
	case AE_IFDIR:
	case AE_IFLNK:
	case AE_IFIFO:
		return true;
	}
	return false;
}

/*
 * A hard link to a symlink already extracted (the working directory is the
 * target's): libarchive would chmod and utime it by name, which follows the
 * symlink out of the target. archive_save_tree never writes one.
 */
static bool _links_symlink(struct archive_entry *e)
{
	const char *to = archive_entry_hardlink(e);
	struct stat st;

	return to && !fstatat(AT_FDCWD, to, &st, AT_SYMLINK_NOFOLLOW) && S_ISLNK(st.st_mode);
}

static int _extract_one(struct archive *in, struct archive *disk, const struct reader *rd,
			struct archive_entry *e, char *err, size_t errlen)
{
	const char *path = archive_entry_pathname(e);
	const void *buf;
	la_int64_t off;
	size_t len;
	int r;

	if (!path)
		path = "(no name)";
	if (!_allowed(e))
		return err_set(err, errlen, -EPERM, "%s: file type %#o refused", path,
			       (unsigned)archive_entry_filetype(e));
	if (_links_symlink(e))
		return err_set(err, errlen, -EPERM, "%s: a hard link to the symlink %s: refused",
			       path, archive_entry_hardlink(e));
	if (archive_write_header(disk, e) != ARCHIVE_OK)
		return _out_fail(disk, err, errlen, path);
	while ((r = archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK)
		if (archive_write_data_block(disk, buf, len, off) != ARCHIVE_OK)
			return _out_fail(disk, err, errlen, path);
	if (r != ARCHIVE_EOF)
		return _in_fail(in, rd, err, errlen, path);
	if (archive_write_finish_entry(disk) != ARCHIVE_OK)
		return _out_fail(disk, err, errlen, path);
	return 0;
}

static int _extract(struct archive *in, struct archive *disk, const struct reader *rd, char *err,
		    size_t errlen)
{
	struct archive_entry *e;
	int64_t end = 0, pos;
	int r, ret;

	for (;;) {
		r = archive_read_next_header(in, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK)
			return _in_fail(in, rd, err, errlen, NULL);
		ret = _extract_one(in, disk, rd, e, err, errlen);
		if (ret)
			return ret;
		end = archive_filter_bytes(in, 0);
	}
	/*
	 * The tar reader takes a stream that stops right after an entry (and,
	 * in some versions, after the next one's extended header) for a whole
	 * archive. Ours end with blocks of zeros: the last thing it consumed
	 * must be one of them.
	 */
	pos = archive_filter_bytes(in, 0);
	if (pos - end < TAR_BLOCK || rd->last_nz >= pos - TAR_BLOCK)
		return err_set(err, errlen, -EBADMSG,
			       "archive: truncated or corrupt: no end-of-archive block");
	return 0;
}

static int _restore(int dirfd, struct reader *rd, int keep_owner, char *err, size_t errlen)
{
	int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
		    ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;
	struct archive *in = NULL, *disk = NULL;
	int cwd, e, ret;

	if (err && errlen)
		err[0] = '\0';
	if (keep_owner)
		flags |= ARCHIVE_EXTRACT_OWNER;
	cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0) {
		e = errno;
		return err_set(err, errlen, -e, "working directory: open: %s", strerror(e));
	}
	if (fchdir(dirfd) < 0) {
		e = errno;
		close(cwd);
		return err_set(err, errlen, -e, "target directory: fchdir: %s", strerror(e));
	}
	in = archive_read_new();
	disk = archive_write_disk_new();
	rd->buf = malloc(BLOCK_BYTES);
	if (!in || !disk || !rd->buf) {
		ret = err_set(err, errlen, -ENOMEM, "archive: out of memory");
		goto out;
	}
	if (archive_read_support_format_tar(in) != ARCHIVE_OK ||
	    archive_write_disk_set_options(disk, flags) != ARCHIVE_OK ||
	    archive_read_open(in, rd, NULL, _read_cb, NULL) != ARCHIVE_OK) {
		ret = _in_fail(in, rd, err, errlen, NULL);
		goto out;
	}
	ret = _extract(in, disk, rd, err, errlen);
	/* Directory modes and times are set last, at close. */
	if (!ret && archive_write_close(disk) != ARCHIVE_OK)
		ret = _out_fail(disk, err, errlen, ".");
out:
	archive_read_free(in);
	/* Before going back: pending directory fixups name paths below dirfd. */
	archive_write_free(disk);
	free(rd->buf);
	if (fchdir(cwd) < 0 && !ret) {
		e = errno;
		ret = err_set(err, errlen, -e, "working directory: fchdir back: %s", strerror(e));
	}
	close(cwd);
	return ret;
}

int archive_restore_tree(int dirfd, int infd, int keep_owner, char *err, size_t errlen)
{
	struct reader rd = {.fd = infd, .last_nz = -1};

	return _restore(dirfd, &rd, keep_owner, err, errlen);
}

int archive_restore_digested(int dirfd, int srcdir, const char *name, const struct cr_digests *list,
			     int keep_owner, char *err, size_t errlen)
{
	struct img_reader ir;
	struct reader rd = {.fd = -1, .ir = &ir, .last_nz = -1};
	int ret;

	if (!list)
		return err_set(err, errlen, -EINVAL, "%s: no digests to check it by", name);
	ret = imgr_open(&ir, srcdir, name, list);
	if (ret)
		return err_set(err, errlen, ret == -ENOENT ? -EBADMSG : ret, "%s: %s", name,
			       ret == -EBADMSG ? "missing, or not in the checkpoint's digests"
					       : strerror(-ret));
	rd.left = ir.want->size;
	ret = _restore(dirfd, &rd, keep_owner, err, errlen);
	/* The whole archive, nothing less: libarchive may stop at its end blocks. */
	while (!ret && rd.left) {
		rd.buf = malloc(BLOCK_BYTES);
		ret = rd.buf ? (int)_read_some(&rd) : -ENOMEM;
		free(rd.buf);
		if (ret < 0)
			err_set(err, errlen, ret, "%s: %s", name,
				ret == -EBADMSG ? "does not match its digest" : strerror(-ret));
		ret = ret < 0 ? ret : 0;
	}
	if (!ret && imgr_check_all_read(&ir))
		ret = err_set(err, errlen, -EBADMSG, "%s: not all read", name);
	imgr_close(&ir);
	return ret;
}
