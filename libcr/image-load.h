/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading an image into a struct rst_image (image-load.c). */
#ifndef CR_IMAGE_LOAD_H
#define CR_IMAGE_LOAD_H

#include <stdint.h>
#include <sys/types.h>

#include "rst-image.h"

/* @digests: check every byte read against them (cr_restore_opts); NULL: none. */
int image_load(const char *dir, const struct cr_digests *digests, struct rst_image *img);
void image_free(struct rst_image *img);
struct rst_img_task *find_img_task(struct rst_image *img, pid_t pid);
/* The checks no single record can make (image-check.c): -EBADMSG, named. */
int image_check(const struct rst_image *img);
int image_check_datafile(struct rst_image *img, const char *name, uint64_t size, void *xxh64);

#endif /* CR_IMAGE_LOAD_H */
