/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A node's part of a checkpoint's DUMP (nodedump.c). */
#ifndef CR_NODEDUMP_H
#define CR_NODEDUMP_H

#include <jansson.h>
#include <stddef.h>

#include <cr.h>

#include "ctx.h"
#include "nodejob.h"

/*
 * DUMP @args ("ckdir", "tmp"): @frozen's image (none when NULL), the
 * container's tmpfs and, on the batch host, the job's output into
 * <ckdir>/<jobid>/<tmp>/node-<slot>, as the job's user; what was written goes
 * into @rep. 0, or -errno with the reason in @err (-EBADMSG: a digest
 * mismatch; -EAGAIN: the engine found the tree in a passing state).
 */
int node_dump(const struct crd_ctx *ctx, struct node_job *j, struct cr_frozen *frozen, json_t *args,
	      json_t *rep, char *err, size_t errlen);

/* An fd the relay holds (1: the job's stdout, 2: its stderr) as O_PATH, to reopen as the user. */
int node_relay_fd(pid_t relay, int n);
/* Open what an O_PATH fd names, with @flags (O_CLOEXEC added). */
int node_reopen(int pathfd, int flags);
/* Close the fds of @fds that are open. */
void node_close_fds(int *fds, int n);

#endif
