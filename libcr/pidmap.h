/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A map from pids to small ints (pidmap.c). */
#ifndef CR_PIDMAP_H
#define CR_PIDMAP_H

#include <stddef.h>
#include <sys/types.h>

/* pid -> int, open addressing; sized once for the most keys it will get. */
struct pidmap {
	size_t mask;
	size_t count;
	pid_t *keys;
	int *vals; /* -1: empty slot */
};

/* Room for @n keys; -ENOMEM. */
int pidmap_init(struct pidmap *m, size_t n);
void pidmap_fini(struct pidmap *m);
/* The value of @key, or -1. */
int pidmap_get(const struct pidmap *m, pid_t key);
/* Set @key to @val (>= 0); -ENOSPC when more keys than pidmap_init() was told. */
int pidmap_put(struct pidmap *m, pid_t key, int val);

#endif /* CR_PIDMAP_H */
