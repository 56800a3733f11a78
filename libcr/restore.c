// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cr_restore: rebuild a tree from an image and leave every task stopped.
 *
 * The restarter loads the image, plans the tree (pstree.c), reserves one
 * address range free in every task's image (bootstrap + premap), makes the
 * shared objects (files, pipes, shared memory) and forks the tree by the
 * plan, one step at a time. Each task then premaps its memory, takes its
 * fds and jumps to the restorer blob, which swaps the address space and
 * waits. The restarter seizes every thread, lets them rt_sigreturn, unmaps
 * the blob from each task and holds them until cr_resume().
 */
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "restore: "
#include "files.h"
#include "fsident.h"
#include "image-load.h"
#include "ipc.h"
#include "log.h"
#include "memory.h"
#include "netlock.h"
#include "owner.h"
#include "pstree.h"
#include "restorer/restorer.h"
#include "rst.h"
#include "shmem.h"
#include "signals.h"
#include "task.h"
#include "threads.h"
#include "timers.h"

extern const char cr_restorer_blob[], cr_restorer_blob_end[];

#define TASK_TOP 0x7ff000000000ULL
#define WAIT_MS	 60000

/* ---- address space layout ---- */

struct range_list {
	struct rst_range *r;
	size_t n;
};

static int ranges_add(struct range_list *l, uint64_t start, uint64_t end)
{
	struct rst_range *nr = realloc(l->r, (l->n + 1) * sizeof(*nr));

	if (!nr)
		return -ENOMEM;
	l->r = nr;
	l->r[l->n++] = (struct rst_range){start, end};
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct rst_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The restarter's own maps, and its vDSO trio. */
static int self_maps(struct range_list *l, struct rst_range vdso[3])
{
	char *maps = proc_read_file("/proc/self/maps"), *line, *save = NULL;
	int ret = 0;

	if (!maps)
		return -errno;
	memset(vdso, 0, 3 * sizeof(*vdso));
	for (line = strtok_r(maps, "\n", &save); line && !ret; line = strtok_r(NULL, "\n", &save)) {
		unsigned long s, e;

		if (sscanf(line, "%lx-%lx", &s, &e) != 2)
			continue;
		if (strstr(line, "[vvar]"))
			vdso[0] = (struct rst_range){s, e};
		else if (strstr(line, "[vvar_vclock]"))
			vdso[1] = (struct rst_range){s, e};
		else if (strstr(line, "[vdso]"))
			vdso[2] = (struct rst_range){s, e};
		ret = ranges_add(l, s, e);
	}
	free(maps);
	return ret;
}

/* Highest gap of @size below TASK_TOP that no range touches. */
static uint64_t find_gap(struct range_list *l, uint64_t size)
{
	uint64_t top = TASK_TOP;

	if (l->n)
		qsort(l->r, l->n, sizeof(*l->r), cmp_range);
	for (size_t i = l->n; i-- > 0;) {
		if (l->r[i].start >= top)
			continue;
		if (l->r[i].end + size + (2UL << 20) <= top)
			return ALIGN_UP(top - size - (1UL << 20), 1UL << 21) - (2UL << 20);
		if (l->r[i].start < top)
			top = l->r[i].start;
	}
	return top > size + (4UL << 20) ? (top - size - (2UL << 20)) & ~((1UL << 21) - 1) : 0;
}

static uint64_t boot_size_of(const struct rst_img_task *t, uint64_t vdso_span)
{
	uint64_t size = PAGE_SIZE; /* control page */
	size_t nsig = 0;

	for (size_t i = 0; i < t->nsigsets; i++)
		nsig += t->sigsets[i].nsig;
	size += ALIGN_UP(cr_restorer_blob_end - cr_restorer_blob, PAGE_SIZE);
	size += ALIGN_UP(sizeof(struct rst_task) + t->nthreads * sizeof(struct rst_thread) +
				 t->nvmas * sizeof(struct rst_vma) + nsig * 128 +
				 (t->mm ? t->mm->nauxv * 8 : 0) + t->nthreads * (8192 + 1024) +
				 (t->timers ? t->timers->ntimers * sizeof(struct cr_timer) : 0) +
				 4096,
			 PAGE_SIZE);
	size += ALIGN_UP(vdso_span, PAGE_SIZE);
	size += (t->nthreads + 1) * THREAD_STACK;
	return size;
}

static int plan_layout(struct cr_restored *r)
{
	struct rst_image *img = &r->img;
	struct range_list l = {0};
	uint64_t vdso_span, total;
	int ret;

	ret = self_maps(&l, r->vdso_rt);
	vdso_span = r->vdso_rt[2].end - r->vdso_rt[0].start;
	for (size_t i = 0; i < img->ntasks && !ret; i++) {
		struct rst_img_task *t = &img->tasks[i];
		uint64_t b = boot_size_of(t, vdso_span), p = premap_size_of(t);

		if (b > r->boot_size)
			r->boot_size = b;
		if (p > r->premap_size)
			r->premap_size = p;
		for (size_t k = 0; k < t->nvmas && !ret; k++)
			ret = ranges_add(&l, t->vmas[k]->start, t->vmas[k]->end);
	}
	r->premap_size = ALIGN_UP(r->premap_size, PAGE_SIZE);
	total = r->boot_size + r->premap_size;
	if (!ret) {
		r->boot = find_gap(&l, total);
		if (!r->boot) {
			pr_err("No free address range of %llu bytes for the restore\n",
			       (unsigned long long)total);
			ret = -ENOMEM;
		}
	}
	free(l.r);
	return ret;
}

static int reserve_layout(struct cr_restored *r)
{
	void *p = mmap((void *)r->boot, r->boot_size + r->premap_size, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);

	if (p != (void *)r->boot) {
		pr_perror("Can't reserve %#llx for the restore", (unsigned long long)r->boot);
		return -ENOMEM;
	}
	p = mmap((void *)r->boot, PAGE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED) {
		pr_perror("Can't map the restore control page");
		return -ENOMEM;
	}
	r->ctl = p;
	memset(r->ctl, 0, sizeof(*r->ctl));
	return 0;
}

/* ---- in each task: from the restarter's copy to the restorer ---- */

static void task_fail(struct cr_restored *r, pid_t pid, int step, int code)
{
	struct rst_ctl *ctl = r->ctl;

	if (__atomic_fetch_add(&ctl->nerrors, 1, __ATOMIC_SEQ_CST) == 0) {
		ctl->err_pid = pid;
		ctl->err_step = step;
		ctl->err_code = code;
	}
	futex(&ctl->nchecked, FUTEX_WAKE, INT32_MAX, NULL);
	_exit(1);
}

/* Build the restorer's arguments in this task's bootstrap area. */
static int build_args(struct cr_restored *r, struct rst_img_task *t, struct rst_vma *moves,
		      int nmoves, int exe_fd, struct rst_task **out)
{
	uint64_t blob_len = ALIGN_UP(cr_restorer_blob_end - cr_restorer_blob, PAGE_SIZE);
	uint64_t vdso_span = ALIGN_UP(r->vdso_rt[2].end - r->vdso_rt[0].start, PAGE_SIZE);
	uint64_t base = r->boot + PAGE_SIZE, end = r->boot + r->boot_size;
	uint64_t stacks = end - (t->nthreads + 1) * THREAD_STACK;
	struct arg_area a = {(uint8_t *)base + blob_len, (uint8_t *)stacks - vdso_span};
	struct rst_task *rt;
	void *p;
	int ret;

	p = mmap((void *)base, end - base, PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	memcpy(p, cr_restorer_blob, cr_restorer_blob_end - cr_restorer_blob);
	rt = area_take(&a, sizeof(*rt), 64);
	memset(rt, 0, sizeof(*rt));
	rt->pid = t->rec->pid;
	rt->ctl = (uint64_t)r->ctl;
	rt->keep[0] = (struct rst_range){r->boot, end};
	rt->keep[1] = (struct rst_range){end, end + r->premap_size};
	rt->keep[2] = (struct rst_range){r->vdso_rt[0].start, r->vdso_rt[2].end};
	rt->skip = r->img.skip;
	if (__rseq_size) {
		rt->engine_rseq = (uint64_t)__builtin_thread_pointer() + __rseq_offset;
		rt->engine_rseq_len = 32;
		rt->engine_rseq_sig = 0x53053053;
	}
	p = area_take(&a, nmoves * sizeof(*moves), 8);
	if (!p)
		return -ENOSPC;
	memcpy(p, moves, nmoves * sizeof(*moves));
	rt->vmas = (uint64_t)p;
	rt->nvmas = nmoves;
	ret = fill_vdso(r->vdso_rt, t, rt, stacks - vdso_span);
	if (!ret)
		ret = fill_threads(&r->img, t, rt, &a, stacks);
	if (!ret)
		ret = fill_mm(t, rt, &a, exe_fd);
	if (!ret)
		ret = fill_sigsets(t, rt, &a);
	if (!ret)
		ret = fill_timers(&r->img, t, rt, &a);
	fill_creds(&r->img, t, rt);
	*out = rt;
	return ret;
}

static __attribute__((noreturn)) void jump_to_restorer(struct cr_restored *r, struct rst_task *rt)
{
	/* the last stack slot's top, less a "return address": the ABI's entry alignment */
	uint64_t stack = r->boot + r->boot_size - 8;
	void *entry = (void *)(r->boot + PAGE_SIZE);

	__asm__ volatile("mov %0, %%rsp\n"
			 "mov %1, %%rdi\n"
			 "jmp *%2\n"
			 :
			 : "r"(stack), "r"(rt), "r"(entry)
			 : "memory");
	__builtin_unreachable();
}

static __attribute__((noreturn)) void restore_task(struct cr_restored *r, pid_t me)
{
	struct rst_img_task *t = find_img_task(&r->img, me);
	struct rst_vma *moves;
	struct rst_task *rt = NULL;
	int n, ret, exe_fd = -1;

	if (!t)
		task_fail(r, me, 0, -ESRCH);
	if (t->rec->flags & CR_TASK_ZOMBIE)
		become_zombie(t->rec);
	settle_zombie_children(r, me);
	moves = calloc(t->nvmas + 1, sizeof(*moves));
	n = moves ? premap_memory(&r->img, t, r->boot + r->boot_size, r->premap_size, moves)
		  : -ENOMEM;
	if (n < 0)
		task_fail(r, me, RST_ERR_REMAP, n);
	if (!(r->img.skip & CR_SKIP_SIGACTS) && (ret = restore_sigactions(t)))
		task_fail(r, me, RST_ERR_SIGNALS, ret);
	if (!(r->img.skip & CR_SKIP_FDS) && (ret = install_fds(&r->img, t)))
		task_fail(r, me, 0, ret);
	cr_log_setup(-1, CR_LOG_ERROR); /* fd 2 is the task's own now */
	exe_fd = open(t->mm->exe, O_RDONLY | O_CLOEXEC);
	if (exe_fd >= 0 && exe_fd <= r->img.max_fd) {
		int hi = fcntl(exe_fd, F_DUPFD_CLOEXEC, r->img.max_fd + 1);

		close(exe_fd);
		exe_fd = hi;
	}
	/* after the last close in the task: a close drops its POSIX locks on that file */
	if (!(r->img.skip & CR_SKIP_FDS) && (ret = restore_locks(&r->img, t)))
		task_fail(r, me, RST_ERR_LOCKS, ret);
	ret = restore_task_misc(&r->img, t);
	if (ret)
		task_fail(r, me, 0, ret);
	ret = build_args(r, t, moves, n, exe_fd, &rt);
	if (ret)
		task_fail(r, me, 0, ret);
	jump_to_restorer(r, rt);
}

/* ---- the restarter ---- */

static int count_threads(struct rst_image *img)
{
	int n = 0;

	for (size_t i = 0; i < img->ntasks; i++)
		if (!(img->tasks[i].rec->flags & CR_TASK_ZOMBIE))
			n += img->tasks[i].nthreads;
	return n;
}

static const char *const step_names[] = {
	[0] = "preparing the task",
	[RST_ERR_UNMAP] = "unmapping",
	[RST_ERR_VDSO] = "moving the vDSO",
	[RST_ERR_REMAP] = "mapping memory",
	[RST_ERR_PROTECT] = "protecting memory",
	[RST_ERR_MM] = "PR_SET_MM_MAP",
	[RST_ERR_CLONE] = "creating threads",
	[RST_ERR_THREAD] = "thread state",
	[RST_ERR_SIGNALS] = "signals",
	[RST_ERR_CREDS] = "credentials",
	[RST_ERR_LOCKS] = "taking back its file locks",
};

static int wait_checkins(struct cr_restored *r)
{
	struct rst_ctl *ctl = r->ctl;
	int want = count_threads(&r->img), waited = 0;
	struct timespec tick = {0, 50 * 1000 * 1000};

	for (;;) {
		int32_t n = __atomic_load_n(&ctl->nchecked, __ATOMIC_SEQ_CST);
		int status;

		if (ctl->nerrors) {
			int step = ctl->err_step;

			pr_err("Restore of task %d failed while %s: %s\n", ctl->err_pid,
			       step >= 0 && step < (int)ARRAY_SIZE(step_names) ? step_names[step]
									       : "?",
			       strerror(-ctl->err_code));
			return ctl->err_code ? ctl->err_code : -EIO;
		}
		if (ctl->plan_error)
			return ctl->plan_error;
		if (n >= want)
			return 0;
		if (waitpid(r->child, &status, WNOHANG) == r->child) {
			pr_err("Task %d died during restore (status %#x)\n", r->child, status);
			r->child = -1;
			return -ECHILD;
		}
		if (waited++ * 50 > WAIT_MS) {
			pr_err("Restore timed out: %d of %d threads ready\n", n, want);
			return -ETIMEDOUT;
		}
		futex(&ctl->nchecked, FUTEX_WAIT, n, &tick);
	}
}

/* With a new pid namespace, find each task's and thread's pid as we see it. */
static int map_outer_pids(struct cr_restored *r)
{
	pid_t *queue = NULL, *kids = NULL;
	size_t nq = 0, nkids = 0;
	int ret = 0;

	for (size_t i = 0; i < r->img.ntasks; i++)
		r->img.tasks[i].outer_pid = r->new_pidns ? 0 : r->img.tasks[i].rec->pid;
	if (r->new_pidns) {
		queue = malloc(sizeof(*queue));
		if (!queue)
			return -ENOMEM;
		queue[nq++] = r->child;
		for (size_t q = 0; q < nq && !ret; q++) {
			char *s = proc_read_file("/proc/%d/status", queue[q]), val[128], *last;
			struct rst_img_task *t;

			if (s && !proc_status_field(s, "NSpid", val, sizeof(val))) {
				last = strrchr(val, '\t');
				t = find_img_task(&r->img, atoi(last ? last + 1 : val));
				if (t)
					t->outer_pid = queue[q];
			}
			free(s);
			nkids = 0;
			ret = proc_children(queue[q], &kids, &nkids);
			for (size_t k = 0; k < nkids && !ret; k++) {
				pid_t *nqp = realloc(queue, (nq + 1) * sizeof(*nqp));

				if (!nqp) {
					ret = -ENOMEM;
					break;
				}
				queue = nqp;
				queue[nq++] = kids[k];
			}
			free(kids);
			kids = NULL;
		}
		free(queue);
	}
	for (size_t i = 0; i < r->img.ntasks && !ret; i++) {
		struct rst_img_task *t = &r->img.tasks[i];

		if (t->rec->flags & CR_TASK_ZOMBIE)
			continue;
		if (!t->outer_pid) {
			pr_err("Can't find restored task %d\n", t->rec->pid);
			return -ESRCH;
		}
		t->outer_tids = calloc(t->nthreads, sizeof(pid_t));
		if (!t->outer_tids)
			return -ENOMEM;
		for (size_t k = 0; k < t->nthreads; k++)
			t->outer_tids[k] = t->threads[k]->tid;
	}
	return ret;
}

/* Thread ids as we see them: identical without a new pid namespace. */
static int map_outer_tids(struct cr_restored *r)
{
	if (!r->new_pidns)
		return 0;
	for (size_t i = 0; i < r->img.ntasks; i++) {
		struct rst_img_task *t = &r->img.tasks[i];
		pid_t *tids;
		size_t ntids;

		if (t->rec->flags & CR_TASK_ZOMBIE)
			continue;
		if (proc_threads(t->outer_pid, &tids, &ntids))
			return -ESRCH;
		for (size_t k = 0; k < ntids; k++) {
			char *s = proc_read_file("/proc/%d/task/%d/status", t->outer_pid, tids[k]);
			char val[128], *last;

			if (s && !proc_status_field(s, "NSpid", val, sizeof(val))) {
				pid_t inner;

				last = strrchr(val, '\t');
				inner = atoi(last ? last + 1 : val);
				for (size_t j = 0; j < t->nthreads; j++)
					if (t->threads[j]->tid == inner)
						t->outer_tids[j] = tids[k];
			}
			free(s);
		}
		free(tids);
	}
	return 0;
}

static int seize_restored(struct cr_restored *r)
{
	for (size_t i = 0; i < r->img.ntasks; i++) {
		struct rst_img_task *t = &r->img.tasks[i];

		for (size_t k = 0; t->outer_tids && k < t->nthreads; k++) {
			pid_t tid = t->outer_tids[k];

			if (ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_TRACESYSGOOD) < 0 ||
			    ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0) {
				pr_perror("Can't seize restored thread %d", tid);
				return -errno;
			}
			if (seize_wait_stop(tid))
				return -ESRCH;
		}
	}
	r->seized = true;
	return 0;
}

/* Let a held thread run until it has returned from rt_sigreturn. */
static int run_to_sigreturn(pid_t tid)
{
	bool in_sigreturn = false;
	int status;

	for (;;) {
		struct __ptrace_syscall_info info;

		if (ptrace(PTRACE_SYSCALL, tid, 0, 0) < 0 || waitpid(tid, &status, __WALL) < 0) {
			pr_perror("Can't step restored thread %d", tid);
			return -errno;
		}
		if (!WIFSTOPPED(status)) {
			pr_err("Restored thread %d died (status %#x)\n", tid, status);
			return -ESRCH;
		}
		if (WSTOPSIG(status) != (SIGTRAP | 0x80))
			continue;
		if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof(info), &info) < 0)
			return -errno;
		if (info.op == PTRACE_SYSCALL_INFO_ENTRY)
			in_sigreturn = info.entry.nr == SYS_rt_sigreturn;
		else if (info.op == PTRACE_SYSCALL_INFO_EXIT && in_sigreturn)
			return 0;
	}
}

static int finish_tasks(struct cr_restored *r)
{
	long args[6] = {(long)r->boot, (long)(r->boot_size + r->premap_size)}, ret;
	int err;

	__atomic_store_n(&r->ctl->stage, RST_STAGE_GO, __ATOMIC_SEQ_CST);
	futex(&r->ctl->stage, FUTEX_WAKE, INT32_MAX, NULL);
	for (size_t i = 0; i < r->img.ntasks; i++) {
		struct rst_img_task *t = &r->img.tasks[i];
		uint64_t ip;

		if (!t->outer_tids)
			continue;
		for (size_t k = 0; k < t->nthreads; k++)
			if ((err = run_to_sigreturn(t->outer_tids[k])))
				return err;
		err = infect_find_ip(t->outer_pid, &ip);
		if (!err)
			err = infect_syscall(t->outer_tids[0], ip, SYS_munmap, args, &ret);
		if (err || ret) {
			pr_err("Can't remove the restorer from task %d\n", t->rec->pid);
			return err ? err : (int)ret;
		}
	}
	return 0;
}

static __attribute__((noreturn)) void pidns_init(struct cr_restored *r)
{
	pid_t me = run_plan(r, 0), root = r->img.hdr.root_pid, pid;
	int status;

	if (me < 0)
		_exit(1);
	if (me != 0)
		restore_task(r, me);
	close_service_fds(&r->img);
	close_rollback_fds(&r->img);
	prctl(PR_SET_NAME, "cr-init");
	for (;;) {
		pid = waitpid(-1, &status, 0);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			_exit(0);
		if (pid == root)
			_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
}

/*
 * --skip's kinds of state: a name below, or "file:KIND" (a kind of open file
 * as file_kind_name() calls it), whose fds are then left closed.
 */
static int parse_skip(const char *s, unsigned int *skip, uint64_t *kinds)
{
	static const struct {
		const char *name;
		unsigned int flag;
	} names[] = {
		{"sigactions", RST_SKIP_SIGACTS},
		{"fds", RST_SKIP_FDS},
		{"creds", RST_SKIP_CREDS},
		{"rseq", RST_SKIP_RSEQ},
		{"signals", RST_SKIP_SIGNALS},
		{"memory", RST_SKIP_MEMORY},
		{"misc", RST_SKIP_MISC},
		{"timers", RST_SKIP_TIMERS},
		{"itimers", RST_SKIP_ITIMERS},
		{"affinity", RST_SKIP_AFFINITY},
		{"altstack", RST_SKIP_ALTSTACK},
		{"sigmask", RST_SKIP_SIGMASK},
		{"pdeathsig", RST_SKIP_PDEATHSIG},
		{"dumpable", RST_SKIP_DUMPABLE},
		{"madvise", RST_SKIP_MADVISE},
		{"stopped", RST_SKIP_STOPPED},
		{"comm", RST_SKIP_COMM},
		{"robust", RST_SKIP_ROBUST},
		{"tidaddr", RST_SKIP_TIDADDR},
		{"fpu", RST_SKIP_FPU},
		{"nnp", RST_SKIP_NNP},
		{"ipc", RST_SKIP_IPC},
		{"locks", RST_SKIP_LOCKS},
	};
	char *copy = s ? strdup(s) : NULL, *tok, *save = NULL;
	int ret = 0;

	*skip = 0;
	*kinds = 0;
	for (tok = copy ? strtok_r(copy, ",", &save) : NULL; tok;
	     tok = strtok_r(NULL, ",", &save)) {
		uint32_t kind = strncmp(tok, "file:", 5) ? 0 : file_kind_by_name(tok + 5);
		size_t i;

		for (i = 0; i < ARRAY_SIZE(names); i++)
			if (!strcmp(tok, names[i].name))
				break;
		if (kind && kind < 64) {
			*kinds |= 1ull << kind;
		} else if (i < ARRAY_SIZE(names)) {
			*skip |= names[i].flag;
		} else {
			pr_err("Unknown kind of state to skip: %s\n", tok);
			ret = -EINVAL;
			break;
		}
	}
	free(copy);
	return ret;
}

_Static_assert(sizeof(struct rst_timer) == sizeof(struct cr_timer), "timer layout");
_Static_assert(RST_MADV_DONTFORK == CR_MADV_DONTFORK && RST_MADV_DONTDUMP == CR_MADV_DONTDUMP,
	       "madvise bits");

/* glibc picked its code paths for the dumping CPU's features: demand them all. */
static int check_cpu(const struct cr_header_rec *h)
{
	uint64_t xcr0;
	uint32_t size;

	cpu_xsave_info(&xcr0, &size);
	if (h->xfeatures & ~xcr0) {
		pr_err("The image needs xsave features %#llx this CPU does not enable (it has "
		       "%#llx)\n",
		       (unsigned long long)(h->xfeatures & ~xcr0), (unsigned long long)xcr0);
		return -ENOEXEC;
	}
	if (h->xsave_size != size) {
		pr_err("The image's xsave area is %u bytes, this CPU's is %u\n", h->xsave_size,
		       size);
		return -ENOEXEC;
	}
	return 0;
}

static int prepare_restarter(struct cr_restored *r, const struct cr_restore_opts *opts)
{
	struct rlimit nofile;
	int ret;

	if (geteuid() != 0) {
		pr_err("Restart needs root: restoring as another user is not supported yet\n");
		return -EPERM;
	}
	ret = check_cpu(&r->img.hdr);
	if (!ret && opts && opts->owner)
		ret = owner_check_image(opts->owner, &r->img);
	if (!ret)
		ret = check_rlimits(&r->img);
	if (ret)
		return ret;
	if (r->img.hdr.root_is_init && !r->new_pidns) {
		pr_err("Task %d was the init of its pid namespace: restore it with a new one\n",
		       r->img.hdr.root_pid);
		return -EINVAL;
	}
	r->restarter_pgid = getpgrp();
	ret = build_plan(r);
	if (!ret)
		ret = plan_layout(r);
	if (!ret)
		ret = reserve_layout(r);
	if (ret)
		return ret;
	if (!getrlimit(RLIMIT_NOFILE, &nofile) && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	/* phase 1 checks and changes nothing: files are rolled back at cr_rollback */
	ret = fident_check_tasks(&r->img);
	if (!ret && opts && (opts->net_lock || opts->netns))
		ret = netlock_enter(opts->netns, opts->net_lock, &r->net);
	if (!ret)
		ret = prepare_shmem(&r->img);
	/* SysV objects, before any task attaches (ipc.h) */
	if (!ret)
		ret = prepare_ipc(&r->img, opts);
	if (!ret)
		ret = prepare_files(&r->img, opts);
	if (!ret)
		ret = check_locks_free(&r->img);
	return ret;
}

/* Fork the tree: we are actor 0, or an init in a new pid namespace is. */
static int fork_tree(struct cr_restored *r)
{
	bool own_init = r->new_pidns && !r->img.hdr.root_is_init;
	pid_t me;

	if (own_init) {
		r->child = clone_pid(0, false, true, SIGCHLD);
		if (r->child < 0) {
			pr_perror("Can't create a pid namespace");
			return -errno;
		}
		if (r->child == 0)
			pidns_init(r);
		return 0;
	}
	me = run_plan(r, 0);
	if (me > 0)
		restore_task(r, me);
	return me < 0 ? me : 0;
}

int cr_restore(const char *dir, const struct cr_restore_opts *opts, struct cr_restored **out)
{
	struct cr_restored *r = calloc(1, sizeof(*r));
	sigset_t all, old;
	int ret;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->child = -1;
	r->new_pidns = opts && opts->new_pidns;
	ret = image_load(dir, opts ? opts->digests : NULL, &r->img);
	if (ret) {
		free(r);
		return ret;
	}
	ret = parse_skip(opts ? opts->skip : NULL, &r->img.skip, &r->img.skip_kinds);
	if (!ret)
		ret = remap_affinity(&r->img, opts);
	if (ret) {
		image_free(&r->img);
		free(r);
		return ret;
	}
	ret = prepare_restarter(r, opts);
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	if (!ret)
		ret = fork_tree(r);
	close_service_fds(&r->img);
	close_shmem_service(&r->img);
	if (!ret)
		ret = wait_checkins(r);
	if (!ret)
		ret = map_outer_pids(r);
	if (!ret)
		ret = map_outer_tids(r);
	if (!ret)
		ret = seize_restored(r);
	if (!ret)
		ret = finish_tasks(r);
	if (!ret)
		ret = finish_ipc(&r->img);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		cr_abort(r);
		return ret;
	}
	*out = r;
	return 0;
}

pid_t cr_restored_root(const struct cr_restored *r)
{
	return r->img.tasks[0].outer_pid;
}

pid_t cr_restored_child(const struct cr_restored *r)
{
	return r->child > 0 ? r->child : r->img.tasks[0].outer_pid;
}

static void restored_free(struct cr_restored *r)
{
	if (r->boot)
		munmap((void *)r->boot, r->boot_size + r->premap_size);
	close_rollback_fds(&r->img);
	netlock_release(r->net, false);
	pstree_plan_free(&r->plan);
	image_free(&r->img);
	free(r);
}

int cr_rollback_keep(struct cr_restored *r, const struct cr_rollback_keep *keep)
{
	/* the commit point: the files go back to the checkpoint, nothing runs yet */
	int ret = r->rolled_back ? 0 : rollback_reg_files(&r->img, keep);

	if (!ret)
		r->rolled_back = true;
	return ret;
}

int cr_rollback(struct cr_restored *r)
{
	return cr_rollback_keep(r, NULL);
}

int cr_resume(struct cr_restored *r)
{
	int ret = cr_rollback(r);

	/* the network first: a connection leaving repair mode may send at once */
	if (!ret && r->net) {
		ret = netlock_release(r->net, false);
		r->net = NULL;
	}
	if (!ret)
		ret = inet_repair_off(&r->img);
	if (ret) {
		cr_abort(r);
		return ret;
	}
	for (size_t i = 0; i < r->img.ntasks; i++) {
		struct rst_img_task *t = &r->img.tasks[i];

		for (size_t k = 0; t->outer_tids && k < t->nthreads; k++) {
			/* a task stopped at checkpoint goes back to its group stop */
			int sig = (t->rec->flags & CR_TASK_STOPPED) && k == 0 &&
						  !(r->img.skip & RST_SKIP_STOPPED)
					  ? SIGSTOP
					  : 0;

			if (ptrace(PTRACE_DETACH, t->outer_tids[k], 0, sig) < 0) {
				pr_perror("Can't release restored thread %d", t->outer_tids[k]);
				ret = -errno;
			}
		}
	}
	restored_free(r);
	return ret;
}

int cr_abort(struct cr_restored *r)
{
	if (!r)
		return 0;
	if (r->ctl) {
		__atomic_store_n(&r->ctl->stage, RST_STAGE_ABORT, __ATOMIC_SEQ_CST);
		fail_plan(r->ctl, -ECANCELED);
		futex(&r->ctl->stage, FUTEX_WAKE, INT32_MAX, NULL);
		futex(&r->ctl->plan_step, FUTEX_WAKE, INT32_MAX, NULL);
	}
	if (r->new_pidns && r->child > 0) {
		kill(r->child, SIGKILL);
	} else if (r->ctl) {
		/* only what the plan really created: a pid in use is someone else's */
		for (int32_t s = 0; s < r->ctl->plan_step && (size_t)s < r->plan.nsteps; s++)
			if (r->plan.steps[s].kind == PSTREE_FORK && !r->plan.steps[s].placeholder &&
			    r->plan.steps[s].pid > 1)
				kill(r->plan.steps[s].pid, SIGKILL);
	}
	if (r->child > 0)
		waitpid(r->child, NULL, 0);
	undo_ipc(&r->img);
	restored_free(r);
	return 0;
}
