/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * File identities (fsident.c): a recorded path must lead back to the file it
 * stands for, at dump and again at restore. What is recorded and compared:
 * struct cr_fident in image.h, docs/image-format.md.
 */
#ifndef CR_FSIDENT_H
#define CR_FSIDENT_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "image.h"
#include "rst-image.h"

/*
 * Dump: @path, resolved in the root of task @root (the tree's root: the view
 * restore has), must be the file @want is (the fd, mapping, cwd or root of
 * task @pid, named by @what); *id gets its identity, compared as @flags
 * (CR_FIDENT_*) say. -ENOTSUP, logged naming the task and the path, when it
 * is not.
 */
int fident_dump(pid_t root, pid_t pid, const char *what, const char *path, const struct stat *want,
		uint32_t flags, struct cr_fident *id);

/*
 * Restore: @fd, opened from @path, is the file @id recorded; -ESTALE, logged
 * naming task @pid, @what and @path, when it is not.
 */
int fident_verify_fd(int fd, const struct cr_fident *id, pid_t pid, const char *what,
		     const char *path);

/* Restore, before anything forks: every task's cwd, root, exe and mapped files. */
int fident_check_tasks(const struct rst_image *img);

#endif /* CR_FSIDENT_H */
