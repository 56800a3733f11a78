// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of job placement for a restart (agent/placement.c): which node
 * of the new allocation rebuilds each node slot, on hand-made and random
 * allocations, refusals with their messages, and a large job.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "logcheck.h"

#include "log.h"
#include "placement.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int logfd = -1; /* ours, to read and truncate what the agent's log wrote */

/* The agent's log goes to a file of our own, unlinked at once. */
static int setup(void **state)
{
	char path[] = "/tmp/placement-test.XXXXXX";
	int ret;

	(void)state;
	logfd = mkstemp(path);
	if (logfd < 0)
		return -1;
	ret = log_init("placement-test", path, 0);
	unlink(path);
	return ret;
}

static void log_reset(void)
{
	assert_int_equal(ftruncate(logfd, 0), 0);
}

/* Place @old onto @alloc with @batch; want[i]: slot i's node by name. */
static void place_ok(const char *const *old, size_t nslots, const char *const *alloc, size_t nnew,
		     const char *batch, const char *const *want)
{
	size_t out[16], i;

	assert_true(nslots <= ARRAY_SIZE(out));
	log_reset();
	assert_int_equal(place_slots(old, nslots, alloc, nnew, batch, 1, out), 0);
	for (i = 0; i < nslots; i++) {
		assert_true(out[i] < nnew);
		if (strcmp(alloc[out[i]], want[i]))
			fail_msg("slot %zu on %s, want %s", i, alloc[out[i]], want[i]);
	}
}

static void test_place_same(void **state)
{
	const char *nodes[] = {"n1", "n2", "n3", "n4"};
	const char *shuffled[] = {"n3", "n1", "n4", "n2"};
	size_t out[4], i;

	(void)state;
	assert_int_equal(place_slots(nodes, 4, nodes, 4, "n1", 1, out), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(out[i], i);
	place_ok(nodes, 4, shuffled, 4, "n1", nodes);
	/* Only the batch script's slot: just the batch host. */
	place_ok(nodes, 1, shuffled, 4, "n1", nodes);
}

static void test_place_replaced(void **state)
{
	const char *old[] = {"a", "b", "c", "d"};
	const char *alloc[] = {"a", "b", "x", "d"};
	const char *first[] = {"x", "a", "b", "d"};
	const char *want[] = {"a", "b", "x", "d"};

	(void)state;
	place_ok(old, 4, alloc, 4, "a", want);
	place_ok(old, 4, first, 4, "a", want);
}

/* The batch host changed: slot 0 follows it, and the slot that was there moves. */
static void test_place_batch_moved(void **state)
{
	const char *old[] = {"a", "b", "c"};
	const char *want[] = {"b", "a", "c"};
	const char *alloc2[] = {"c", "b", "z"};
	const char *want2[] = {"b", "z", "c"};

	(void)state;
	place_ok(old, 3, old, 3, "b", want);
	place_ok(old, 3, alloc2, 3, "b", want2);
}

static void test_place_more_nodes(void **state)
{
	const char *old[] = {"a", "b", "c"};
	const char *alloc[] = {"z", "y", "a", "b", "x"};
	const char *want[] = {"y", "b", "z"};
	const char *alloc2[] = {"p", "q", "r", "s", "a"};
	const char *want2[] = {"a", "p", "q"};

	(void)state;
	place_ok(old, 3, alloc, 5, "y", want);
	place_ok(old, 3, alloc2, 5, "a", want2);
}

static void test_place_refused(void **state)
{
	const char *old[] = {"a", "b", "c"};
	const char *two[] = {"a", "b"};
	const char *dup[] = {"a", "b", "a"};
	size_t out[3] = {77, 77, 77};

	(void)state;
	log_reset();
	assert_int_equal(place_slots(old, 3, two, 2, "a", 1, out), -ENOSPC);
	log_fd_has(logfd, "2 new nodes for 3 slots (1 per node)", NULL);
	log_reset();
	assert_int_equal(place_slots(old, 3, old, 3, "q", 1, out), -EINVAL);
	log_fd_has(logfd, "batch host q", NULL);
	log_reset();
	assert_int_equal(place_slots(old, 3, dup, 3, "a", 1, out), -EINVAL);
	log_fd_has(logfd, "node a is twice", NULL);
	assert_int_equal(place_slots(old, 0, old, 0, "a", 1, out), -EINVAL);
	assert_int_equal(place_slots(old, 3, old, 3, NULL, 1, out), -EINVAL);
	assert_int_equal(out[0] + out[1] + out[2], 3 * 77);
	/* No slots at all: nothing to place, but the batch host still counts. */
	assert_int_equal(place_slots(NULL, 0, old, 3, "c", 1, NULL), 0);
}

/* Fewer nodes than slots: a node takes up to per_node, the least loaded first. */
static void test_place_fewer(void **state)
{
	const char *old[] = {"a", "b", "c", "d", "e"};
	const char *two[] = {"b", "a"}, *three[] = {"a", "b", "c"};
	const char *packed[] = {"a", "b", "b"};
	size_t out[5];

	(void)state;
	log_reset();
	/* slot 0 on the batch host, slot 1 stays on b, slot 2 to the first least loaded */
	assert_int_equal(place_slots(old, 3, two, 2, "a", 2, out), 0);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 0);
	assert_int_equal(out[2], 0);
	assert_int_equal(place_slots(old, 5, two, 2, "a", 3, out), 0);
	assert_int_equal(out[2] + out[3] + out[4], 0 + 1 + 0);
	assert_int_equal(place_slots(old, 5, two, 2, "a", 2, out), -ENOSPC);
	log_fd_has(logfd, "2 new nodes for 5 slots (2 per node)", NULL);
	/* a checkpoint of a packed job back onto as many nodes: one slot each again */
	assert_int_equal(place_slots(packed, 3, three, 3, "a", 2, out), 0);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 1);
	assert_int_equal(out[2], 2);
	/* per_node 0 counts as 1 */
	assert_int_equal(place_slots(old, 3, two, 2, "a", 0, out), -ENOSPC);
}

#define PLACE_POOL 48
#define PLACE_MAX  24

static unsigned place_rnd(uint64_t *rng, unsigned n)
{
	*rng ^= *rng << 13;
	*rng ^= *rng >> 7;
	*rng ^= *rng << 17;
	return (unsigned)(*rng >> 20) % n;
}

/* @n distinct names of @pool in random order. */
static void place_sample(uint64_t *rng, const char *const *pool, const char **v, size_t n)
{
	const char *p[PLACE_POOL];
	size_t i, k;

	memcpy(p, pool, sizeof(p));
	for (i = 0; i < n; i++) {
		k = i + place_rnd(rng, PLACE_POOL - i);
		v[i] = p[k];
		p[k] = p[i];
	}
}

static size_t place_index_of(const char *const *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i], name))
			return i;
	return SIZE_MAX;
}

/* Every rule of place_slots() on one random input. */
static void place_check(const char *const *old, size_t nslots, const char *const *alloc,
			size_t nnew, const char *batch, const size_t *out)
{
	bool used[PLACE_MAX + 8] = {false}, kept[PLACE_MAX + 8] = {false};
	size_t i, k, j = 0;

	assert_int_equal(out[0], place_index_of(alloc, nnew, batch));
	used[out[0]] = true;
	for (i = 1; i < nslots; i++) {
		assert_true(out[i] < nnew);
		assert_false(used[out[i]]); /* no two slots on one node */
		used[out[i]] = true;
		k = place_index_of(alloc, nnew, old[i]);
		if (k != SIZE_MAX && k != out[0] && !kept[k]) {
			assert_int_equal(out[i], k);
			kept[k] = true;
		}
	}
	/* The slots that moved took the free nodes in order, in slot order. */
	memset(used, 0, sizeof(used));
	used[out[0]] = true;
	for (i = 1; i < nslots; i++)
		if (!strcmp(alloc[out[i]], old[i]))
			used[out[i]] = true;
	for (i = 1; i < nslots; i++) {
		if (!strcmp(alloc[out[i]], old[i]))
			continue;
		while (used[j])
			j++;
		assert_int_equal(out[i], j);
		used[j] = true;
	}
}

static void test_place_random(void **state)
{
	char names[PLACE_POOL][8], copies[PLACE_MAX + 8][8];
	const char *pool[PLACE_POOL], *old[PLACE_MAX], *alloc[PLACE_MAX + 8],
		*alloc2[PLACE_MAX + 8];
	size_t out[PLACE_MAX], out2[PLACE_MAX], nslots, nnew, b, i;
	uint64_t rng;
	int seed;

	(void)state;
	for (i = 0; i < PLACE_POOL; i++) {
		snprintf(names[i], sizeof(names[i]), "n%02zu", i);
		pool[i] = names[i];
	}
	for (seed = 1; seed <= 5000; seed++) {
		rng = (uint64_t)seed * 0x9e3779b97f4a7c15ull;
		nslots = 1 + place_rnd(&rng, PLACE_MAX);
		nnew = nslots + place_rnd(&rng, 8);
		place_sample(&rng, pool, alloc, nnew);
		place_sample(&rng, pool, old, nslots);
		if (nslots > 1 && !place_rnd(&rng, 4)) /* two slots that were on one node */
			old[1 + place_rnd(&rng, nslots - 1)] = old[place_rnd(&rng, nslots)];
		b = place_rnd(&rng, nnew);
		assert_int_equal(place_slots(old, nslots, alloc, nnew, alloc[b], 1, out), 0);
		place_check(old, nslots, alloc, nnew, alloc[b], out);
		/* The same names at other addresses give the same answer. */
		for (i = 0; i < nnew; i++) {
			strcpy(copies[i], alloc[i]);
			alloc2[i] = copies[i];
		}
		assert_int_equal(place_slots(old, nslots, alloc2, nnew, copies[b], 1, out2), 0);
		assert_memory_equal(out, out2, nslots * sizeof(*out));
	}
}

/* A big job: 20000 slots, every other node replaced, the list reversed. */
static void test_place_large(void **state)
{
	size_t n = 20000, i, *out = calloc(n, sizeof(*out));
	const char **old = calloc(n, sizeof(*old)), **alloc = calloc(n, sizeof(*alloc));
	char *names = calloc(2 * n, 16);
	bool *used = calloc(n, sizeof(*used));

	(void)state;
	assert_true(out && old && alloc && names && used);
	for (i = 0; i < n; i++) {
		snprintf(names + 16 * i, 16, "old%05zu", i);
		snprintf(names + 16 * (n + i), 16, "new%05zu", i);
		old[i] = names + 16 * i;
		alloc[n - 1 - i] = names + 16 * (i % 2 ? n + i : i);
	}
	assert_int_equal(place_slots(old, n, alloc, n, alloc[0], 1, out), 0);
	for (i = 2; i < n; i += 2)
		assert_string_equal(alloc[out[i]], old[i]);
	for (i = 0; i < n; i++) {
		assert_false(used[out[i]]);
		used[out[i]] = true;
	}
	/* The moved slots took the alloc nodes in order, then old00000 (slot 0's). */
	assert_string_equal(alloc[out[1]], "new19997");
	assert_string_equal(alloc[out[n - 1]], "old00000");
	free(out);
	free(old);
	free(alloc);
	free(names);
	free(used);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_place_same),	  cmocka_unit_test(test_place_replaced),
		cmocka_unit_test(test_place_batch_moved), cmocka_unit_test(test_place_more_nodes),
		cmocka_unit_test(test_place_refused),	  cmocka_unit_test(test_place_fewer),
		cmocka_unit_test(test_place_random),	  cmocka_unit_test(test_place_large),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
