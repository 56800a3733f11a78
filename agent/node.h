/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The node door: this node's part of a job-wide checkpoint or restore (node.c). */
#ifndef CR_NODE_H
#define CR_NODE_H

#include <stdint.h>

#include "ctx.h"
#include "protoauth.h"

/*
 * A coordinator's CR_MSG_NODE request (op: CR_NODE_*, args: JSON); the
 * exchange goes on, sealed, on ch.
 */
void node_request(const struct crd_ctx *ctx, struct cr_chan *ch, uint32_t op, uint32_t jobid,
		  const char *args);

#endif
