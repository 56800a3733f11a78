/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A job container's private tmpfs (/tmp, /dev/shm) as a pax restricted tar,
 * uncompressed: saved into the checkpoint, re-created on restore.
 * (Not "archive.h": that name is libarchive's.)
 */
#ifndef CR_TMPARCHIVE_H
#define CR_TMPARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "cr.h"

/*
 * Archive everything below dirfd (entries relative to it, the directory itself
 * excluded) into outfd: directories, regular files (holes kept sparse where
 * libarchive can), symlinks stored as symlinks and never followed, fifos; mode,
 * uid/gid, mtime (whole seconds). Hard links stay hard links, but for
 * symlinks: each name of a symlink is stored as a symlink. Sockets are
 * skipped (*nskipped counts them). Device nodes are an error naming the path.
 * The caller guarantees nothing changes the tree meanwhile.
 * *nentries: how many entries were written.
 * Returns 0 or a negative errno with a message naming what failed in err;
 * after a failure outfd holds no valid archive.
 */
int archive_save_tree(int dirfd, int outfd, uint64_t *nentries, uint64_t *nskipped, char *err,
		      size_t errlen);

/*
 * archive_save_tree, digesting the archive as it is written (per
 * CR_DIGEST_CHUNK, libcr's scheme): on success its digests are appended to
 * list as name.
 */
int archive_save_digested(int dirfd, int outfd, const char *name, struct cr_digests *list,
			  uint64_t *nentries, uint64_t *nskipped, char *err, size_t errlen);

/*
 * Extract an archive made by archive_save_tree into dirfd (which should be empty):
 * refuse absolute paths, ".." components and extraction through symlinks, and
 * any entry that is not a directory, regular file, hard link, symlink or fifo,
 * and a hard link to a symlink;
 * restore permissions and mtimes; ownership only when keep_owner is set.
 * infd is read to its end from where it stands: the archive must be all that follows.
 * A truncated or corrupt archive is an error (nothing is promised about what was
 * already extracted; the caller discards the directory's contents then).
 * Changes the working directory (and, in libarchive, the umask) while it runs:
 * call it from one thread only.
 * Returns 0 or a negative errno with a message naming what failed in err.
 */
int archive_restore_tree(int dirfd, int infd, int keep_owner, char *err, size_t errlen);
/*
 * archive_restore_tree from srcdir/name, read through libcr's checking reader:
 * each chunk read once into memory, checked against list, then extracted;
 * every byte the digests cover is read. -EBADMSG (named) on a mismatch, a
 * file list does not name, or one shorter than its digests.
 */
int archive_restore_digested(int dirfd, int srcdir, const char *name, const struct cr_digests *list,
			     int keep_owner, char *err, size_t errlen);

#endif /* CR_TMPARCHIVE_H */
