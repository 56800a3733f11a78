/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one reader of image files at restore (img-read.c). Every byte comes
 * from a whole chunk read once, with pread, into memory libcr owns: a buffer
 * of its own, or the destination itself when a read covers a whole chunk
 * (a restored task's memory, which its owner cannot reach while the task is
 * being built). With a digest list the chunk is checked before any of it is
 * handed out; the bytes checked are the bytes used, nothing is read twice.
 */
#ifndef CR_IMG_READ_H
#define CR_IMG_READ_H

#include <stddef.h>
#include <stdint.h>

#include "cr.h"

struct img_reader {
	int fd;
	const struct cr_file_digest *want; /* NULL: no digests, trust the file */
	uint8_t *buf;			   /* CR_DIGEST_CHUNK bytes */
	size_t buf_len, buf_pos;	   /* bytes of the current chunk, handed out */
	uint64_t off;			   /* file offset of the next chunk */
	uint64_t chunk;			   /* index of the next chunk */
	int eof;
	char name[CR_DIGEST_NAME];
};

/*
 * Open @name of the image directory @dirfd. With @list (not NULL) a file it
 * does not name is refused: -EBADMSG, logged. -ENOENT if missing (not
 * logged: the caller says what the file was for).
 */
int imgr_open(struct img_reader *r, int dirfd, const char *name, const struct cr_digests *list);
/*
 * Exactly @len bytes into @dst: 0, -ENODATA at the end of the file (or of
 * what the digests cover; not logged), -EBADMSG on a digest mismatch, -EIO.
 */
int imgr_read(struct img_reader *r, void *dst, size_t len);
/* With digests: 0 if every byte they cover was read, else -EBADMSG, logged. */
int imgr_check_all_read(struct img_reader *r);
void imgr_close(struct img_reader *r);

#endif /* CR_IMG_READ_H */
