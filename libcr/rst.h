/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What restore.c, which drives the steps, shares with the restore halves of the kinds */
#ifndef CR_RST_H
#define CR_RST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pstree.h"
#include "restorer/restorer.h"
#include "rst-image.h"

/*
 * The restarter's state, shared by restore.c, which drives the steps, and
 * the restore halves of the kinds (task.c runs the tree's plan).
 */
struct cr_restored {
	struct rst_image img;
	struct pstree_plan plan;
	struct rst_ctl *ctl;
	uint64_t boot, boot_size, premap_size;
	struct rst_range vdso_rt[3];
	pid_t child;	      /* our direct child: the root, or the pid namespace's init */
	pid_t outside_pgid;   /* the plan's id for the restarter's process group */
	pid_t restarter_pgid; /* which it really is */
	bool new_pidns;
	bool seized;
	bool rolled_back;	/* cr_rollback done: cr_resume cuts nothing */
	struct cr_netlock *net; /* cr_restore_opts.net_lock (netlock.h) */
};

#define THREAD_STACK   (64UL << 10)
#define ALIGN_UP(x, a) (((x) + (a)-1) & ~((uint64_t)(a)-1))

static inline long futex(int32_t *uaddr, int op, int val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

/* The restorer's arguments, built in a task's bootstrap area. */
struct arg_area {
	uint8_t *cur, *end;
};

static inline void *area_take(struct arg_area *a, size_t len, size_t align)
{
	uint8_t *p = (uint8_t *)ALIGN_UP((uint64_t)a->cur, align);

	if (p + len > a->end)
		return NULL;
	a->cur = p + len;
	return p;
}

#endif /* CR_RST_H */
