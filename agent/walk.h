/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A walk below a directory the job's user owns: the path of the current entry
 * relative to the walk's top (for messages), the depth, each entry of a
 * directory; and removal of a tree, walked with fstatat(AT_SYMLINK_NOFOLLOW)
 * and removed with unlinkat, a symlink removed itself, never followed.
 */
#ifndef CR_WALK_H
#define CR_WALK_H

#include <dirent.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define WALK_MAX_DEPTH 64 /* node image trees are a few levels deep */

/* A walk below some directory: path names the current entry relative to its top. */
struct walk {
	char path[PATH_MAX];
	size_t len;
	int depth;
	char *err;
	size_t errlen;
};

/* Zeroes w; its path starts as top ("" for the directory itself); errors go to err. */
void walk_init(struct walk *w, const char *top, char *err, size_t errlen);
/* w's path, "." at the top. */
const char *walk_path(const struct walk *w);
/* Appends name to w->path; *saved is the length walk_pop() goes back to. */
int walk_push(struct walk *w, const char *name, size_t *saved);
void walk_pop(struct walk *w, size_t saved);
/* fn(dirfd(d), name, arg) for each entry but . and ..; stops at fn's first error. */
int walk_each_entry(DIR *d, int (*fn)(int dfd, const char *name, void *arg), void *arg, char *err,
		    size_t errlen, const char *path);
/*
 * Removes the entries of directory name below dirfd (those starting with
 * prefix; all when NULL); passes again while a pass removed something, as
 * readdir may skip entries of a directory that changes under it (NFS).
 */
int walk_empty_dir(struct walk *w, int dirfd, const char *name, const char *prefix);
/*
 * Removes name below dirfd (w->path) with all it holds; a symlink is unlinked,
 * not followed. -ENOENT (no message) when it is not there.
 */
int walk_remove_tree(struct walk *w, int dirfd, const char *name);

#endif /* CR_WALK_H */
