/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The owner policy (struct cr_owner in cr.h): its checks on each side (owner.c). */
#ifndef CR_OWNER_H
#define CR_OWNER_H

#include "internal.h"
#include "rst-image.h"

/* One task's ids, capabilities and limits against the owner's; -EPERM, logged. */
int owner_check_task(const struct cr_owner *o, const struct cr_task_rec *t, pid_t pid);
/* Every task of the image, its root, cwd and executable; -EPERM, logged. */
int owner_check_image(const struct cr_owner *o, const struct rst_image *img);
/*
 * A frozen tree: with or without @o (NULL), each task in our user namespace
 * and without seccomp (-ENOTSUP); with @o, each task within the owner's
 * (-EPERM). Logged.
 */
int owner_check_frozen(const struct cr_owner *o, const struct cr_frozen *f);

#endif /* CR_OWNER_H */
