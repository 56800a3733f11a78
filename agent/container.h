/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A job's container and its init (container.c), created by the job's monitor. */
#ifndef CR_CONTAINER_H
#define CR_CONTAINER_H

#include <sys/types.h>

#include "conf.h"
#include "jobstat.h"

/*
 * The container's init (a child of the caller, a subreaper) and the socket to
 * it; @hosts is the file its /etc/hosts will be (written here). Its net
 * namespace is connected to the node's (jobnet.h) before it returns. On a
 * non-batch slot the init starts the slot root (@conf's LaunchAgent).
 */
int container_create(const struct cr_job *ji, const struct cr_conf *conf, const char *hosts,
		     int *ctl_fd, pid_t *init_pid, char *err, size_t errlen);

#endif
