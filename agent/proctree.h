/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Walking a process tree through /proc (proctree.c). */
#ifndef CR_PROCTREE_H
#define CR_PROCTREE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * The children of thread @tid of process @pid (/proc/PID/task/TID/children),
 * appended to @out from index @n while fewer than @max are there: the new
 * count. None (the thread is gone, or the kernel lacks the file): @n.
 */
size_t proctree_children(pid_t pid, pid_t tid, pid_t *out, size_t n, size_t max);

#endif
