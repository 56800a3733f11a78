/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * BLAKE2b-256 digests: of one file, and of every file of a tree a node writes
 * into the checkpoint (listed in the manifest, checked before a restore). All
 * functions return 0 or a negative errno; those taking err/errlen write there
 * what failed.
 */
#ifndef CR_DIGEST_H
#define CR_DIGEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_DIGEST_HEX 65	      /* 64 hex digits + NUL */
#define DIGEST_CHUNK	 (256u << 10) /* digest_fd's buffer size */

/*
 * Hashes fd's bytes [0, limit) (or to EOF) with pread, copying them to outfd
 * when >= 0 (write(2), at its offset). buf holds DIGEST_CHUNK bytes. *done =
 * the bytes hashed, less than limit where fd ended first.
 */
int digest_fd(int fd, uint64_t limit, int outfd, uint8_t *buf, char hex[STORE_DIGEST_HEX],
	      uint64_t *done);
/*
 * Every regular file below dirfd, recursively:
 * {"rel/path": {"size": N, "blake2b": "hex"}} (paths relative to dirfd,
 * '/'-separated), each file fsync'd and each directory fsync'd as it goes (this
 * is the commit's durability). *bytes = total size. A symlink, device, fifo or
 * socket below dirfd is an error naming it.
 */
int store_digest_tree(int dirfd, json_t **files, uint64_t *bytes, char *err, size_t errlen);
/*
 * Every file listed (as store_digest_tree makes them) exists below dirfd as a
 * regular file (no symlink on the way) with that size and digest. Extra files
 * are ignored. The first mismatch is named in err (-EBADMSG for a wrong
 * size/digest, -ENOENT missing, -ELOOP symlink).
 */
int store_check_tree(int dirfd, json_t *files, char *err, size_t errlen);

#endif /* CR_DIGEST_H */
