/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* crd's glue to libcr (its log, captured per call) and the fault points of the tests. */
#ifndef CR_GLUE_H
#define CR_GLUE_H

#include <stddef.h>

#include "ctx.h"

/* libcr's log goes to a memfd meanwhile; returns the memfd (or -1). */
int libcr_log_begin(void);
/* Back to crd's log; libcr's lines are logged, the first becomes err (when empty). */
void libcr_log_end(int fd, char *err, size_t errlen);

/* CR_FAULT=STEP[@NODE][+SECS]: SIGKILL ourselves at STEP, or stall SECS there (tests). */
void fault_point(const struct crd_ctx *ctx, const char *step);
/* CR_FAULT=STEP[@NODE]+SECS naming step: SECS, for a delay the caller makes without blocking; else
 * 0. */
int fault_delay(const struct crd_ctx *ctx, const char *step);
/* The same where there is no crd context (the container's init): node NULL matches any. */
void fault_point_at(const char *node, const char *step);

#endif
