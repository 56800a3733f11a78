/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A job's container and its init (container.c), created by the job's monitor. */
#ifndef CR_CONTAINER_H
#define CR_CONTAINER_H

#include <sys/types.h>

#include "conf.h"
#include "jobstat.h"

struct job_peer;

/*
 * The container's init (a child of the caller, a subreaper) and the socket to
 * it; @hosts is the file its /etc/hosts will be (written here: the job's
 * @npeers slots, this one, ji->slot, first; just this one when npeers is 1).
 * Its net namespace is connected to the node's (jobnet.h) before it returns.
 * On a non-batch slot the init starts the slot root (@conf's LaunchAgent).
 */
int container_create(const struct cr_job *ji, const struct cr_conf *conf, const char *hosts,
		     const struct job_peer *peers, size_t npeers, int *ctl_fd, pid_t *init_pid,
		     char *err, size_t errlen);

#endif
