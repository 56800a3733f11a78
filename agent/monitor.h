/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The per-job monitor (monitor.c); its clients use jobstat.h. */
#ifndef CR_MONITOR_H
#define CR_MONITOR_H

#include <stddef.h>

#include "ctx.h"
#include "jobstat.h"

/* Fork a detached monitor for the job, wait until its container is up; err says why not. */
int monitor_spawn(const struct crd_ctx *ctx, const struct cr_job *ji, char *err, size_t errlen);

#endif
