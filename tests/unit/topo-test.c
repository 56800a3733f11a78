// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of agent/topo.c on hwloc synthetic topologies: a node described
 * as JSON, and the CPU map of a restore: same shape (by logical index, also
 * where the OS numbers differ), another shape (nearest equivalent, bound CPUs
 * kept distinct), another cpuset, and a node too small for the slot (refused,
 * naming the node and the counts).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "topo.h"

/* A synthetic node (hwloc's syntax) with the slot's usable CPUs (NULL: all). */
static json_t *synth(const char *desc, const char *allowed)
{
	hwloc_topology_t t;
	char err[256] = "";
	json_t *d = NULL;

	assert_int_equal(hwloc_topology_init(&t), 0);
	assert_int_equal(hwloc_topology_set_synthetic(t, desc), 0);
	assert_int_equal(hwloc_topology_load(t), 0);
	assert_int_equal(topo_describe(t, allowed, &d, err, sizeof(err)), 0);
	hwloc_topology_destroy(t);
	return d;
}

/* A checkpoint's slot: @desc with its tasks bound to @bound. */
static json_t *slot(const char *desc, const char *allowed, const char *bound)
{
	json_t *d = synth(desc, allowed);

	json_object_set_new(d, "bound", json_string(bound));
	json_object_set_new(d, "tasks",
			    json_pack("[{s:i, s:i, s:s, s:s}]", "pid", 1, "tid", 1, "cpus", bound,
				      "mems", "0"));
	return d;
}

struct result {
	int ret;
	int *map, *all;
	size_t n, nall;
	char err[512];
};

static void cpumap(json_t *old, json_t *cur, struct result *r)
{
	r->ret = topo_cpumap(old, cur, "n2", &r->map, &r->n, &r->all, &r->nall, r->err,
			     sizeof(r->err));
	json_decref(old);
	json_decref(cur);
}

static void result_free(struct result *r)
{
	free(r->map);
	free(r->all);
}

static void test_describe(void **state)
{
	json_t *d = synth("pack:2 core:4 pu:2", NULL), *e;

	(void)state;
	assert_int_equal(json_integer_value(json_object_get(d, "packages")), 2);
	assert_int_equal(json_integer_value(json_object_get(d, "cores")), 8);
	assert_int_equal(json_integer_value(json_object_get(d, "pus")), 16);
	assert_int_equal(json_integer_value(json_object_get(d, "numa")), 1);
	assert_string_equal(json_string_value(json_object_get(d, "allowed")), "0-15");
	for (int i = 0; i < 16; i++) {
		assert_int_equal(json_integer_value(json_array_get(json_object_get(d, "pu_os"), i)),
				 i);
		assert_int_equal(
			json_integer_value(json_array_get(json_object_get(d, "pu_core"), i)),
			i / 2);
	}
	json_decref(d);
	/* OS numbers as many BIOSes give them: hyperthread siblings 4 apart */
	e = synth("pack:1 core:4 pu:2(indexes=0,4,1,5,2,6,3,7)", "1-2,9");
	assert_int_equal(json_integer_value(json_array_get(json_object_get(e, "pu_os"), 1)), 4);
	assert_string_equal(json_string_value(json_object_get(e, "allowed")), "1-2");
	json_decref(e);
}

static void test_same_shape(void **state)
{
	struct result r = {0};

	(void)state;
	cpumap(slot("pack:2 core:4 pu:2", NULL, "1,6"), synth("pack:2 core:4 pu:2", NULL), &r);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.n, 16);
	for (int i = 0; i < 16; i++)
		assert_int_equal(r.map[i], i);
	assert_int_equal(r.nall, 16);
	assert_int_equal(r.all[15], 15);
	result_free(&r);
}

/* Same shape, other OS numbers: the same logical PU (old CPU 1 is PU L#1, here P#4). */
static void test_same_shape_renumbered(void **state)
{
	static const int want[8] = {0, 4, 1, 5, 2, 6, 3, 7};
	struct result r = {0};

	(void)state;
	cpumap(slot("pack:1 core:4 pu:2", NULL, "1"),
	       synth("pack:1 core:4 pu:2(indexes=0,4,1,5,2,6,3,7)", NULL), &r);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.n, 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(r.map[i], want[i]);
	result_free(&r);
}

/* Two packages of 4 cores onto one of 8: core i stays core i, its PUs distinct. */
static void test_other_shape(void **state)
{
	struct result r = {0};

	(void)state;
	cpumap(slot("pack:2 core:4 pu:2", NULL, "0-15"), synth("pack:1 core:8 pu:2", NULL), &r);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.n, 16);
	for (int i = 0; i < 16; i++)
		assert_int_equal(r.map[i], i);
	result_free(&r);
}

/* Hyperthreads onto single-PU cores: every bound CPU gets a core of its own. */
static void test_distinct(void **state)
{
	struct result r = {0};
	int seen[8] = {0};

	(void)state;
	cpumap(slot("pack:1 core:4 pu:2", NULL, "0-7"), synth("pack:1 core:8 pu:1", NULL), &r);
	assert_int_equal(r.ret, 0);
	for (int i = 0; i < 8; i++) {
		assert_in_range(r.map[i], 0, 7);
		assert_int_equal(seen[r.map[i]]++, 0);
	}
	result_free(&r);
}

/* The new slot has other cores of a same-shaped node: cores in order, PUs by rank. */
static void test_other_cpuset(void **state)
{
	static const int want[4] = {4, 5, 6, 7};
	struct result r = {0};

	(void)state;
	cpumap(slot("pack:1 core:4 pu:2", "0-3", "1,3"), synth("pack:1 core:4 pu:2", "4-7"), &r);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.n, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(r.map[i], want[i]);
	assert_int_equal(r.nall, 4);
	assert_int_equal(r.all[0], 4);
	result_free(&r);
}

/* Fewer CPUs than bound ones, but enough for those: the unbound ones share. */
static void test_unbound_share(void **state)
{
	struct result r = {0};

	(void)state;
	cpumap(slot("pack:2 core:4 pu:2", NULL, "0,1"), synth("pack:1 core:2 pu:1", NULL), &r);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.n, 16);
	assert_int_not_equal(r.map[0], r.map[1]);
	for (int i = 0; i < 16; i++)
		assert_in_range(r.map[i], 0, 1);
	result_free(&r);
}

static void test_too_small(void **state)
{
	struct result r = {0};

	(void)state;
	cpumap(slot("pack:2 core:4 pu:2", NULL, "0-15"), synth("pack:1 core:4 pu:1", NULL), &r);
	assert_int_equal(r.ret, -ENOSPC);
	assert_null(r.map);
	assert_non_null(strstr(r.err, "node n2 cannot hold the slot"));
	assert_non_null(strstr(r.err, "bound to 16 CPUs (0-15) on a node of 2 packages, 8 cores, "
				      "16 PUs"));
	assert_non_null(strstr(r.err, "may use 4 CPUs (0-3) of 1 packages, 4 cores, 4 PUs"));
	/* the new slot's cpuset counts, not the node's size */
	cpumap(slot("pack:1 core:4 pu:2", NULL, "0-3"), synth("pack:1 core:4 pu:2", "0-2"), &r);
	assert_int_equal(r.ret, -ENOSPC);
	assert_non_null(strstr(r.err, "may use 3 CPUs (0-2)"));
}

static void test_bad(void **state)
{
	json_t *a = json_pack("{s:[i, i, i], s:[i, i]}", "cpumap", -1, 0, 1, "cpuall", 0, 1);
	int *map = NULL, *all = NULL;
	size_t n, nall;
	struct result r = {0};

	(void)state;
	assert_int_equal(topo_args_map(a, &map, &n, &all, &nall), 0);
	assert_int_equal(n, 3);
	assert_int_equal(map[0], -1);
	assert_int_equal(map[2], 1);
	assert_int_equal(nall, 2);
	free(map);
	free(all);
	json_object_set_new(a, "cpumap", json_pack("[i]", 5000));
	assert_int_equal(topo_args_map(a, &map, &n, &all, &nall), -EINVAL);
	assert_null(map);
	json_decref(a);
	cpumap(json_pack("{s:[i]}", "pu_os", 0), synth("pack:1 core:2 pu:1", NULL), &r);
	assert_int_equal(r.ret, -EINVAL);
	assert_string_equal(r.err, "bad checkpoint's topology");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_same_shape),
		cmocka_unit_test(test_same_shape_renumbered),
		cmocka_unit_test(test_other_shape),
		cmocka_unit_test(test_distinct),
		cmocka_unit_test(test_other_cpuset),
		cmocka_unit_test(test_unbound_share),
		cmocka_unit_test(test_too_small),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
