// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The owner policy at restore (owner-act.h): what the restarter does on the
 * owner's behalf for the kinds of state (unix socket names, inotify
 * watches, SysV objects), done with the owner's ids and no capability, in
 * the calling thread only.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "owner: "
#include "log.h"
#include "owner-act.h"

bool owner_has_gid(const struct cr_owner *o, uint32_t gid)
{
	if (gid == o->gid)
		return true;
	for (size_t i = 0; i < o->ngroups; i++)
		if (o->groups[i] == gid)
			return true;
	return false;
}

static int caps(int op, uint32_t eff[2])
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {{0}};

	if (op == SYS_capset) {
		if (syscall(SYS_capget, &h, d) < 0)
			return -errno;
		d[0].effective = eff[0];
		d[1].effective = eff[1];
		return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
	}
	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	eff[0] = d[0].effective;
	eff[1] = d[1].effective;
	return 0;
}

/* Raw syscalls: glibc's wrappers would change every thread of the process. */
static int save_ids(struct owner_act *s)
{
	uid_t r, e, sv;
	gid_t gr, ge, gs;

	if (syscall(SYS_getresuid, &r, &e, &sv) < 0 || syscall(SYS_getresgid, &gr, &ge, &gs) < 0)
		return -errno;
	s->euid = e;
	s->egid = ge;
	s->fsuid = (uid_t)syscall(SYS_setfsuid, -1);
	s->fsgid = (gid_t)syscall(SYS_setfsgid, -1);
	s->dumpable = prctl(PR_GET_DUMPABLE);
	s->ngroups = syscall(SYS_getgroups, 0, NULL);
	if (s->ngroups < 0)
		return -errno;
	s->groups = calloc(s->ngroups + 1, sizeof(gid_t));
	if (!s->groups)
		return -ENOMEM;
	if (syscall(SYS_getgroups, s->ngroups, s->groups) < 0)
		return -errno;
	return caps(SYS_capget, s->cap_eff);
}

int owner_act_begin(const struct cr_owner *o, struct owner_act *s)
{
	uint32_t none[2] = {0, 0};
	int ret;

	*s = (struct owner_act){0};
	if (!o)
		return 0;
	ret = save_ids(s);
	if (ret) {
		free(s->groups);
		s->groups = NULL;
		errno = -ret;
		pr_perror("Can't read the restarter's own ids");
		return ret;
	}
	s->on = true;
	if (syscall(SYS_setgroups, o->ngroups, o->groups) < 0 ||
	    syscall(SYS_setresgid, -1, o->gid, -1) < 0 ||
	    syscall(SYS_setresuid, -1, o->uid, -1) < 0 || caps(SYS_capset, none)) {
		ret = -errno;
		pr_perror("Can't take the ids of uid %u", (unsigned)o->uid);
		owner_act_end(s);
		return ret;
	}
	return 0;
}

void owner_act_end(struct owner_act *s)
{
	if (!s->on)
		return;
	/* euid first: back to root, the other calls are allowed again */
	if (syscall(SYS_setresuid, -1, s->euid, -1) < 0 || caps(SYS_capset, s->cap_eff) ||
	    syscall(SYS_setresgid, -1, s->egid, -1) < 0 ||
	    syscall(SYS_setgroups, s->ngroups, s->groups) < 0)
		pr_perror("Can't take the restarter's own ids back");
	(void)syscall(SYS_setfsgid, s->fsgid);
	(void)syscall(SYS_setfsuid, s->fsuid);
	/* a change of euid made us undumpable: that would reach the tasks we fork */
	if (s->dumpable >= 0)
		prctl(PR_SET_DUMPABLE, s->dumpable);
	free(s->groups);
	s->groups = NULL;
	s->on = false;
}

pid_t owner_holder(const struct rst_image *img, uint32_t kind, uint64_t obj_id, int *fd)
{
	for (size_t f = 0; f < img->nfiles; f++) {
		const struct cr_file_rec *rec = img->files[f].rec;

		if (rec->kind != kind || rec->obj_id != obj_id)
			continue;
		for (size_t i = 0; i < img->ntasks; i++)
			for (size_t k = 0; k < img->tasks[i].nfds; k++)
				if (img->tasks[i].fds[k].file_id == rec->id) {
					*fd = img->tasks[i].fds[k].fd;
					return img->tasks[i].rec->pid;
				}
	}
	*fd = -1;
	return 0;
}
