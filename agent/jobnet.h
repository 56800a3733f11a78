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

/* What every job container of this node relies on: forwarding and masquerading. */
int jobnet_node_init(const struct cr_conf *conf, char *err, size_t errlen);

/* The address (host order) of a lineage's slot in JobNetwork. */
uint32_t jobnet_slot_addr(const struct cr_conf *conf, uint32_t lineage, uint32_t slot);

/*
 * Connect the net namespace of @init_pid (a new container's init) to the node:
 * a veth pair named after the job and slot, @addr on its eth0, routes both ways.
 */
int jobnet_attach(uint32_t jobid, uint32_t slot, uint32_t addr, pid_t init_pid, char *err,
		  size_t errlen);

/* What the container of @init_pid is called and its eth0's address, as they are now. */
int jobnet_live(pid_t init_pid, char *host, size_t hostlen, uint32_t *addr);

/*
 * A restored slot keeps the address it had: move the container of @jobid's
 * @slot (init @init_pid) from address @from to @to, routes included.
 */
int jobnet_readdress(uint32_t jobid, uint32_t slot, pid_t init_pid, uint32_t from, uint32_t to,
		     char *err, size_t errlen);

/*
 * Write the hosts file @to: @hostname resolving to @addr first, then the
 * lines of @from (which may be @to) but the ones an earlier call added.
 */
int jobnet_hosts(const char *from, const char *to, uint32_t addr, const char *hostname);

/*
 * The same, in place, for the file open at @fd. The container's init writes
 * its hosts file through it, never by the path /etc/hosts: a rename over the
 * node's /etc/hosts (as configuration tools do) detaches the bind mount in
 * every namespace, and /etc/hosts is then the node's own.
 */
int jobnet_hosts_fd(int fd, uint32_t addr, const char *hostname);

#endif
