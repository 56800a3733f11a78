/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The owner policy at restore: acting as the owner (owner-act.c), for the kinds. */
#ifndef CR_OWNER_ACT_H
#define CR_OWNER_ACT_H

#include "internal.h"
#include "rst-image.h"

/*
 * Restore actions done on the owner's behalf (unix socket names, inotify
 * watches, SysV objects): between owner_act_begin and owner_act_end the
 * calling thread alone has the owner's effective and fs ids and groups and
 * no effective capability, so the kernel checks and charges them to the
 * owner. Everything is put back at the end (fs ids, groups, capabilities,
 * dumpable) as it was, e.g. crd's own fs ids for the user. With @o NULL
 * both do nothing. begin returns 0 or -errno, logged (then nothing changed).
 */
struct owner_act {
	bool on;
	uid_t euid, fsuid;
	gid_t egid, fsgid;
	int ngroups, dumpable;
	gid_t *groups;
	uint32_t cap_eff[2];
};
int owner_act_begin(const struct cr_owner *o, struct owner_act *s);
void owner_act_end(struct owner_act *s);
/* Is @gid the owner's group, or one of its supplementary groups? */
bool owner_has_gid(const struct cr_owner *o, uint32_t gid);
/* A task and fd of the image holding a file of @kind on object @obj_id, for messages; 0, -1 if
 * none. */
pid_t owner_holder(const struct rst_image *img, uint32_t kind, uint64_t obj_id, int *fd);

#endif /* CR_OWNER_ACT_H */
