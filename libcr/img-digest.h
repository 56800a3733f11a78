/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Digests of image files, per CR_DIGEST_CHUNK bytes, computed from the bytes
 * libcr writes as it writes them (img-digest.c); checked by img-read.c.
 */
#ifndef CR_IMG_DIGEST_H
#define CR_IMG_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "cr.h"

struct img_digester;

/* A digester for one file; NULL if out of memory. */
struct img_digester *imgd_new(void);
void imgd_update(struct img_digester *d, const void *buf, size_t len);
/* Frees @d; on success the file's digests are appended to @list as @name. */
int imgd_finish(struct img_digester *d, const char *name, struct cr_digests *list);
void imgd_free(struct img_digester *d);

/* BLAKE2b-256 of @len bytes into @out. */
int imgd_hash(const void *buf, size_t len, uint8_t out[CR_DIGEST_LEN]);
/* The entry for @name in @list, or NULL. */
const struct cr_file_digest *imgd_find(const struct cr_digests *list, const char *name);
/* 0 if every entry is a plain unique name with as many chunks as its size needs. */
int imgd_check_list(const struct cr_digests *list);

#endif /* CR_IMG_DIGEST_H */
