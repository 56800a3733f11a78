/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Threads: registers, xsave, masks, rseq, robust lists (threads.c). */
#ifndef CR_THREADS_H
#define CR_THREADS_H

#include <stdint.h>

#include "internal.h"
#include "rst.h"

/* This CPU's xsave features (XCR0) and area size, as the image header records them. */
void cpu_xsave_info(uint64_t *xcr0, uint32_t *size);
int dump_threads(struct cr_img *img, struct cr_task *t);
int fill_threads(struct rst_image *img, struct rst_img_task *t, struct rst_task *rt,
		 struct arg_area *a, uint64_t stacks);
/* The restore's CPU map (cr.h, cpu_map) applied to every thread's saved affinity. */
int remap_affinity(struct rst_image *img, const struct cr_restore_opts *opts);

#endif /* CR_THREADS_H */
