/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * More containers of a job on a node: a restore onto fewer nodes than the
 * checkpoint has slots (crctl restart --nodes=N, MaxSlotsPerNode) rebuilds
 * each extra slot in a container of its own, made here on demand.
 */
#ifndef CR_NODEUNIT_H
#define CR_NODEUNIT_H

#include <stddef.h>
#include <stdint.h>

#include "ctx.h"

/*
 * Container @unit (> 0) of @jobid on this node for @slot, at address @addr
 * (host order), like the node's unit 0 (owner, checkpoint directory, node
 * list); 0 when it is up already. -errno with err otherwise.
 */
int node_unit_make(const struct crd_ctx *ctx, uint32_t jobid, uint32_t unit, uint32_t slot,
		   uint32_t addr, char *err, size_t errlen);

#endif
