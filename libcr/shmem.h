/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared memory objects: tmpfs files, memfds, deleted files, SysV (shmem.c). */
#ifndef CR_SHMEM_H
#define CR_SHMEM_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"
#include "rst-image.h"

uint32_t shmem_kind_of(const char *path, bool anon_shared);
int dump_shmem_object(struct cr_img *img, struct dump_ctx *ctx, const char *open_path,
		      uint32_t kind, const char *path, uint64_t *id);
int prepare_shmem(struct rst_image *img);
int shmem_fd(struct rst_image *img, uint64_t id);
void close_shmem_service(struct rst_image *img);

#endif /* CR_SHMEM_H */
