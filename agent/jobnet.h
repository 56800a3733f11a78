/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The job network (jobnet.c): every job container has a net namespace of its
 * own, with loopback and an interface eth0 whose address is the slot's in
 * JobNetwork. The node routes it and masquerades what leaves JobNetwork, so
 * the job reaches slurmctld, DNS and licence servers as a job script does.
 */
#ifndef CR_JOBNET_H
#define CR_JOBNET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"
struct job_peer;

/* What every job container of this node relies on: forwarding and masquerading. */
int jobnet_node_init(const struct cr_conf *conf, char *err, size_t errlen);

/*
 * Connect the net namespace of @init_pid (a new container's init) to the node:
 * a veth pair named after the job and unit (jobstat.h), @addr on its eth0, routes both ways.
 */
/*
 * The slot's host-side link goes, and its route with it, whatever still holds
 * the container's network namespace (a socket of a dead process can).
 */
void jobnet_detach(uint32_t jobid, uint32_t unit);

int jobnet_attach(uint32_t jobid, uint32_t unit, uint32_t addr, pid_t init_pid, char *err,
		  size_t errlen);

/* What the container of @init_pid is called and its eth0's address, as they are now. */
int jobnet_live(pid_t init_pid, char *host, size_t hostlen, uint32_t *addr);

/*
 * A restored slot keeps the address it had: move the container of @jobid's
 * @unit (init @init_pid) from address @from to @to, routes included.
 */
int jobnet_readdress(uint32_t jobid, uint32_t unit, pid_t init_pid, uint32_t from, uint32_t to,
		     char *err, size_t errlen);

/*
 * Routes to the job's slots on other nodes: each peer's address through its
 * node (resolved by name); a route to that address already there is another
 * job's (-EEXIST: the caller drops its own first, jobnet_routes_drop). Peers
 * on @self_node are skipped (their containers route themselves). With the
 * routes, the pairs of job addresses the node forwards (each slot here with
 * every other of the job). What was installed is written to @path for
 * jobnet_routes_drop, which deletes exactly that.
 */
int jobnet_routes(const char *path, const char *self_node, const struct job_peer *p, size_t n,
		  char *err, size_t errlen);
void jobnet_routes_drop(const char *path);

#endif
