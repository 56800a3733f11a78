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
#include <sched.h>
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
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "restore: "
#include "log.h"
#include "pstree.h"
#include "restore.h"
#include "restorer/restorer.h"

extern const char cr_restorer_blob[], cr_restorer_blob_end[];

#define THREAD_STACK   (64UL << 10)
#define ALIGN_UP(x, a) (((x) + (a)-1) & ~((uint64_t)(a)-1))
#define TASK_TOP       0x7ff000000000ULL
#define WAIT_MS	       60000
/* Stand-ins for ids outside our pid namespace: above any pid_max (2^22). */
#define OUTSIDE_SID  ((1 << 22) + 1)
#define OUTSIDE_PGID ((1 << 22) + 2)

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
};

struct restore_ctx {
	struct cr_restored *r;
	const struct cr_restore_opts *opts;
};

static long futex(int32_t *uaddr, int op, int val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static struct rst_img_task *img_task(struct rst_image *img, pid_t pid)
{
	for (size_t i = 0; i < img->ntasks; i++)
		if (img->tasks[i].rec->pid == pid)
			return &img->tasks[i];
	return NULL;
}

/* ---- the tree-building plan ---- */

static int build_plan(struct cr_restored *r)
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

static pid_t clone_pid(pid_t pid, bool clone_parent, bool new_pidns, int exit_signal)
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
	const struct rst_img_task *t = img_task(&r->img, me);

	if (t && t->rec->child_subreaper)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
}

/* What the new process's parent will be told at its exit (not SIGCHLD for all). */
static int exit_signal_of(struct cr_restored *r, const struct pstree_step *st)
{
	const struct rst_img_task *t =
		st->ghost || st->placeholder ? NULL : img_task(&r->img, st->pid);

	return t && t->rec->exit_signal >= 0 && t->rec->exit_signal < 65 ? t->rec->exit_signal
									 : SIGCHLD;
}

static void plan_fail(struct rst_ctl *ctl, int code)
{
	__atomic_store_n(&ctl->plan_error, code, __ATOMIC_SEQ_CST);
}

/*
 * Run the plan's steps whose actor is @me, in order, waiting for the
 * others'. Returns the pid the caller now is (after a FORK the child goes
 * on as the new pid), or -errno.
 */
static pid_t run_plan(struct cr_restored *r, pid_t me)
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
				plan_fail(ctl, errno ? -errno : -EEXIST);
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
			plan_fail(ctl, got);
			if (me != 0)
				_exit(1);
			return got;
		}
		__atomic_store_n(&ctl->plan_step, s + 1, __ATOMIC_SEQ_CST);
		futex(&ctl->plan_step, FUTEX_WAKE, INT32_MAX, NULL);
	}
}

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
		uint64_t b = boot_size_of(t, vdso_span), p = memory_premap_size(t);

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

static void fill_sigframe(struct rst_sigframe *f, uint8_t *xsave, const struct cr_thread_rec *th,
			  uint64_t xcr0, unsigned int skip)
{
	const uint8_t *src = (const uint8_t *)(th + 1);
	struct user_regs_struct g;
	struct rst_sigcontext *sc = &f->uc.uc_mcontext;
	uint32_t *sw = (uint32_t *)(xsave + 464);

	memcpy(&g, th->regs, sizeof(g));
	memset(f, 0, sizeof(*f));
	f->uc.uc_flags = RST_UC_FP_XSTATE | RST_UC_SIGCONTEXT_SS | RST_UC_STRICT_RESTORE_SS;
	f->uc.uc_stack.ss_sp = th->altstack_sp;
	f->uc.uc_stack.ss_flags = th->altstack_flags;
	f->uc.uc_stack.ss_size = th->altstack_size;
	f->uc.uc_sigmask = th->sigmask;
	sc->r8 = g.r8, sc->r9 = g.r9, sc->r10 = g.r10, sc->r11 = g.r11;
	sc->r12 = g.r12, sc->r13 = g.r13, sc->r14 = g.r14, sc->r15 = g.r15;
	sc->rdi = g.rdi, sc->rsi = g.rsi, sc->rbp = g.rbp, sc->rbx = g.rbx;
	sc->rdx = g.rdx, sc->rax = g.rax, sc->rcx = g.rcx, sc->rsp = g.rsp;
	sc->rip = g.rip, sc->eflags = g.eflags;
	sc->cs = g.cs, sc->ss = g.ss;
	sc->fpstate = skip & RST_SKIP_FPU ? 0 : (uint64_t)xsave;
	if (skip & RST_SKIP_ALTSTACK)
		f->uc.uc_stack.ss_flags = SS_DISABLE;
	if (skip & RST_SKIP_SIGMASK)
		f->uc.uc_sigmask = 0;

	memcpy(xsave, src, th->xsave_size);
	if (sw[0] != 0x46505853) { /* FP_XSTATE_MAGIC1 */
		sw[0] = 0x46505853;
		*(uint64_t *)(xsave + 472) = xcr0;
	}
	sw[1] = th->xsave_size + 4;			    /* extended_size */
	sw[4] = th->xsave_size;				    /* xstate_size */
	*(uint32_t *)(xsave + th->xsave_size) = 0x46505845; /* FP_XSTATE_MAGIC2 */
}

struct arg_area {
	uint8_t *cur, *end;
};

static void *area_take(struct arg_area *a, size_t len, size_t align)
{
	uint8_t *p = (uint8_t *)ALIGN_UP((uint64_t)a->cur, align);

	if (p + len > a->end)
		return NULL;
	a->cur = p + len;
	return p;
}

static int fill_threads(struct cr_restored *r, struct rst_img_task *t, struct rst_task *rt,
			struct arg_area *a, uint64_t stacks)
{
	struct rst_thread *th = area_take(a, t->nthreads * sizeof(*th), 16);

	if (!th)
		return -ENOSPC;
	rt->threads = (uint64_t)th;
	rt->nthreads = t->nthreads;
	for (size_t i = 0; i < t->nthreads; i++) {
		const struct cr_thread_rec *tr = t->threads[i];
		struct rst_sigframe *f = area_take(a, sizeof(*f), 64);
		uint8_t *xs = area_take(a, tr->xsave_size + 4, 64);
		struct user_regs_struct g;

		if (!f || !xs)
			return -ENOSPC;
		memcpy(&g, tr->regs, sizeof(g));
		fill_sigframe(f, xs, tr, r->img.hdr.xfeatures, r->img.skip);
		memset(&th[i], 0, sizeof(th[i]));
		th[i].tid = tr->tid;
		th[i].sigframe = (uint64_t)f;
		th[i].stack = stacks + i * THREAD_STACK;
		th[i].stack_size = THREAD_STACK;
		th[i].clear_child_tid = tr->clear_child_tid;
		th[i].robust_head = tr->robust_head;
		th[i].robust_len = tr->robust_len;
		th[i].fs_base = g.fs_base;
		th[i].gs_base = g.gs_base;
		th[i].rseq_ptr = tr->rseq_ptr;
		th[i].rseq_len = tr->rseq_len;
		th[i].rseq_sig = tr->rseq_sig;
		th[i].task = (uint64_t)rt;
		memcpy(th[i].comm, tr->comm, sizeof(th[i].comm));
		memcpy(th[i].cpumask, tr->cpumask, sizeof(th[i].cpumask));
		for (size_t k = 0; k < t->nsigsets; k++) {
			void *si;

			if (t->sigsets[k].tid != tr->tid || !t->sigsets[k].nsig)
				continue;
			si = area_take(a, t->sigsets[k].nsig * 128, 8);
			if (!si)
				return -ENOSPC;
			memcpy(si, t->sigsets[k].info, t->sigsets[k].nsig * 128);
			th[i].siginfo = (uint64_t)si;
			th[i].nsiginfo = t->sigsets[k].nsig;
		}
	}
	return 0;
}

static int fill_vdso(struct cr_restored *r, struct rst_img_task *t, struct rst_task *rt,
		     uint64_t tmp)
{
	static const uint32_t kinds[3] = {CR_VMA_VVAR, CR_VMA_VVAR_VCLOCK, CR_VMA_VDSO};

	memcpy(rt->vdso_rt, r->vdso_rt, sizeof(rt->vdso_rt));
	rt->vdso_tmp = tmp;
	for (int i = 0; i < 3; i++) {
		const struct cr_vma_rec *v = NULL;
		uint64_t want = r->vdso_rt[i].end - r->vdso_rt[i].start;

		for (size_t k = 0; k < t->nvmas; k++)
			if (t->vmas[k]->kind == kinds[i])
				v = t->vmas[k];
		if ((v ? v->end - v->start : 0) != want) {
			pr_err("Task %d: its %s was %llu bytes, this kernel's is %llu: can't "
			       "restore "
			       "on this kernel\n",
			       t->rec->pid,
			       i == 2 ? "[vdso]"
			       : i    ? "[vvar_vclock]"
				      : "[vvar]",
			       (unsigned long long)(v ? v->end - v->start : 0),
			       (unsigned long long)want);
			return -ENOEXEC;
		}
		if (v)
			rt->vdso_img[i] = (struct rst_range){v->start, v->end};
	}
	return 0;
}

static void fill_task_creds(struct cr_restored *r, struct rst_img_task *t, struct rst_task *rt)
{
	const struct cr_task_rec *tr = t->rec;

	memcpy(rt->uid, tr->uid, sizeof(rt->uid));
	memcpy(rt->gid, tr->gid, sizeof(rt->gid));
	rt->ngroups = tr->ngroups;
	memcpy(rt->groups, tr->groups, sizeof(rt->groups));
	rt->pdeathsig = tr->pdeathsig;
	rt->set_creds = !(r->img.skip & CR_SKIP_CREDS);
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
	if (!(r->img.skip & RST_SKIP_ITIMERS))
		memcpy(rt->itimer, tr->itimer, sizeof(rt->itimer));
}

static int fill_mm(struct rst_img_task *t, struct rst_task *rt, struct arg_area *a, int exe_fd)
{
	const struct cr_mm_rec *mm = t->mm;
	uint64_t *auxv = area_take(a, mm->nauxv * 8, 8);

	if (!auxv)
		return -ENOSPC;
	memcpy(auxv, t->auxv, mm->nauxv * 8);
	rt->mm_map[0] = mm->start_code;
	rt->mm_map[1] = mm->end_code;
	rt->mm_map[2] = mm->start_data;
	rt->mm_map[3] = mm->end_data;
	rt->mm_map[4] = mm->start_brk;
	rt->mm_map[5] = mm->brk;
	rt->mm_map[6] = mm->start_stack;
	rt->mm_map[7] = mm->arg_start;
	rt->mm_map[8] = mm->arg_end;
	rt->mm_map[9] = mm->env_start;
	rt->mm_map[10] = mm->env_end;
	rt->mm_map[11] = (uint64_t)auxv;
	rt->mm_map[12] = (uint64_t)(mm->nauxv * 8) | ((uint64_t)(uint32_t)exe_fd << 32);
	rt->exe_fd = exe_fd;
	return 0;
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
	ret = fill_vdso(r, t, rt, stacks - vdso_span);
	if (!ret)
		ret = fill_threads(r, t, rt, &a, stacks);
	if (!ret)
		ret = fill_mm(t, rt, &a, exe_fd);
	for (size_t k = 0; !ret && k < t->nsigsets; k++) {
		if (t->sigsets[k].tid || !t->sigsets[k].nsig)
			continue;
		p = area_take(&a, t->sigsets[k].nsig * 128, 8);
		if (!p)
			return -ENOSPC;
		memcpy(p, t->sigsets[k].info, t->sigsets[k].nsig * 128);
		rt->shared_siginfo = (uint64_t)p;
		rt->nshared_siginfo = t->sigsets[k].nsig;
	}
	if (!ret && t->timers && t->timers->ntimers && !(r->img.skip & RST_SKIP_TIMERS)) {
		size_t len = t->timers->ntimers * sizeof(struct cr_timer);

		p = area_take(&a, len, 8);
		if (!p)
			return -ENOSPC;
		memcpy(p, t->timers + 1, len);
		rt->timers = (uint64_t)p;
		rt->ntimers = t->timers->ntimers;
	}
	fill_task_creds(r, t, rt);
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
static void settle_zombie_children(struct cr_restored *r, pid_t me)
{
	struct rst_img_task *t = img_task(&r->img, me);
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

static __attribute__((noreturn)) void become_zombie(const struct cr_task_rec *tr)
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

static __attribute__((noreturn)) void restore_task(struct cr_restored *r, pid_t me)
{
	struct rst_img_task *t = img_task(&r->img, me);
	struct rst_vma *moves;
	struct rst_task *rt = NULL;
	int n, ret, exe_fd = -1;

	if (!t)
		task_fail(r, me, 0, -ESRCH);
	if (t->rec->flags & CR_TASK_ZOMBIE)
		become_zombie(t->rec);
	settle_zombie_children(r, me);
	moves = calloc(t->nvmas + 1, sizeof(*moves));
	n = moves ? memory_premap(&r->img, t, r->boot + r->boot_size, r->premap_size, moves)
		  : -ENOMEM;
	if (n < 0)
		task_fail(r, me, RST_ERR_REMAP, n);
	if (!(r->img.skip & CR_SKIP_SIGACTS) && (ret = signals_restore_actions(t)))
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
	ret = task_restore_misc(&r->img, t);
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
				t = img_task(&r->img, atoi(last ? last + 1 : val));
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

static unsigned int parse_skip(const char *s)
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
	};
	unsigned int skip = 0;
	char *copy = s ? strdup(s) : NULL, *tok, *save = NULL;

	for (tok = copy ? strtok_r(copy, ",", &save) : NULL; tok;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(names); i++)
			if (!strcmp(tok, names[i].name))
				break;
		if (i == ARRAY_SIZE(names)) {
			pr_err("Unknown kind of state to skip: %s\n", tok);
			skip = ~0u;
			break;
		}
		skip |= names[i].flag;
	}
	free(copy);
	return skip;
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

/* Before any task exists: limits this machine can't grant are refused. */
static int check_rlimits(struct rst_image *img)
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

static int prepare_restarter(struct cr_restored *r, const struct cr_restore_opts *opts)
{
	struct rlimit nofile;
	int ret;

	if (geteuid() != 0) {
		pr_err("Restart needs root: restoring as another user is not supported yet\n");
		return -EPERM;
	}
	ret = check_cpu(&r->img.hdr);
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
	ret = shmem_prepare(&r->img);
	if (!ret)
		ret = prepare_files(&r->img, opts);
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
	ret = image_load(dir, &r->img);
	if (ret) {
		free(r);
		return ret;
	}
	r->img.skip = parse_skip(opts ? opts->skip : NULL);
	if (r->img.skip == ~0u) {
		image_free(&r->img);
		free(r);
		return -EINVAL;
	}
	ret = prepare_restarter(r, opts);
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	if (!ret)
		ret = fork_tree(r);
	close_service_fds(&r->img);
	shmem_close_service(&r->img);
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
	pstree_plan_free(&r->plan);
	image_free(&r->img);
	free(r);
}

int cr_resume(struct cr_restored *r)
{
	int ret = 0;

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
		plan_fail(r->ctl, -ECANCELED);
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
	restored_free(r);
	return 0;
}
