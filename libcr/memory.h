/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Memory: mappings, pages and the vDSO (memory.c). */
#ifndef CR_MEMORY_H
#define CR_MEMORY_H

#include <stdint.h>

#include "internal.h"
#include "rst.h"

/* Dump */
/* Refuse what can't be restored (mlock, NUMA policies...), naming it. */
int check_memory(struct cr_task *t);
int dump_memory(struct cr_img *img, struct dump_ctx *ctx, struct cr_task *t);
int find_zero_pfn(uint64_t *pfn);

/* Restore */
/* Map every VMA of @t into [premap, premap+len) and fill it; fills @moves. */
int premap_memory(struct rst_image *img, struct rst_img_task *t, uint64_t premap, uint64_t len,
		  void *moves);
uint64_t premap_size_of(const struct rst_img_task *t);
int fill_mm(struct rst_img_task *t, struct rst_task *rt, struct arg_area *a, int exe_fd);
int fill_vdso(const struct rst_range vdso_rt[3], struct rst_img_task *t, struct rst_task *rt,
	      uint64_t tmp);

#endif /* CR_MEMORY_H */
