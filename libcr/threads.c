// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Threads: registers (syscall restart applied), xsave, signal mask, rseq,
 * robust futex list, clear_child_tid, alternate signal stack, comm.
 * Restore: fill_threads() hands each thread's state to the restorer
 * (restorer/), which creates the threads and sigreturns into the frames.
 */
#include <cpuid.h>
#include <elf.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "threads: "
#include "internal.h"
#include "log.h"
#include "threads.h"

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif
struct rseq_config {
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};

#define ERESTARTSYS	      512
#define ERESTARTNOINTR	      513
#define ERESTARTNOHAND	      514
#define ERESTART_RESTARTBLOCK 516

#define XSAVE_MAX 8192

/*
 * A thread stopped inside a syscall resumes through rt_sigreturn after
 * restore, which does not restart syscalls: rewind to the syscall
 * instruction now, as the kernel would have. A syscall the kernel would
 * have continued through its restart block (poll, nanosleep, futex with a
 * timeout...) is run again with its own arguments: exact for infinite and
 * absolute timeouts, a longer wait for relative ones, never a spurious EINTR
 * a program may not expect.
 */
static void fixup_syscall_restart(struct user_regs_struct *r)
{
	if ((long)r->orig_rax < 0)
		return;
	switch ((long)r->rax) {
	case -ERESTARTSYS:
	case -ERESTARTNOINTR:
	case -ERESTARTNOHAND:
	case -ERESTART_RESTARTBLOCK:
		r->rax = r->orig_rax;
		r->rip -= 2;
		break;
	}
}

/* An IP inside an rseq critical section must go to its abort handler. */
static int fixup_rseq(pid_t tid, struct cr_thread_rec *rec, struct user_regs_struct *r)
{
	uint64_t cs_ptr;
	struct {
		uint32_t version, flags;
		uint64_t start_ip, post_commit_offset, abort_ip;
	} cs;

	if (!rec->rseq_ptr)
		return 0;
	if (task_mem_read(tid, rec->rseq_ptr + 8, &cs_ptr, sizeof(cs_ptr)))
		return -EIO;
	if (!cs_ptr)
		return 0;
	if (task_mem_read(tid, cs_ptr, &cs, sizeof(cs)))
		return -EIO;
	if (r->rip >= cs.start_ip && r->rip < cs.start_ip + cs.post_commit_offset) {
		pr_info("Thread %d inside an rseq critical section: ip -> abort %#lx\n", tid,
			(unsigned long)cs.abort_ip);
		r->rip = cs.abort_ip;
	}
	return 0;
}

static int dump_thread_kernel_state(pid_t tid, uint64_t ip, struct cr_thread_rec *rec)
{
	struct rseq_config rc;
	long args[6] = {0}, ret;
	uint64_t ctid = 0;
	struct {
		uint64_t sp;
		int32_t flags;
		int32_t pad;
		uint64_t size;
	} ss;
	int err;

	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, tid, sizeof(rc), &rc) == sizeof(rc)) {
		rec->rseq_ptr = rc.rseq_abi_pointer;
		rec->rseq_len = rc.rseq_abi_size;
		rec->rseq_sig = rc.signature;
	}
	if (syscall(SYS_get_robust_list, tid, &rec->robust_head, &rec->robust_len) < 0) {
		pr_perror("Can't get robust list of thread %d", tid);
		return -errno;
	}
	args[0] = PR_GET_TID_ADDRESS;
	err = infect_syscall_out(tid, ip, SYS_prctl, args, 1, &ctid, sizeof(ctid), &ret);
	if (err || ret < 0) {
		pr_err("Can't get clear_child_tid of thread %d (%ld)\n", tid, err ? err : ret);
		return err ? err : (int)ret;
	}
	rec->clear_child_tid = ctid;
	memset(args, 0, sizeof(args));
	err = infect_syscall_out(tid, ip, SYS_sigaltstack, args, 1, &ss, sizeof(ss), &ret);
	if (err || ret < 0) {
		pr_err("Can't get the alternate stack of thread %d (%ld)\n", tid, err ? err : ret);
		return err ? err : (int)ret;
	}
	rec->altstack_sp = ss.sp;
	rec->altstack_size = ss.size;
	rec->altstack_flags = ss.flags & ~SS_ONSTACK;
	return 0;
}

static int dump_one_thread(struct cr_img *img, const struct cr_task *t, const struct cr_thread *th,
			   uint64_t ip)
{
	pid_t pid = t->pid, tid = th->tid;
	struct cr_thread_rec rec;
	struct user_regs_struct regs;
	_Static_assert(sizeof(regs) == sizeof(rec.regs), "user_regs_struct layout");
	void *xsave = NULL;
	struct iovec iov;
	char *comm;
	int ret;

	memset(&rec, 0, sizeof(rec));
	rec.pid = t->ns_pid;
	rec.tid = th->ns_tid;
	if (ptrace(PTRACE_GETREGS, tid, 0, &regs) < 0 ||
	    ptrace(PTRACE_GETSIGMASK, tid, sizeof(rec.sigmask), &rec.sigmask) < 0) {
		pr_perror("Can't read registers of thread %d of task %d", tid, pid);
		return -errno;
	}
	xsave = calloc(1, XSAVE_MAX);
	if (!xsave)
		return -ENOMEM;
	iov.iov_base = xsave;
	iov.iov_len = XSAVE_MAX;
	if (ptrace(PTRACE_GETREGSET, tid, NT_X86_XSTATE, &iov) < 0) {
		pr_perror("Can't read xsave state of thread %d", tid);
		ret = -errno;
		goto out;
	}
	rec.xsave_size = iov.iov_len;
	if (sched_getaffinity(tid, sizeof(rec.cpumask), (cpu_set_t *)rec.cpumask) < 0) {
		pr_perror("Can't read the CPU affinity of thread %d", tid);
		ret = -errno;
		goto out;
	}
	ret = dump_thread_kernel_state(tid, ip, &rec);
	if (ret)
		goto out;
	fixup_syscall_restart(&regs);
	ret = fixup_rseq(tid, &rec, &regs);
	if (ret)
		goto out;
	memcpy(rec.regs, &regs, sizeof(regs));
	comm = proc_read_file("/proc/%d/task/%d/comm", pid, tid);
	if (comm) {
		comm[strcspn(comm, "\n")] = '\0';
		snprintf(rec.comm, sizeof(rec.comm), "%s", comm);
		free(comm);
	}
	ret = cr_img_write2(img, CR_REC_THREAD, &rec, sizeof(rec), xsave, rec.xsave_size);
out:
	free(xsave);
	return ret;
}

int dump_threads(struct cr_img *img, struct cr_task *t)
{
	uint64_t ip;
	int ret;

	ip = t->inject_ip;
	/* the thread group leader first: restore makes the others from it */
	for (size_t i = 0; i < t->nthreads; i++)
		if (t->threads[i].tid == t->pid &&
		    (ret = dump_one_thread(img, t, &t->threads[i], ip)))
			return ret;
	for (size_t i = 0; i < t->nthreads; i++) {
		if (t->threads[i].tid == t->pid)
			continue;
		ret = dump_one_thread(img, t, &t->threads[i], ip);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- restore ---- */

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

int fill_threads(struct rst_image *img, struct rst_img_task *t, struct rst_task *rt,
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
		fill_sigframe(f, xs, tr, img->hdr.xfeatures, img->skip);
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

#define MASK_WORDS 16 /* struct cr_thread_rec's cpumask: 1024 CPUs */

static bool mask_isset(const uint64_t *m, int cpu)
{
	return m[cpu / 64] & 1ull << (cpu % 64);
}

/* A list of CPUs into a mask; -EINVAL for one beyond the mask. */
static int mask_of(const int *cpus, size_t n, uint64_t *m)
{
	memset(m, 0, MASK_WORDS * sizeof(*m));
	for (size_t i = 0; i < n; i++) {
		if (cpus[i] < -1 || cpus[i] >= MASK_WORDS * 64) {
			pr_err("CPU %d of the CPU map is beyond %d CPUs\n", cpus[i],
			       MASK_WORDS * 64);
			return -EINVAL;
		}
		if (cpus[i] >= 0)
			m[cpus[i] / 64] |= 1ull << (cpus[i] % 64);
	}
	return 0;
}

/* One thread's mask through the map: none mapped is refused. */
static int remap_one(const struct cr_restore_opts *o, const uint64_t *mapped, const uint64_t *all,
		     const struct rst_img_task *t, struct cr_thread_rec *th)
{
	uint64_t out[MASK_WORDS] = {0};
	bool whole = o->ncpu_all > 0, none = true;

	for (int w = 0; w < MASK_WORDS; w++)
		whole = whole && (th->cpumask[w] & mapped[w]) == mapped[w];
	for (int c = 0; !whole && c < MASK_WORDS * 64 && (size_t)c < o->ncpu_map; c++)
		if (mask_isset(th->cpumask, c) && o->cpu_map[c] >= 0)
			out[o->cpu_map[c] / 64] |= 1ull << (o->cpu_map[c] % 64);
	if (whole)
		memcpy(out, all, sizeof(out));
	for (int w = 0; w < MASK_WORDS; w++)
		none = none && !out[w];
	if (none) {
		pr_err("Thread %d of task %d: none of the CPUs it was bound to maps to a CPU "
		       "here\n",
		       th->tid, t->rec->pid);
		return -EINVAL;
	}
	memcpy(th->cpumask, out, sizeof(out));
	return 0;
}

int remap_affinity(struct rst_image *img, const struct cr_restore_opts *opts)
{
	uint64_t mapped[MASK_WORDS] = {0}, all[MASK_WORDS];
	size_t n = opts ? opts->ncpu_map : 0;
	int ret;

	if (!n || (img->skip & RST_SKIP_AFFINITY))
		return 0;
	/* the map's CPUs checked (into a scratch mask) */
	ret = mask_of(opts->cpu_map, n < MASK_WORDS * 64 ? n : MASK_WORDS * 64, all);
	if (!ret)
		ret = mask_of(opts->cpu_all, opts->ncpu_all, all);
	for (size_t c = 0; c < n && c < MASK_WORDS * 64; c++)
		if (opts->cpu_map[c] >= 0)
			mapped[c / 64] |= 1ull << (c % 64);
	for (size_t i = 0; !ret && i < img->ntasks; i++)
		for (size_t k = 0; !ret && k < img->tasks[i].nthreads; k++)
			ret = remap_one(opts, mapped, all, &img->tasks[i],
					img->tasks[i].threads[k]);
	return ret;
}

/* The xsave features this CPU enables (XCR0) and the size of their area. */
void cpu_xsave_info(uint64_t *xcr0, uint32_t *size)
{
	unsigned int a, b, c, d;
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	*xcr0 = ((uint64_t)hi << 32) | lo;
	*size = __get_cpuid_count(0xd, 0, &a, &b, &c, &d) ? b : 0;
}
