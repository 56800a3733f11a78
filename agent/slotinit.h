/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The slot root of a non-batch slot, started by the container's init (slotinit.c). */
#ifndef CR_SLOTINIT_H
#define CR_SLOTINIT_H

#include <stddef.h>
#include <sys/types.h>

#include "jobstat.h"

/*
 * In the container's init: `@agent --slot-root` (cr-rsh) as the job's user,
 * a session leader and child subreaper with stdio on /dev/null, on a unix
 * socket made here (launch.h SLOT_SOCK_PATH, root's, 0600). Its pid, or
 * -errno with err.
 */
pid_t slot_root_start(const struct cr_job *ji, const char *agent, char *err, size_t errlen);

#endif
