/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A task: ids, the tree, zombies, credentials, limits and the rest of its context (task.c). */
#ifndef CR_TASK_H
#define CR_TASK_H

#include <stdbool.h>
#include <sys/types.h>

#include "internal.h"
#include "rst.h"

int dump_task(struct cr_img *img, struct cr_frozen *f, struct cr_task *t);
int task_read_creds(pid_t pid, struct cr_task_rec *rec);

int build_plan(struct cr_restored *r);
pid_t clone_pid(pid_t pid, bool clone_parent, bool new_pidns, int exit_signal);
pid_t run_plan(struct cr_restored *r, pid_t me);
void fail_plan(struct rst_ctl *ctl, int code);
void settle_zombie_children(struct cr_restored *r, pid_t me);
__attribute__((noreturn)) void become_zombie(const struct cr_task_rec *tr);
int check_rlimits(struct rst_image *img);
void fill_creds(struct rst_image *img, struct rst_img_task *t, struct rst_task *rt);
int restore_task_misc(struct rst_image *img, struct rst_img_task *t);

#endif /* CR_TASK_H */
