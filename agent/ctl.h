/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The crctl door: user and admin requests on crd's TCP port (ctl.c). */
#ifndef CR_CTL_H
#define CR_CTL_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctx.h"

/* crctl's cmd on jobid from uid (munge says who), options opts; answers on fd. */
void ctl_request(const struct crd_ctx *ctx, int fd, uid_t uid, uint32_t cmd, uint32_t jobid,
		 json_t *opts);

#endif
