/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* crctl evacuate NODE: the node drained, and the jobs with a slot on it (evacuate.c). */
#ifndef CR_EVACUATE_H
#define CR_EVACUATE_H

#include <jansson.h>
#include <sys/types.h>

#include "ctx.h"

/*
 * An operator's request (opts: Node, Reason): drains Node in slurmctld and
 * answers on fd with {"node", "reason", "jobs": [{"jobid", "batch_host"}]},
 * the running jobs with a slot on it; crctl then requeues each through its
 * batch host's crd, as `crctl requeue` does.
 */
void evacuate_request(const struct crd_ctx *ctx, int fd, uid_t uid, json_t *opts);

#endif
