/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A job's slots as its containers see one another: the name each slot's
 * processes know it by, its address in the job network, the node it runs on
 * now; and the containers' /etc/hosts, which resolves those names.
 */
#ifndef CR_JOBPEERS_H
#define CR_JOBPEERS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "conf.h"

struct job_peer {
	char name[64];	/* the slot's hostname (where it first ran) */
	char node[256]; /* the node it runs on now */
	uint32_t addr;	/* host order */
};

/*
 * The address (host order) of a job's slot in JobNetwork, the job's blocks
 * (jobnetreg.h) starting at @block: JNR_SLOTS slots a block.
 */
uint32_t jobpeers_slot_addr(const struct cr_conf *conf, uint32_t block, uint32_t slot);

/* A fresh job's: slot i on the allocation's node i, named after it, at its block's address. */
int jobpeers_fresh(const struct cr_conf *conf, uint32_t block, const char *nodelist,
		   struct job_peer **out, size_t *n);

/* As JSON, [[name, node, address], ...], and back (-EBADMSG: not that). */
json_t *jobpeers_json(const struct job_peer *p, size_t n);
int jobpeers_from_json(json_t *a, struct job_peer **out, size_t *n);

/*
 * The container's hosts file, written from its start through fd (never by
 * the path /etc/hosts, which a rename over the node's file detaches):
 * @self's name at its address first, every other slot's after it, then the
 * lines of the node's file (@old_fd, or the file itself) but ours.
 */
int jobpeers_hosts_fd(int fd, const struct job_peer *p, size_t n, size_t self);
int jobpeers_hosts(const char *from, const char *to, const struct job_peer *p, size_t n,
		   size_t self);

#endif
