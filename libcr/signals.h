/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Signal handlers, masks and pending signals (signals.c). */
#ifndef CR_SIGNALS_H
#define CR_SIGNALS_H

#include "internal.h"
#include "rst.h"

int dump_signals(struct cr_img *img, struct cr_task *t);
int restore_sigactions(struct rst_img_task *t);
int fill_sigsets(struct rst_img_task *t, struct rst_task *rt, struct arg_area *a);

#endif /* CR_SIGNALS_H */
