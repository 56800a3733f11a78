// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One process's identity and context: pid/ppid/pgid/sid, zombie status,
 * credentials, rlimits, umask, cwd, comm, personality, parent-death signal.
 * Restore: the tree is forked by pstree.c's plan (run_plan), zombies die
 * again, and the credentials are handed to the restorer (fill_creds).
 */
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "task: "
#include "fsident.h"
#include "image-load.h"
#include "internal.h"
#include "log.h"
#include "task.h"

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

/* Ids, groups, capabilities, no_new_privs and limits of a running task (owner.c). */
int task_read_creds(pid_t pid, struct cr_task_rec *rec)
{
	int ret = parse_status(pid, rec);

	return ret ? ret : read_limits(pid, rec);
}

/* cwd and root: paths that must lead back to them, seen from the tree's root (fsident.c). */
static int dump_task_fs(pid_t root, struct cr_task *t, struct cr_task_rec *rec)
{
	static const char *const what[2] = {"working directory", "root directory"};
	char *path[2] = {rec->cwd, rec->root}, link[64];
	struct cr_fident *id[2] = {&rec->cwd_id, &rec->root_id};
	struct stat st;
	int ret = 0;

	for (int i = 0; i < 2 && !ret; i++) {
		snprintf(link, sizeof(link), "/proc/%d/%s", t->pid, i ? "root" : "cwd");
		ret = proc_readlink(path[i], CR_PATH_LEN, "%s", link);
		if (!ret && stat(link, &st) < 0)
			ret = -errno;
		if (ret) {
			errno = -ret;
			pr_perror("Can't read the %s of task %d", what[i], t->pid);
			return ret;
		}
		ret = fident_dump(root, t->pid, what[i], path[i], &st, 0, id[i]);
	}
	/* the root the restarter has is "/" by definition */
	if (!ret && !strcmp(rec->root, "/"))
		rec->root_id.how = CR_FIDENT_NONE;
	return ret;
}

static int dump_task_misc(struct cr_task *t, struct cr_task_rec *rec)
{
	char *s;
	int ret;

	ret = read_limits(t->pid, rec);
	if (ret)
		return ret;
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
		if (!ret)
			ret = dump_task_fs(f->root, t, rec);
	}
	if (!ret)
		ret = cr_img_write(img, CR_REC_TASK, rec, sizeof(*rec));
	free(rec);
	return ret;
}

/* ---- restore: the tree, by pstree.c's plan ---- */

/* Stand-ins for ids outside our pid namespace: above any pid_max (2^22). */
#define OUTSIDE_SID  ((1 << 22) + 1)
#define OUTSIDE_PGID ((1 << 22) + 2)

int build_plan(struct cr_restored *r)
{
	struct rst_image *img = &r->img;
	struct pstree_task *pt = calloc(img->ntasks, sizeof(*pt));
	struct pstree_env env = {
		.outside_sid = img->hdr.root_sid,
		.outside_pgid = img->hdr.root_pgid,
		.new_pidns = r->new_pidns,
	};
	int ret;

	if (!pt)
		return -ENOMEM;
	/*
	 * A session or group whose leader lives outside our pid namespace reads
	 * as 0: give it a stand-in id no pid can have; it is the restarter's.
	 */
	if (!env.outside_sid)
		env.outside_sid = OUTSIDE_SID;
	if (!env.outside_pgid)
		env.outside_pgid = OUTSIDE_PGID;
	r->outside_pgid = env.outside_pgid;
	for (size_t i = 0; i < img->ntasks; i++) {
		const struct cr_task_rec *t = img->tasks[i].rec;

		pt[i] = (struct pstree_task){t->pid, t->ppid, t->pgid ? t->pgid : OUTSIDE_PGID,
					     t->sid ? t->sid : OUTSIDE_SID,
					     !!(t->flags & CR_TASK_ZOMBIE)};
	}
	ret = pstree_plan_build(pt, img->ntasks, &env, &r->plan);
	if (!ret)
		ret = pstree_plan_verify(pt, img->ntasks, &env, &r->plan);
	free(pt);
	return ret;
}

pid_t clone_pid(pid_t pid, bool clone_parent, bool new_pidns, int exit_signal)
{
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
		uint64_t set_tid, set_tid_size, cgroup;
	} ca;
	uint64_t tid = pid;

	memset(&ca, 0, sizeof(ca));
	ca.flags = (clone_parent ? CLONE_PARENT : 0) | (new_pidns ? CLONE_NEWPID : 0);
	/* with CLONE_PARENT the kernel takes the caller's own and wants 0 here */
	ca.exit_signal = clone_parent ? 0 : exit_signal;
	if (!new_pidns && pid > 0) {
		ca.set_tid = (uint64_t)&tid;
		ca.set_tid_size = 1;
	}
	return syscall(SYS_clone3, &ca, sizeof(ca));
}

/* Placeholder ghosts: their real pid, by plan pid, for whoever reaps them. */
static void placeholder_note(struct rst_ctl *ctl, pid_t plan_pid, pid_t real)
{
	for (int i = 0; i < RST_MAX_PLACEHOLDERS; i++)
		if (!ctl->placeholders[i][0]) {
			ctl->placeholders[i][1] = real;
			__atomic_store_n(&ctl->placeholders[i][0], plan_pid, __ATOMIC_SEQ_CST);
			return;
		}
}

static pid_t placeholder_pid(struct rst_ctl *ctl, pid_t plan_pid)
{
	for (int i = 0; i < RST_MAX_PLACEHOLDERS; i++)
		if (ctl->placeholders[i][0] == plan_pid)
			return ctl->placeholders[i][1];
	return plan_pid;
}

/* Before ghosts exit: orphans must find their subreaper already in place. */
static void set_subreaper(struct cr_restored *r, pid_t me)
{
	const struct rst_img_task *t = find_img_task(&r->img, me);

	if (t && t->rec->child_subreaper)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
}

/* What the new process's parent will be told at its exit (not SIGCHLD for all). */
static int exit_signal_of(struct cr_restored *r, const struct pstree_step *st)
{
	const struct rst_img_task *t =
		st->ghost || st->placeholder ? NULL : find_img_task(&r->img, st->pid);

	return t && t->rec->exit_signal >= 0 && t->rec->exit_signal < 65 ? t->rec->exit_signal
									 : SIGCHLD;
}

void fail_plan(struct rst_ctl *ctl, int code)
{
	__atomic_store_n(&ctl->plan_error, code, __ATOMIC_SEQ_CST);
}

/*
 * Run the plan's steps whose actor is @me, in order, waiting for the
 * others'. Returns the pid the caller now is (after a FORK the child goes
 * on as the new pid), or -errno.
 */
pid_t run_plan(struct cr_restored *r, pid_t me)
{
	struct rst_ctl *ctl = r->ctl;
	struct timespec tick = {0, 100L * 1000 * 1000};

	for (;;) {
		int32_t s = __atomic_load_n(&ctl->plan_step, __ATOMIC_SEQ_CST);
		const struct pstree_step *st;
		pid_t got = 0;

		if (ctl->plan_error) {
			if (me != 0)
				_exit(1); /* a task being built: never return into the restarter */
			return ctl->plan_error;
		}
		if ((size_t)s >= r->plan.nsteps)
			return me;
		st = &r->plan.steps[s];
		if (st->actor != me) {
			futex(&ctl->plan_step, FUTEX_WAIT, s, &tick);
			continue;
		}
		switch (st->kind) {
		case PSTREE_FORK:
			/* a placeholder ghost takes any free pid: its plan pid is a label */
			got = clone_pid(st->placeholder ? 0 : st->pid, st->clone_parent,
					r->new_pidns && me == 0 && st->pid == 1,
					exit_signal_of(r, st));
			if (got == 0) {
				me = st->pid; /* the child: wait for its own steps */
				set_subreaper(r, me);
				continue;
			}
			if (me == 0 && got > 0)
				r->child = got;
			if (got > 0 && st->placeholder)
				placeholder_note(ctl, st->pid, got);
			if (got < 0 || (got != st->pid && !st->placeholder &&
					!(r->new_pidns && st->pid == 1))) {
				pr_perror("Can't create task %d (got %d)", st->pid, got);
				if (errno == EEXIST)
					pr_err("Pid %d is in use: restore into a fresh pid "
					       "namespace "
					       "(--pidns) or free it\n",
					       st->pid);
				fail_plan(ctl, errno ? -errno : -EEXIST);
				if (me != 0)
					_exit(1);
				return -EEXIST;
			}
			break;
		case PSTREE_SETSID:
			got = setsid() < 0 ? -errno : 0;
			break;
		case PSTREE_SETPGID:
			got = setpgid(0,
				      st->pgid == r->outside_pgid ? r->restarter_pgid : st->pgid);
			got = got < 0 ? -errno : 0;
			break;
		case PSTREE_EXIT:
			__atomic_store_n(&ctl->plan_step, s + 1, __ATOMIC_SEQ_CST);
			futex(&ctl->plan_step, FUTEX_WAKE, INT32_MAX, NULL);
			_exit(0);
		case PSTREE_REAP:
			got = waitpid(placeholder_pid(ctl, st->pid), NULL, 0) < 0 ? -errno : 0;
			break;
		}
		if (got < 0 && st->kind != PSTREE_FORK) {
			pr_err("Task %d: tree step %d (kind %d) failed: %s\n", me, s, st->kind,
			       strerror(-got));
			fail_plan(ctl, got);
			if (me != 0)
				_exit(1);
			return got;
		}
		__atomic_store_n(&ctl->plan_step, s + 1, __ATOMIC_SEQ_CST);
		futex(&ctl->plan_step, FUTEX_WAKE, INT32_MAX, NULL);
	}
}

/* ---- restore: zombies, limits, credentials, context ---- */

static bool signal_pending_in_image(const struct rst_img_task *t, int sig)
{
	for (size_t k = 0; t && k < t->nsigsets; k++)
		for (uint32_t n = 0; n < t->sigsets[k].nsig; n++)
			if (*(int32_t *)((char *)t->sigsets[k].info + n * 128) == sig)
				return true;
	return false;
}

/*
 * Children that are zombies in the image must be dead before we go on, and
 * the signals their deaths (and reaped ghosts') sent us are not the
 * image's: take them back unless the image had them pending.
 */
void settle_zombie_children(struct cr_restored *r, pid_t me)
{
	struct rst_img_task *t = find_img_task(&r->img, me);
	struct timespec zero = {0, 0};
	siginfo_t si;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < r->img.ntasks; i++) {
		const struct cr_task_rec *c = r->img.tasks[i].rec;

		if (c->ppid != me || !(c->flags & CR_TASK_ZOMBIE))
			continue;
		waitid(P_PID, c->pid, &si, WEXITED | WNOWAIT | __WALL);
		if (c->exit_signal > 0 && c->exit_signal < 65)
			sigaddset(&set, c->exit_signal);
	}
	for (int sig = 1; sig < 65; sig++)
		if (sigismember(&set, sig) == 1 && signal_pending_in_image(t, sig))
			sigdelset(&set, sig);
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
}

__attribute__((noreturn)) void become_zombie(const struct cr_task_rec *tr)
{
	int st = tr->exit_status;

	if (WIFSIGNALED(st)) {
		struct rlimit none = {0, 0};
		sigset_t set;

		setrlimit(RLIMIT_CORE, &none);
		prctl(PR_SET_DUMPABLE, 0);
		signal(WTERMSIG(st), SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, WTERMSIG(st));
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		kill(getpid(), WTERMSIG(st));
	}
	_exit(WEXITSTATUS(st));
}

/* Before any task exists: limits this machine can't grant are refused. */
int check_rlimits(struct rst_image *img)
{
	for (size_t i = 0; i < img->ntasks; i++) {
		const struct cr_task_rec *t = img->tasks[i].rec;

		for (int res = 0; !(t->flags & CR_TASK_ZOMBIE) && res < CR_NRLIMITS; res++) {
			struct rlimit now;

			if (getrlimit(res, &now) || t->rlim[res].max <= now.rlim_max)
				continue;
			pr_err("Task %d had rlimit %d up to %llu, above this machine's %llu "
			       "(raising "
			       "it needs CAP_SYS_RESOURCE)\n",
			       t->pid, res, (unsigned long long)t->rlim[res].max,
			       (unsigned long long)now.rlim_max);
			return -EPERM;
		}
	}
	return 0;
}

void fill_creds(struct rst_image *img, struct rst_img_task *t, struct rst_task *rt)
{
	const struct cr_task_rec *tr = t->rec;

	memcpy(rt->uid, tr->uid, sizeof(rt->uid));
	memcpy(rt->gid, tr->gid, sizeof(rt->gid));
	rt->ngroups = tr->ngroups;
	memcpy(rt->groups, tr->groups, sizeof(rt->groups));
	rt->pdeathsig = tr->pdeathsig;
	rt->set_creds = !(img->skip & CR_SKIP_CREDS);
	rt->cap_inh = tr->cap_inh;
	rt->cap_prm = tr->cap_prm;
	rt->cap_eff = tr->cap_eff;
	rt->cap_bnd = tr->cap_bnd;
	rt->cap_amb = tr->cap_amb;
	rt->securebits = tr->securebits;
	rt->no_new_privs = tr->no_new_privs;
	rt->dumpable = tr->dumpable;
	_Static_assert(sizeof(rt->rlim) == sizeof(tr->rlim), "rlimits layout");
	memcpy(rt->rlim, tr->rlim, sizeof(rt->rlim));
	if (!(img->skip & RST_SKIP_ITIMERS))
		memcpy(rt->itimer, tr->itimer, sizeof(rt->itimer));
}

/* In the task, before the restorer: fs context and limits. */
int restore_task_misc(struct rst_image *img, struct rst_img_task *t)
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
