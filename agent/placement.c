// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Job placement for a restart: which node of the new allocation rebuilds
 * each node slot of a checkpoint. Asked by the coordinator (coord.c).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "placement.h"

static int _place_cmp(const void *x, const void *y, void *names)
{
	const char *const *n = names;

	return strcmp(n[*(const size_t *)x], n[*(const size_t *)y]);
}

/* The index in @names of @name, through @order (indices sorted by name). */
static size_t _place_find(const char *const *names, const size_t *order, size_t n, const char *name)
{
	size_t lo = 0, hi = n, mid;
	int c;

	while (name && lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(names[order[mid]], name);
		if (!c)
			return order[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SIZE_MAX;
}

/* A node for a slot when every node has one: the least loaded with room, the first of those. */
static size_t _place_more(const size_t *count, size_t nnew, size_t per_node)
{
	size_t best = SIZE_MAX;

	for (size_t k = 0; k < nnew; k++)
		if (count[k] < per_node && (best == SIZE_MAX || count[k] < count[best]))
			best = k;
	return best;
}

int place_slots(const char *const *old_nodes, size_t nslots, const char *const *new_nodes,
		size_t nnew, const char *batch_host, size_t per_node, size_t *out)
{
	size_t *order, *count, i, j = 0, k;
	int ret = -EINVAL;

	if (!per_node)
		per_node = 1;
	if (nslots > nnew * per_node || !new_nodes || !batch_host ||
	    (nslots && (!old_nodes || !out))) {
		log_warnx("placement: %zu new nodes for %zu slots (%zu per node)", nnew, nslots,
			  per_node);
		return nslots > nnew * per_node ? -ENOSPC : -EINVAL;
	}
	/* The new nodes' indices sorted by name, then how many slots each has. */
	order = calloc(2 * nnew + 1, sizeof(*order));
	if (!order) {
		log_warnx("placement: can't allocate for %zu nodes", nnew);
		return -ENOMEM;
	}
	count = order + nnew;
	for (i = 0; i < nnew; i++)
		order[i] = i;
	qsort_r(order, nnew, sizeof(*order), _place_cmp, (void *)new_nodes);
	for (i = 1; i < nnew; i++)
		if (!strcmp(new_nodes[order[i - 1]], new_nodes[order[i]])) {
			log_warnx("placement: node %s is twice in the new allocation",
				  new_nodes[order[i]]);
			goto out;
		}
	k = _place_find(new_nodes, order, nnew, batch_host);
	if (k == SIZE_MAX) {
		log_warnx("placement: batch host %s is not in the new allocation", batch_host);
		goto out;
	}
	/* Slot 0 first: a slot that was on the new batch host has to move. */
	for (i = 0; i < nslots; i++) {
		if (i)
			k = _place_find(new_nodes, order, nnew, old_nodes[i]);
		out[i] = k != SIZE_MAX && !count[k] ? k : SIZE_MAX;
		if (out[i] != SIZE_MAX)
			count[k] = 1;
	}
	for (i = 1; i < nslots; i++) {
		if (out[i] != SIZE_MAX)
			continue;
		while (j < nnew && count[j])
			j++;
		out[i] = j < nnew ? j : _place_more(count, nnew, per_node);
		count[out[i]]++;
	}
	ret = 0;
out:
	free(order);
	return ret;
}
