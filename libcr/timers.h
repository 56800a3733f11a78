/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* POSIX and interval timers (timers.c). */
#ifndef CR_TIMERS_H
#define CR_TIMERS_H

#include "internal.h"
#include "rst.h"

int dump_timers(struct cr_img *img, struct cr_task *t);
int fill_timers(struct rst_image *img, struct rst_img_task *t, struct rst_task *rt,
		struct arg_area *a);

#endif /* CR_TIMERS_H */
