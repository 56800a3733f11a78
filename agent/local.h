/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The local door: crd's unix socket. spank_cr.so's prolog and epilog
 * (JOB_START, JOB_END; root only) and the batch step's relay (HELLO).
 */
#ifndef CR_LOCAL_H
#define CR_LOCAL_H

#include "ctx.h"

/*
 * One request on an accepted connection, in a crd worker: @first is its
 * first message, JOB_START, JOB_END or HELLO, read by crd's gate (gate.c);
 * freed here.
 */
void local_request(const struct crd_ctx *ctx, int fd, struct cr_msg *first);

#endif
