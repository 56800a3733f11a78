// SPDX-License-Identifier: LGPL-2.1-or-later
/* A map from pids to small ints, for the tree planner and its kernel model. */
#include <stdint.h>
#include <stdlib.h>

#define LOG_PREFIX "pidmap: "
#include "log.h"
#include "pidmap.h"

int pidmap_init(struct pidmap *m, size_t n)
{
	size_t cap = 16, i;

	while (cap < 2 * n + 2) {
		if (cap > SIZE_MAX / 4 / sizeof(pid_t)) {
			pr_err("Can't map %zu pids\n", n);
			return -ENOMEM;
		}
		cap <<= 1;
	}
	m->keys = malloc(cap * sizeof(*m->keys));
	m->vals = malloc(cap * sizeof(*m->vals));
	if (!m->keys || !m->vals) {
		free(m->keys);
		free(m->vals);
		m->keys = NULL;
		m->vals = NULL;
		pr_err("Can't allocate a pid table of %zu entries\n", cap);
		return -ENOMEM;
	}
	for (i = 0; i < cap; i++)
		m->vals[i] = -1;
	m->mask = cap - 1;
	m->count = 0;
	return 0;
}

void pidmap_fini(struct pidmap *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
}

static size_t pidmap_slot(const struct pidmap *m, pid_t key)
{
	size_t i = ((uint32_t)key * 2654435761u) & m->mask;

	while (m->vals[i] >= 0 && m->keys[i] != key)
		i = (i + 1) & m->mask;
	return i;
}

int pidmap_get(const struct pidmap *m, pid_t key)
{
	return m->vals[pidmap_slot(m, key)];
}

int pidmap_put(struct pidmap *m, pid_t key, int val)
{
	size_t i = pidmap_slot(m, key);

	if (m->vals[i] < 0) {
		if (2 * (m->count + 1) > m->mask + 1) {
			pr_err("pid table full at pid %d\n", key);
			return -ENOSPC;
		}
		m->count++;
	}
	m->keys[i] = key;
	m->vals[i] = val;
	return 0;
}
