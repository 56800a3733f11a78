// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cr_freeze / cr_release: stop and hold every thread of a tree.
 *
 * Threads are held in ptrace-stop (SEIZE + INTERRUPT), so if the holder dies
 * the tree simply runs on. Without a cgroup the tree is walked and re-walked
 * until no unseized task or thread appears; with one, the cgroup is frozen
 * only while every thread is seized.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "freeze: "
#include "log.h"
#include "netlock.h"
#include "internal.h"
#include "owner.h"

/* ptrace refuses a thread that is exiting with EPERM: tell that from a real refusal */
static bool thread_exiting(pid_t tid)
{
	struct proc_stat st;

	return proc_read_stat(tid, &st) || st.state == 'Z' || st.state == 'X';
}

/*
 * With PTRACE_O_SUSPEND_SECCOMP no seccomp filter sees a syscall we inject
 * while the tree is held. It needs CAP_SYS_ADMIN and a kernel built with
 * checkpoint/restore: without them the thread is seized plainly. Either way
 * cr_freeze refuses a task with a filter before anything is injected
 * (owner.c): filters are not saved.
 */
static int seize_thread(pid_t tid)
{
	long ret = ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_SUSPEND_SECCOMP);

	if (ret < 0 && (errno == EPERM || errno == EINVAL))
		ret = ptrace(PTRACE_SEIZE, tid, 0, 0);
	if (ret < 0) {
		if (errno == ESRCH || (errno == EPERM && thread_exiting(tid)))
			return -ESRCH; /* exited meanwhile */
		pr_perror("Can't seize thread %d", tid);
		return -errno;
	}
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0) {
		pr_perror("Can't interrupt thread %d", tid);
		return -errno;
	}
	return 0;
}

/* Wait until a seized thread reports its ptrace-stop. */
int seize_wait_stop(pid_t tid)
{
	int status;

	for (;;) {
		if (waitpid(tid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			pr_perror("Can't wait for thread %d", tid);
			return -errno;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (!WIFSTOPPED(status))
			continue;
		if ((status >> 16) == PTRACE_EVENT_STOP)
			return 0;
		/* a signal-delivery stop came first: deliver it, the interrupt stays pending */
		if (ptrace(PTRACE_CONT, tid, 0, WSTOPSIG(status)) < 0) {
			pr_perror("Can't resume thread %d with signal %d", tid, WSTOPSIG(status));
			return -errno;
		}
	}
}

static struct cr_task *find_task(struct cr_frozen *f, pid_t pid)
{
	for (size_t i = 0; i < f->ntasks; i++)
		if (f->tasks[i].pid == pid)
			return &f->tasks[i];
	return NULL;
}

static bool has_thread(const struct cr_task *t, pid_t tid)
{
	for (size_t i = 0; i < t->nthreads; i++)
		if (t->threads[i].tid == tid)
			return true;
	return false;
}

/* Field @level of an "NSpid:"-style line of /proc/PID/status (0 if absent). */
static pid_t ns_field(const char *status, const char *key, int level)
{
	char val[256], *tok, *save = NULL;
	int i = 0;

	if (proc_status_field(status, key, val, sizeof(val)))
		return 0;
	for (tok = strtok_r(val, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save), i++)
		if (i == level)
			return atoi(tok);
	return 0;
}

static int ns_level_of(const char *status)
{
	char val[256], *tok, *save = NULL;
	int n = 0;

	if (proc_status_field(status, "NSpid", val, sizeof(val)))
		return 0;
	for (tok = strtok_r(val, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
		n++;
	return n ? n - 1 : 0;
}

/* The ids of @t as its tree sees them: the image is in those terms. */
static int read_ns_ids(struct cr_frozen *f, struct cr_task *t)
{
	char *st = proc_read_file("/proc/%d/status", t->pid), *pst;
	struct cr_task *parent = NULL;

	if (!st) {
		pr_perror("Can't read status of task %d", t->pid);
		return -ESRCH;
	}
	if (t->pid == f->root)
		f->ns_level = ns_level_of(st);
	t->ns_pid = ns_field(st, "NSpid", f->ns_level);
	t->ns_pgid = ns_field(st, "NSpgid", f->ns_level);
	t->ns_sid = ns_field(st, "NSsid", f->ns_level);
	free(st);
	for (size_t i = 0; i < f->ntasks; i++)
		if (f->tasks[i].pid == t->ppid)
			parent = &f->tasks[i];
	if (parent) {
		t->ns_ppid = parent->ns_pid;
	} else {
		pst = proc_read_file("/proc/%d/status", t->ppid);
		t->ns_ppid = pst ? ns_field(pst, "NSpid", f->ns_level) : 0;
		free(pst);
	}
	return t->ns_pid ? 0 : -ESRCH;
}

static pid_t ns_tid_of(struct cr_frozen *f, pid_t pid, pid_t tid)
{
	char *st = proc_read_file("/proc/%d/task/%d/status", pid, tid);
	pid_t ns = st ? ns_field(st, "NSpid", f->ns_level) : 0;

	free(st);
	return ns;
}

static int add_task(struct cr_frozen *f, pid_t pid)
{
	struct cr_task *nt = realloc(f->tasks, (f->ntasks + 1) * sizeof(*nt));
	struct proc_stat st;
	int ret;

	if (!nt)
		return -ENOMEM;
	f->tasks = nt;
	ret = proc_read_stat(pid, &st);
	if (ret == -ESRCH)
		return 0; /* reaped since its parent listed it */
	if (ret)
		return ret;
	nt = &f->tasks[f->ntasks++];
	memset(nt, 0, sizeof(*nt));
	nt->pid = pid;
	nt->ppid = st.ppid;
	nt->pgid = st.pgid;
	nt->sid = st.sid;
	nt->zombie = st.state == 'Z' || st.state == 'X';
	nt->stopped = st.state == 'T';
	nt->exit_status = st.exit_code;
	nt->exit_signal = st.exit_signal;
	return read_ns_ids(f, nt);
}

/*
 * A task whose leader could not be seized exited while we walked: it is a
 * zombie now, or gone (reaped). A leader that exited while its other threads
 * run cannot be restored.
 */
static int settle_unseized(struct cr_task *t)
{
	struct proc_stat st;

	if (t->zombie || has_thread(t, t->pid))
		return 0;
	if (t->nthreads) {
		pr_err("Task %d: its main thread exited while others run: not supported\n", t->pid);
		return -ENOTSUP;
	}
	if (proc_read_stat(t->pid, &st)) {
		t->gone = true;
	} else if (st.state == 'Z' || st.state == 'X') {
		t->zombie = true;
		t->exit_status = st.exit_code;
	}
	return 0;
}

/* Seize threads of @t not seized yet; @wait: wait for each stop now. */
static int seize_new_threads(struct cr_frozen *f, struct cr_task *t, bool wait, bool *changed)
{
	pid_t *tids;
	size_t ntids;
	int ret;

	if (t->zombie)
		return 0;
	ret = proc_threads(t->pid, &tids, &ntids);
	if (ret == -ENOENT || ret == -ESRCH)
		return settle_unseized(t); /* reaped since it was listed */
	if (ret) {
		pr_err("Can't list threads of task %d\n", t->pid);
		return ret;
	}
	for (size_t i = 0; i < ntids && !ret; i++) {
		struct cr_thread *nth;

		if (has_thread(t, tids[i]))
			continue;
		ret = seize_thread(tids[i]);
		if (ret == -ESRCH) {
			ret = 0;
			continue;
		}
		if (ret)
			break;
		if (wait && seize_wait_stop(tids[i]) == -ESRCH)
			continue;
		nth = realloc(t->threads, (t->nthreads + 1) * sizeof(*nth));
		if (!nth) {
			ret = -ENOMEM;
			break;
		}
		t->threads = nth;
		t->threads[t->nthreads].ns_tid = ns_tid_of(f, t->pid, tids[i]);
		t->threads[t->nthreads].tid = tids[i];
		t->threads[t->nthreads++].seized = true;
		*changed = true;
	}
	free(tids);
	return ret ? ret : settle_unseized(t);
}

/* One pass over the tree: seize what is new, add children. */
static int walk_once(struct cr_frozen *f, bool wait, bool *changed)
{
	int ret = 0;

	for (size_t i = 0; i < f->ntasks && !ret; i++) {
		pid_t *kids = NULL;
		size_t nkids = 0;

		ret = seize_new_threads(f, &f->tasks[i], wait, changed);
		if (ret || f->tasks[i].zombie || f->tasks[i].gone)
			continue;
		ret = proc_children(f->tasks[i].pid, &kids, &nkids);
		for (size_t k = 0; k < nkids && !ret; k++) {
			if (find_task(f, kids[k]))
				continue;
			ret = add_task(f, kids[k]);
			*changed = true;
		}
		free(kids);
	}
	return ret;
}

static int cgroup_write(const char *dir, const char *file, const char *val)
{
	char path[512];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static bool cgroup_is_v1(const char *dir)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/freezer.state", dir);
	return access(path, F_OK) == 0;
}

static int cgroup_set_frozen(const char *dir, bool frozen, unsigned int timeout_ms)
{
	bool v1 = cgroup_is_v1(dir);
	struct timespec start, now;
	int ret;

	ret = v1 ? cgroup_write(dir, "freezer.state", frozen ? "FROZEN" : "THAWED")
		 : cgroup_write(dir, "cgroup.freeze", frozen ? "1" : "0");
	if (ret) {
		pr_err("Can't %s cgroup %s: %s\n", frozen ? "freeze" : "thaw", dir, strerror(-ret));
		return ret;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		char *s = v1 ? proc_read_file("%s/freezer.state", dir)
			     : proc_read_file("%s/cgroup.events", dir);
		bool done;

		if (!s)
			return -errno;
		if (v1)
			done = !strncmp(s, frozen ? "FROZEN" : "THAWED", 6);
		else
			done = strstr(s, frozen ? "frozen 1" : "frozen 0") != NULL;
		free(s);
		if (done)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >
		    timeout_ms) {
			pr_err("Cgroup %s did not become %s in %u ms\n", dir,
			       frozen ? "frozen" : "thawed", timeout_ms);
			return -ETIMEDOUT;
		}
		usleep(1000);
	}
}

static int freeze_with_cgroup(struct cr_frozen *f, const char *cg, unsigned int timeout_ms)
{
	bool changed = true;
	int ret, ret2;

	ret = cgroup_set_frozen(cg, true, timeout_ms);
	if (ret)
		return ret;
	while (changed && !ret) {
		changed = false;
		ret = walk_once(f, false, &changed);
	}
	ret2 = cgroup_set_frozen(cg, false, timeout_ms);
	if (!ret)
		ret = ret2;
	for (size_t i = 0; i < f->ntasks && !ret; i++)
		for (size_t k = 0; k < f->tasks[i].nthreads; k++)
			if (seize_wait_stop(f->tasks[i].threads[k].tid) == -ESRCH)
				f->tasks[i].threads[k].seized = false;
	return ret;
}

static int freeze_by_walking(struct cr_frozen *f, unsigned int timeout_ms)
{
	struct timespec start, now;
	bool changed = true;
	int ret = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (changed && !ret) {
		changed = false;
		ret = walk_once(f, true, &changed);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!ret && changed && (now.tv_sec - start.tv_sec) * 1000 > timeout_ms) {
			pr_err("Tree of %d kept changing for %u ms\n", f->root, timeout_ms);
			ret = -ETIMEDOUT;
		}
	}
	return ret;
}

/* Threads and tasks that exited while the tree was being seized leave holes. */
static void drop_dead_threads(struct cr_frozen *f)
{
	size_t n = 0;

	for (size_t i = 0; i < f->ntasks; i++) {
		struct cr_task *t = &f->tasks[i];
		size_t k = 0;

		for (size_t j = 0; j < t->nthreads; j++)
			if (t->threads[j].seized)
				t->threads[k++] = t->threads[j];
		t->nthreads = k;
		if (t->gone) {
			free(t->threads);
			continue;
		}
		f->tasks[n++] = *t;
	}
	f->ntasks = n;
}

#ifdef CR_TEST_HOOKS
/*
 * Test builds only: CR_TEST_PAUSE_BEFORE_SEIZE=MS waits MS ms once the root
 * was found, before anything is seized, so that a test can end it there.
 */
static void test_pause_before_seize(void)
{
	const char *env = getenv("CR_TEST_PAUSE_BEFORE_SEIZE");
	long ms = env ? strtol(env, NULL, 10) : 0;

	if (ms > 0 && ms < 60000)
		nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
}
#else
static void test_pause_before_seize(void)
{
}
#endif

/*
 * The root must be a live process: not gone, a zombie, or a thread of
 * another (its /proc entry exists, hidden): -ESRCH, "no such process".
 */
static int check_root(const struct cr_frozen *f, pid_t root)
{
	char *st = proc_read_file("/proc/%d/status", root), tgid[32] = "";

	if (st)
		proc_status_field(st, "Tgid", tgid, sizeof(tgid));
	free(st);
	if (!f->ntasks || f->tasks[0].pid != root || f->tasks[0].gone) {
		pr_err("Task %d does not exist\n", root);
		return -ESRCH;
	}
	if (f->tasks[0].zombie) {
		pr_err("Task %d is a zombie\n", root);
		return -ESRCH;
	}
	if (atoi(tgid) != root) {
		pr_err("%d is not a process but a thread of process %s\n", root,
		       tgid[0] ? tgid : "?");
		return -ESRCH;
	}
	return 0;
}

int cr_freeze(pid_t root, const struct cr_freeze_opts *opts, struct cr_frozen **out)
{
	unsigned int timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : 10000;
	struct cr_frozen *f;
	int ret;

	*out = NULL;
	if (root <= 1 || root == getpid()) {
		pr_err("Refusing to freeze pid %d\n", root);
		return -EINVAL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->root = root;
	if (opts && opts->peer_net_prefix && opts->peer_net_prefix <= 32) {
		f->peer_net = opts->peer_net;
		f->peer_net_prefix = opts->peer_net_prefix;
	}
	ret = add_task(f, root);
	if (!ret)
		ret = check_root(f, root);
	if (!ret)
		test_pause_before_seize();
	if (!ret)
		ret = opts && opts->cgroup ? freeze_with_cgroup(f, opts->cgroup, timeout_ms)
					   : freeze_by_walking(f, timeout_ms);
	if (ret) {
		cr_release(f, CR_RESUME);
		return ret;
	}
	drop_dead_threads(f);
	ret = check_root(f, root); /* it may have died while the tree was seized */
	if (!ret)
		ret = owner_check_frozen(opts ? opts->owner : NULL, f);
	if (!ret && opts && opts->net_lock) {
		struct timespec a, b;

		clock_gettime(CLOCK_MONOTONIC, &a);
		ret = netlock_task(root, &f->net);
		clock_gettime(CLOCK_MONOTONIC, &b);
		f->lock_seconds = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	}
	if (ret) {
		cr_release(f, CR_RESUME);
		return ret;
	}
	pr_info("Froze %zu tasks of tree %d\n", f->ntasks, root);
	*out = f;
	return 0;
}

size_t cr_frozen_ntasks(const struct cr_frozen *f)
{
	return f->ntasks;
}

double cr_frozen_lock_seconds(const struct cr_frozen *f)
{
	return f->lock_seconds;
}

int cr_release(struct cr_frozen *f, enum cr_release_mode mode)
{
	int ret = 0;

	if (!f)
		return 0;
	/* before any task runs or dies: its TCP sockets leave repair mode, or close in it */
	ret = netlock_release(f->net, mode == CR_KILL);
	for (size_t i = 0; i < f->ntasks; i++) {
		struct cr_task *t = &f->tasks[i];

		if (mode == CR_KILL && !t->zombie && kill(t->pid, SIGKILL) < 0 && errno != ESRCH) {
			pr_perror("Can't kill task %d", t->pid);
			ret = -errno;
		}
		for (size_t k = 0; k < t->nthreads; k++) {
			/* a task that was stopped goes back to its stop */
			int sig = t->stopped && t->threads[k].tid == t->pid ? SIGSTOP : 0;

			if (!t->threads[k].seized)
				continue;
			if (ptrace(PTRACE_DETACH, t->threads[k].tid, 0, sig) < 0 &&
			    errno != ESRCH) {
				pr_perror("Can't release thread %d", t->threads[k].tid);
				ret = -errno;
			}
		}
		free(t->threads);
	}
	free(f->tasks);
	free(f);
	return ret;
}
