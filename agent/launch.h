/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cr-rsh's requests (launch.c). On the caller's node (the local door): a
 * process inside a job's container, of the job's owner, asks to start a
 * command on another node of the job; crd sends it on to that node's crd
 * (the node door, NODE(EXEC), munge), which hands it to the slot root in the
 * job's container there (mpi-hooks/slotroot.c). The command's stdio goes
 * over the job network, between the two slots; crd holds nothing after.
 */
#ifndef CR_LAUNCH_H
#define CR_LAUNCH_H

#include <jansson.h>
#include <stdint.h>

#include "ctx.h"
#include "proto.h"
#include "protoauth.h"

/* RSH on the local socket: checked, forwarded, answered on fd. */
void launch_request(const struct crd_ctx *ctx, int fd, struct cr_msg *m);
/* NODE(EXEC) from another node's crd: the command to this node's slot of jobid. */
void launch_exec(const struct crd_ctx *ctx, struct cr_chan *ch, uint32_t jobid, json_t *args);

/* Where a non-batch slot's root listens, inside the container. */
#define SLOT_SOCK_DIR  "/tmp/.slurm-cr"
#define SLOT_SOCK_PATH SLOT_SOCK_DIR "/slot.sock"

#endif
