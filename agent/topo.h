/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A node's CPU topology and a slot's bindings, and the CPU map of a restore (topo.c). */
#ifndef CR_TOPO_H
#define CR_TOPO_H

#include <hwloc.h>
#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * @t (loaded) as JSON, with the slot's usable CPUs @allowed (a cpulist of OS
 * indices, "0-3,8"; NULL: every PU): {"packages", "cores", "pus", "numa":
 * counts; "pu_os": the OS index of PU L#0, L#1, ...; "pu_core": the logical
 * index of each PU's core; "allowed": cpulist}. 0 or -errno with @err.
 */
int topo_describe(hwloc_topology_t t, const char *allowed, json_t **out, char *err, size_t errlen);

/*
 * This node as topo_describe says it, the slot's usable CPUs those of the
 * cpuset cgroup of @init (the container's init; its own affinity when the
 * cgroup cannot be read).
 */
int topo_node(pid_t init, json_t **out, char *err, size_t errlen);

/*
 * A checkpoint's "topology" of a slot: topo_node(@init) with "tasks" (each
 * thread of @root's tree, 512 listed at most: "pid", "tid" as the job sees
 * them, "cpus", "mems": its CPU affinity and Mems_allowed_list) and "bound"
 * (the union of the "cpus" of the threads pinned within the slot: a mask
 * other than "allowed"). NULL when it cannot be read (logged).
 */
json_t *topo_slot(pid_t init, pid_t root);

/*
 * The CPU map of a restore: for each CPU of the slot at checkpoint (@old:
 * its "topology"), the CPU here that stands in for it (@cur: topo_node()).
 * Shapes that match (packages, cores, PUs, PUs per core, NUMA nodes) with
 * every old CPU's logical PU usable here: the same logical PU. Otherwise the
 * nearest equivalent: the i-th core the slot used goes to the (i mod n)-th
 * usable core here, the j-th PU of a core to the (j mod m)-th usable PU of
 * that core; a PU already taken gives way to the next free one in logical
 * order, so the CPUs pinned threads were bound to stay distinct. Refused
 * (-ENOSPC, @err naming @node and the counts) when fewer CPUs are usable here
 * than pinned threads were bound to ("bound"); unpinned threads take whatever
 * the slot has here. *map (malloc'ed, *n entries): old OS index -> new OS
 * index, -1 for a CPU the slot did not have; *all (*nall): every usable CPU
 * here, what an unpinned thread gets.
 */
int topo_cpumap(const json_t *old, const json_t *cur, const char *node, int **map, size_t *n,
		int **all, size_t *nall, char *err, size_t errlen);

/*
 * For a restore of the slot saved as @saved ("topology", may be NULL: nothing
 * to do) into the container of @init on @node: "cpumap" and "cpuall" into
 * @req (topo_cpumap), or -errno with @err.
 */
int topo_restore_args(const json_t *saved, pid_t init, const char *node, json_t *req, char *err,
		      size_t errlen);

/* "cpumap" and "cpuall" of a restore's arguments back into arrays (malloc'ed; *n 0: none). */
int topo_args_map(const json_t *args, int **map, size_t *n, int **all, size_t *nall);

#endif
