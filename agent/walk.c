// SPDX-License-Identifier: LGPL-2.1-or-later
/* A walk below a directory the job's user owns, and removal of a tree (walk.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"
#include "userfs.h"
#include "walk.h"

void walk_init(struct walk *w, const char *top, char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	snprintf(w->path, sizeof(w->path), "%s", top);
	w->len = strlen(w->path);
	w->err = err;
	w->errlen = errlen;
}

const char *walk_path(const struct walk *w)
{
	return w->len ? w->path : ".";
}

int walk_push(struct walk *w, const char *name, size_t *saved)
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

void walk_pop(struct walk *w, size_t saved)
{
	w->len = saved;
	w->path[saved] = '\0';
}

int walk_each_entry(DIR *d, int (*fn)(int dfd, const char *name, void *arg), void *arg, char *err,
		    size_t errlen, const char *path)
{
	struct dirent *de;
	int ret;

	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de)
			return errno ? err_sys(err, errlen, -errno, "%s: readdir", path) : 0;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		ret = fn(dirfd(d), de->d_name, arg);
		if (ret)
			return ret;
	}
}

/* ---- removal ---- */

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
	ret = walk_push(p->w, name, &saved);
	if (ret)
		return ret;
	ret = walk_remove_tree(p->w, dfd, name);
	walk_pop(p->w, saved);
	if (ret == -ENOENT) /* gone meanwhile */
		return 0;
	if (!ret)
		p->removed++;
	return ret;
}

int walk_empty_dir(struct walk *w, int dirfd, const char *name, const char *prefix)
{
	struct rm_pass p = {.w = w, .prefix = prefix};
	DIR *d;
	int ret;

	if (w->depth >= WALK_MAX_DEPTH)
		return err_set(w->err, w->errlen, -ELOOP, "%s: nested too deep", walk_path(w));
	ret = userfs_opendir_beneath(dirfd, name, &d);
	if (ret)
		return ret == -ENOENT ? ret : userfs_open_err(w->err, w->errlen, ret, walk_path(w));
	w->depth++;
	do {
		p.removed = 0;
		rewinddir(d);
		ret = walk_each_entry(d, _rm_entry, &p, w->err, w->errlen, walk_path(w));
	} while (!ret && p.removed);
	w->depth--;
	closedir(d);
	return ret;
}

int walk_remove_tree(struct walk *w, int dirfd, const char *name)
{
	struct stat st;
	int ret;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return err_sys(w->err, w->errlen, -errno, "%s: stat", w->path);
	}
	if (S_ISDIR(st.st_mode)) {
		ret = walk_empty_dir(w, dirfd, name, NULL);
		if (ret)
			return ret;
	}
	if (unlinkat(dirfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return err_sys(w->err, w->errlen, -errno, "%s: remove", w->path);
	}
	return 0;
}
