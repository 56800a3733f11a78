// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One process's identity and context: pid/ppid/pgid/sid, zombie status,
 * credentials, rlimits, umask, cwd, comm, personality, parent-death signal.
 * Restored in restore.c (before the restorer) and by the restorer (creds).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "task: "
#include "log.h"
#include "internal.h"
#include "restore.h"

static int parse_ids(const char *status, const char *key, uint32_t ids[4])
{
	char val[128];

	if (proc_status_field(status, key, val, sizeof(val)) ||
	    sscanf(val, "%u %u %u %u", &ids[0], &ids[1], &ids[2], &ids[3]) != 4)
		return -EINVAL;
	return 0;
}

static int parse_status(pid_t pid, struct cr_task_rec *rec)
{
	char *status = proc_read_file("/proc/%d/status", pid);
	char val[1024], *tok, *save = NULL;
	int ret = -EINVAL;

	if (!status) {
		pr_perror("Can't read status of task %d", pid);
		return -ESRCH;
	}
	if (parse_ids(status, "Uid", rec->uid) || parse_ids(status, "Gid", rec->gid))
		goto out;
	if (!proc_status_field(status, "Umask", val, sizeof(val)))
		rec->umask = strtoul(val, NULL, 8);
	if (proc_status_field(status, "Groups", val, sizeof(val)))
		goto out;
	for (tok = strtok_r(val, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (rec->ngroups == CR_MAX_GROUPS) {
			pr_err("Task %d has more than %d groups\n", pid, CR_MAX_GROUPS);
			goto out;
		}
		rec->groups[rec->ngroups++] = strtoul(tok, NULL, 10);
	}
#define CAP(key, field)                                                                            \
	if (!proc_status_field(status, key, val, sizeof(val)))                                     \
		rec->field = strtoull(val, NULL, 16);
	CAP("CapInh", cap_inh);
	CAP("CapPrm", cap_prm);
	CAP("CapEff", cap_eff);
	CAP("CapBnd", cap_bnd);
	CAP("CapAmb", cap_amb);
#undef CAP
	if (!proc_status_field(status, "NoNewPrivs", val, sizeof(val)))
		rec->no_new_privs = atoi(val);
	ret = 0;
out:
	if (ret)
		pr_err("Can't parse credentials of task %d\n", pid);
	free(status);
	return ret;
}

/* What only the task itself can tell: asked by injected syscalls. */
static int dump_task_injected(struct cr_task *t, struct cr_task_rec *rec)
{
	long args[6] = {PR_GET_PDEATHSIG}, sret;
	uint64_t ip, itv[4];
	int ret, sig = 0;

	ip = t->inject_ip;
	ret = infect_syscall_out(t->pid, ip, SYS_prctl, args, 1, &sig, sizeof(sig), &sret);
	if (ret || sret < 0)
		goto err;
	rec->pdeathsig = sig;
	args[0] = PR_GET_DUMPABLE;
	ret = infect_syscall(t->pid, ip, SYS_prctl, args, &sret);
	if (ret || sret < 0)
		goto err;
	rec->dumpable = sret;
	args[0] = PR_GET_CHILD_SUBREAPER;
	ret = infect_syscall_out(t->pid, ip, SYS_prctl, args, 1, &sig, sizeof(sig), &sret);
	if (ret || sret < 0)
		goto err;
	rec->child_subreaper = sig;
	args[0] = PR_GET_SECUREBITS;
	ret = infect_syscall(t->pid, ip, SYS_prctl, args, &sret);
	if (ret || sret < 0)
		goto err;
	rec->securebits = sret;
	for (int which = 0; which < 3; which++) {
		args[0] = which;
		ret = infect_syscall_out(t->pid, ip, SYS_getitimer, args, 1, itv, sizeof(itv),
					 &sret);
		if (ret || sret < 0)
			goto err;
		memcpy(rec->itimer[which], itv, sizeof(itv));
	}
	return 0;
err:
	pr_err("Task %d: can't read its process state (%ld)\n", t->pid, ret ? ret : sret);
	return ret ? ret : (int)sret;
}

/* "unlimited" or a number */
static uint64_t limit_value(const char *s)
{
	return strncmp(s, "unlimited", 9) ? strtoull(s, NULL, 10) : RLIM_INFINITY;
}

/*
 * From /proc/PID/limits, whose rows are in RLIMIT_* order: prlimit() on
 * another user's task would need CAP_SYS_RESOURCE, which we may not have.
 */
static int read_limits(pid_t pid, struct cr_task_rec *rec)
{
	char *s = proc_read_file("/proc/%d/limits", pid), *line, *save = NULL;
	int r = 0;

	if (!s) {
		pr_perror("Can't read the limits of task %d", pid);
		return -ESRCH;
	}
	(void)strtok_r(s, "\n", &save); /* the heading */
	for (line = strtok_r(NULL, "\n", &save); line && r < CR_NRLIMITS;
	     line = strtok_r(NULL, "\n", &save), r++) {
		char soft[32], hard[32];

		/* the name column is 26 wide, then soft and hard limits */
		if (strlen(line) < 27 || sscanf(line + 26, "%31s %31s", soft, hard) != 2)
			break;
		rec->rlim[r].cur = limit_value(soft);
		rec->rlim[r].max = limit_value(hard);
	}
	free(s);
	if (r != CR_NRLIMITS) {
		pr_err("Can't parse the limits of task %d (row %d)\n", pid, r);
		return -EINVAL;
	}
	return 0;
}

static int dump_task_misc(struct cr_task *t, struct cr_task_rec *rec)
{
	char *s;
	int ret;

	ret = read_limits(t->pid, rec);
	if (ret)
		return ret;
	ret = proc_readlink(rec->cwd, sizeof(rec->cwd), "/proc/%d/cwd", t->pid);
	if (!ret)
		ret = proc_readlink(rec->root, sizeof(rec->root), "/proc/%d/root", t->pid);
	if (ret) {
		pr_err("Can't read cwd and root of task %d\n", t->pid);
		return ret;
	}
	s = proc_read_file("/proc/%d/comm", t->pid);
	if (s) {
		s[strcspn(s, "\n")] = '\0';
		snprintf(rec->comm, sizeof(rec->comm), "%s", s);
		free(s);
	}
	s = proc_read_file("/proc/%d/personality", t->pid);
	if (s) {
		rec->personality = strtoul(s, NULL, 16);
		free(s);
	}
	return dump_task_injected(t, rec);
}

int dump_task(struct cr_img *img, struct cr_frozen *f, struct cr_task *t)
{
	struct cr_task_rec *rec = calloc(1, sizeof(*rec));
	int ret;

	(void)f;
	if (!rec)
		return -ENOMEM;
	rec->pid = t->ns_pid;
	rec->ppid = t->ns_ppid;
	rec->pgid = t->ns_pgid;
	rec->sid = t->ns_sid;
	rec->nthreads = t->nthreads;
	rec->exit_signal = t->exit_signal;
	if (t->stopped)
		rec->flags |= CR_TASK_STOPPED;
	if (t->zombie) {
		rec->flags |= CR_TASK_ZOMBIE;
		rec->exit_status = t->exit_status;
		ret = 0;
	} else {
		ret = parse_status(t->pid, rec);
		if (!ret)
			ret = dump_task_misc(t, rec);
	}
	if (!ret)
		ret = cr_img_write(img, CR_REC_TASK, rec, sizeof(*rec));
	free(rec);
	return ret;
}

/* ---- restore ---- */

/* In the task, before the restorer: fs context and limits. */
int task_restore_misc(struct rst_image *img, struct rst_img_task *t)
{
	if (img->skip & CR_SKIP_MISC)
		return 0;
	umask(t->rec->umask);
	/* both paths are as seen from our root: cwd first, then the root */
	if (chdir(t->rec->cwd) < 0) {
		pr_perror("Task %d: can't change directory to %s", t->rec->pid, t->rec->cwd);
		return -errno;
	}
	if (t->rec->root[0] && strcmp(t->rec->root, "/") && chroot(t->rec->root) < 0) {
		pr_perror("Task %d: can't change root to %s", t->rec->pid, t->rec->root);
		return -errno;
	}
	if (personality(t->rec->personality) < 0) {
		pr_perror("Task %d: can't set personality %#x", t->rec->pid, t->rec->personality);
		return -errno;
	}
	return 0; /* rlimits: the restorer sets them last, when nothing more is mapped */
}
