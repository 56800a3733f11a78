/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Job placement for a restart (placement.c). */
#ifndef CR_PLACEMENT_H
#define CR_PLACEMENT_H

#include <stddef.h>

/*
 * Place the node slots of a checkpointed job onto the nodes of its new
 * allocation. @old_nodes[i]: slot i's node at checkpoint time. @new_nodes:
 * the new allocation (@nnew names, each once); @batch_host: the new batch
 * host (one of @new_nodes). Slot 0 (the batch script's) always goes to
 * @batch_host; every other slot stays on its old node when that node is in
 * the new allocation and not already taken (a lower slot or slot 0 has it);
 * the remaining slots take the remaining nodes in @new_nodes order. With
 * fewer nodes than slots, a node takes up to @per_node slots: the rest go,
 * one by one, to the node with the fewest (the first in @new_nodes order).
 * @out[i] receives the index into @new_nodes of slot i's node.
 * Deterministic: every node computes the same answer.
 * Returns 0; -ENOSPC when @nnew * @per_node < @nslots; -EINVAL when
 * @batch_host is not in @new_nodes or a name is there twice; -ENOMEM. @out
 * is written only on success.
 */
__attribute__((warn_unused_result)) int place_slots(const char *const *old_nodes, size_t nslots,
						    const char *const *new_nodes, size_t nnew,
						    const char *batch_host, size_t per_node,
						    size_t *out);

#endif /* CR_PLACEMENT_H */
