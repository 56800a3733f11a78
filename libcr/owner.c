// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The owner policy (struct cr_owner in cr.h): a tree checkpointed or
 * restored on a user's behalf never holds more than that user. One set of
 * rules for a task's ids, capabilities and limits (owner_check_task), asked
 * by cr_freeze of the running tasks and by cr_restore of the image's, before
 * any task is created. The dump side also refuses, with or without a policy,
 * what a restore could not give back: another user namespace, seccomp.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "owner: "
#include "log.h"
#include "owner-act.h"
#include "owner.h"
#include "task.h"

#define SECBITS_DEFINED 0xffu /* NOROOT .. NO_CAP_AMBIENT_RAISE_LOCKED */

static const char *const id_names[4] = {"real", "effective", "saved", "fs"};
static const char *const rlim_names[CR_NRLIMITS] = {
	"CPU",	   "FSIZE", "DATA",  "STACK",	   "CORE",     "RSS",  "NPROC",	 "NOFILE",
	"MEMLOCK", "AS",    "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME",
};

_Static_assert(sizeof(((struct cr_owner *)0)->rlim) / sizeof(struct rlimit) == CR_NRLIMITS,
	       "the owner's limits are the image's");

static int check_ids(const struct cr_owner *o, const struct cr_task_rec *t, pid_t pid)
{
	for (int i = 0; i < 4; i++)
		if (t->uid[i] != o->uid) {
			pr_err("Task %d: uid[%d] (%s) is %u, the job's owner is %u\n", pid, i,
			       id_names[i], t->uid[i], (unsigned)o->uid);
			return -EPERM;
		}
	for (int i = 0; i < 4; i++)
		if (!owner_has_gid(o, t->gid[i])) {
			pr_err("Task %d: gid[%d] (%s) is %u, not a group of the job's owner %u\n",
			       pid, i, id_names[i], t->gid[i], (unsigned)o->uid);
			return -EPERM;
		}
	for (uint32_t i = 0; i < t->ngroups && i < CR_MAX_GROUPS; i++)
		if (!owner_has_gid(o, t->groups[i])) {
			pr_err("Task %d: supplementary group %u is not a group of the job's owner "
			       "%u\n",
			       pid, t->groups[i], (unsigned)o->uid);
			return -EPERM;
		}
	return 0;
}

static int check_caps(const struct cr_owner *o, const struct cr_task_rec *t, pid_t pid)
{
	const struct {
		const char *name;
		uint64_t set;
	} sets[] = {{"permitted", t->cap_prm},
		    {"effective", t->cap_eff},
		    {"inheritable", t->cap_inh},
		    {"ambient", t->cap_amb}};

	for (size_t i = 0; i < ARRAY_SIZE(sets); i++)
		if (sets[i].set) {
			pr_err("Task %d: its %s capabilities are %#llx, the job's owner has none\n",
			       pid, sets[i].name, (unsigned long long)sets[i].set);
			return -EPERM;
		}
	if (t->cap_bnd & ~o->cap_bnd) {
		pr_err("Task %d: its bounding set %#llx has %#llx beyond the job's %#llx\n", pid,
		       (unsigned long long)t->cap_bnd,
		       (unsigned long long)(t->cap_bnd & ~o->cap_bnd),
		       (unsigned long long)o->cap_bnd);
		return -EPERM;
	}
	if (t->securebits & ~SECBITS_DEFINED) {
		pr_err("Task %d: securebits %#x has bits the kernel does not define\n", pid,
		       t->securebits);
		return -EPERM;
	}
	if (o->no_new_privs && !t->no_new_privs) {
		pr_err("Task %d: no_new_privs is off, the job's step has it on\n", pid);
		return -EPERM;
	}
	return 0;
}

/* Against the hard limit only: a user may raise a soft limit up to its hard one. */
static int check_limits(const struct cr_owner *o, const struct cr_task_rec *t, pid_t pid)
{
	for (int r = 0; r < CR_NRLIMITS; r++) {
		uint64_t max = o->rlim[r].rlim_max;

		if (t->rlim[r].max <= max && t->rlim[r].cur <= max)
			continue;
		pr_err("Task %d: rlimit %s (%s) is %llu, above the job's hard limit %llu\n", pid,
		       rlim_names[r], t->rlim[r].max > max ? "hard" : "soft",
		       (unsigned long long)(t->rlim[r].max > max ? t->rlim[r].max : t->rlim[r].cur),
		       (unsigned long long)max);
		return -EPERM;
	}
	return 0;
}

int owner_check_task(const struct cr_owner *o, const struct cr_task_rec *t, pid_t pid)
{
	int ret = check_ids(o, t, pid);

	if (!ret)
		ret = check_caps(o, t, pid);
	return ret ? ret : check_limits(o, t, pid);
}

int cr_owner_from_task(pid_t pid, struct cr_owner *o)
{
	struct cr_task_rec *rec = calloc(1, sizeof(*rec));
	int ret;

	if (!rec)
		return -ENOMEM;
	ret = task_read_creds(pid, rec);
	if (!ret) {
		o->cap_bnd = rec->cap_bnd;
		o->no_new_privs = rec->no_new_privs;
		for (int r = 0; r < CR_NRLIMITS; r++) {
			o->rlim[r].rlim_cur = rec->rlim[r].cur;
			o->rlim[r].rlim_max = rec->rlim[r].max;
		}
	}
	free(rec);
	return ret;
}

/* ---- restore: the image, before any task exists ---- */

/*
 * In a child with the owner's fs ids and groups, as the restored task will
 * be: its cwd can be entered and its executable's path resolves. The
 * restarter itself may be root (cr) or the owner already (crd).
 */
static void paths_child(const struct cr_owner *o, const struct rst_image *img)
{
	/* setfs[ug]id return the previous id, never an error: read back with -1 */
	if (syscall(SYS_setgroups, o->ngroups, o->groups) < 0 ||
	    ((void)syscall(SYS_setfsgid, o->gid), (gid_t)syscall(SYS_setfsgid, -1) != o->gid) ||
	    ((void)syscall(SYS_setfsuid, o->uid), (uid_t)syscall(SYS_setfsuid, -1) != o->uid)) {
		pr_perror("Can't take the fs ids of uid %u to check paths", (unsigned)o->uid);
		_exit(2);
	}
	for (size_t i = 0; i < img->ntasks; i++) {
		const struct rst_img_task *t = &img->tasks[i];
		int fd;

		if (t->rec->flags & CR_TASK_ZOMBIE)
			continue;
		if (chdir(t->rec->cwd) < 0) {
			pr_perror("Task %d: its cwd %s can't be entered by the job's owner %u",
				  t->rec->pid, t->rec->cwd, (unsigned)o->uid);
			_exit(1);
		}
		if (!t->mm || !t->mm->exe[0])
			continue;
		fd = open(t->mm->exe, O_PATH | O_CLOEXEC);
		if (fd < 0) {
			pr_perror(
				"Task %d: its executable %s can't be reached by the job's owner %u",
				t->rec->pid, t->mm->exe, (unsigned)o->uid);
			_exit(1);
		}
		close(fd);
	}
	_exit(0);
}

static int check_paths(const struct cr_owner *o, const struct rst_image *img)
{
	pid_t pid = fork();
	int status;

	if (pid < 0) {
		pr_perror("Can't fork to check the image's paths");
		return -errno;
	}
	if (pid == 0)
		paths_child(o, img);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			pr_perror("Can't wait for the path check");
			return -errno;
		}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPERM;
}

int owner_check_image(const struct cr_owner *o, const struct rst_image *img)
{
	for (size_t i = 0; i < img->ntasks; i++) {
		const struct cr_task_rec *t = img->tasks[i].rec;
		int ret;

		if (t->flags & CR_TASK_ZOMBIE)
			continue; /* it only dies again: its ids are never used */
		ret = owner_check_task(o, t, t->pid);
		if (ret)
			return ret;
		if (t->root[0] && strcmp(t->root, "/")) {
			pr_err("Task %d: its root is %s, not /: a chroot is not restored for the "
			       "job's owner\n",
			       t->pid, t->root);
			return -EPERM;
		}
	}
	return check_paths(o, img);
}

/* ---- dump: the frozen tree, before anything is injected ---- */

static int check_userns(const struct cr_task *t, const char *ours)
{
	char ns[64];
	int ret = proc_readlink(ns, sizeof(ns), "/proc/%d/ns/user", t->pid);

	if (ret) {
		pr_err("Can't read the user namespace of task %d: %s\n", t->pid, strerror(-ret));
		return ret;
	}
	if (strcmp(ns, ours)) {
		pr_err("Task %d: it runs in user namespace %s, not the checkpointer's %s: its ids "
		       "and capabilities there can't be restored\n",
		       t->pid, ns, ours);
		return -ENOTSUP;
	}
	return 0;
}

/* Seccomp is per thread; the filter is not saved and would meet the injected syscalls. */
static int check_seccomp(const struct cr_task *t)
{
	for (size_t k = 0; k < t->nthreads; k++) {
		char *st = proc_read_file("/proc/%d/task/%d/status", t->pid, t->threads[k].tid);
		char val[32];
		int mode;

		if (!st || proc_status_field(st, "Seccomp", val, sizeof(val))) {
			free(st);
			continue; /* a kernel without seccomp, or the thread is gone */
		}
		free(st);
		mode = atoi(val);
		if (mode) {
			pr_err("Task %d: thread %d has %s: seccomp filters are not checkpointed\n",
			       t->pid, t->threads[k].tid,
			       mode == 1 ? "seccomp strict mode" : "a seccomp filter");
			return -ENOTSUP;
		}
	}
	return 0;
}

static int check_running_task(const struct cr_owner *o, const struct cr_task *t)
{
	struct cr_task_rec *rec;
	int ret;

	if (!o)
		return 0;
	rec = calloc(1, sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	ret = task_read_creds(t->pid, rec);
	if (!ret)
		ret = owner_check_task(o, rec, t->pid);
	free(rec);
	return ret;
}

int owner_check_frozen(const struct cr_owner *o, const struct cr_frozen *f)
{
	char ours[64];
	int ret = proc_readlink(ours, sizeof(ours), "/proc/self/ns/user");

	if (ret) {
		pr_err("Can't read our own user namespace: %s\n", strerror(-ret));
		return ret;
	}
	for (size_t i = 0; i < f->ntasks && !ret; i++) {
		const struct cr_task *t = &f->tasks[i];

		if (t->zombie)
			continue;
		ret = check_userns(t, ours);
		if (!ret)
			ret = check_seccomp(t);
		if (!ret)
			ret = check_running_task(o, t);
	}
	return ret;
}
