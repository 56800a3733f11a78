// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The restorer: position-independent code run by each restored task after
 * the restarter has built its mappings in a scratch area. It replaces the
 * address space, recreates threads and returns into the saved registers
 * with rt_sigreturn. No libc, no TLS, no globals: it runs while everything
 * else in the address space is being torn down.
 */
#include "restorer.h"

#define NR_mmap		     9
#define NR_mprotect	     10
#define NR_munmap	     11
#define NR_rt_sigprocmask    14
#define NR_rt_sigreturn	     15
#define NR_close	     3
#define NR_mremap	     25
#define NR_getpid	     39
#define NR_exit		     60
#define NR_prctl	     157
#define NR_arch_prctl	     158
#define NR_setgroups	     116
#define NR_setresuid	     117
#define NR_setresgid	     119
#define NR_futex	     202
#define NR_set_tid_address   218
#define NR_exit_group	     231
#define NR_set_robust_list   273
#define NR_rt_tgsigqueueinfo 297
#define NR_rt_sigqueueinfo   129
#define NR_rseq		     334
#define NR_clone3	     435
#define NR_madvise	     28
#define NR_setitimer	     38
#define NR_capget	     125
#define NR_capset	     126
#define NR_setfsuid	     122
#define NR_setfsgid	     123
#define NR_sched_setaffinity 203
#define NR_prlimit64	     302
#define NR_timer_create	     222
#define NR_timer_settime     223

#define MREMAP_MAYMOVE		    1
#define MREMAP_FIXED		    2
#define PR_SET_NAME		    15
#define PR_SET_PDEATHSIG	    1
#define PR_SET_MM		    35
#define PR_SET_MM_MAP		    14
#define ARCH_SET_GS		    0x1001
#define ARCH_SET_FS		    0x1002
#define FUTEX_WAIT		    0
#define FUTEX_WAKE		    1
#define RSEQ_FLAG_UNREGISTER	    1
#define PR_SET_DUMPABLE		    4
#define PR_SET_KEEPCAPS		    8
#define PR_CAPBSET_DROP		    24
#define PR_SET_SECUREBITS	    28
#define PR_SET_NO_NEW_PRIVS	    38
#define PR_CAP_AMBIENT		    47
#define PR_CAP_AMBIENT_RAISE	    2
#define SECBIT_KEEP_CAPS	    0x10
#define PR_TIMER_CREATE_RESTORE_IDS 77
#define TASK_SIZE		    0x7ffffffff000ULL

#define CLONE_VM      0x00000100
#define CLONE_FS      0x00000200
#define CLONE_FILES   0x00000400
#define CLONE_SIGHAND 0x00000800
#define CLONE_THREAD  0x00010000
#define CLONE_SYSVSEM 0x00040000

#define RST_API __attribute__((visibility("hidden")))

static inline long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define sys1(n, a)	       sys6(n, (long)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b)	       sys6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c)       sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d)    sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define sys5(n, a, b, c, d, e) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

struct clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	uint64_t set_tid, set_tid_size, cgroup;
};

/* The compiler may emit calls to these for struct copies. */
RST_API void *memset(void *s, int c, unsigned long n)
{
	unsigned char *p = s;

	while (n--)
		*p++ = (unsigned char)c;
	return s;
}

RST_API void *memcpy(void *d, const void *s, unsigned long n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

static void fail(struct rst_task *t, int step, long code)
{
	struct rst_ctl *ctl = (struct rst_ctl *)t->ctl;

	if (__atomic_fetch_add(&ctl->nerrors, 1, __ATOMIC_SEQ_CST) == 0) {
		ctl->err_pid = t->pid;
		ctl->err_step = step;
		ctl->err_code = (int32_t)code;
	}
	sys6(NR_futex, (long)&ctl->nchecked, FUTEX_WAKE, 1 << 30, 0, 0, 0);
	sys1(NR_exit_group, 1);
	for (;;)
		;
}

/* Unmap everything but the three ranges we keep (sorted here, at most 3). */
static long unmap_others(struct rst_task *t)
{
	struct rst_range r[3];
	uint64_t cur = 0;
	long ret;

	for (int i = 0; i < 3; i++)
		r[i] = t->keep[i];
	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++)
			if (r[j].start < r[i].start) {
				struct rst_range tmp = r[i];

				r[i] = r[j];
				r[j] = tmp;
			}
	for (int i = 0; i < 3; i++) {
		if (r[i].start == r[i].end)
			continue;
		if (r[i].start > cur) {
			ret = sys2(NR_munmap, cur, r[i].start - cur);
			if (ret)
				return ret;
		}
		if (r[i].end > cur)
			cur = r[i].end;
	}
	return sys2(NR_munmap, cur, TASK_SIZE - cur);
}

/* Park this kernel's vDSO trio at a scratch spot, then where the image had it. */
static long move_vdso(struct rst_task *t)
{
	uint64_t base = t->vdso_rt[0].start, tmp = t->vdso_tmp;
	long ret;

	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < 3; i++) {
			struct rst_range *rt = &t->vdso_rt[i];
			uint64_t len = rt->end - rt->start, from, to;

			if (!len)
				continue;
			from = pass == 0 ? rt->start : tmp + (rt->start - base);
			to = pass == 0 ? tmp + (rt->start - base) : t->vdso_img[i].start;
			ret = sys5(NR_mremap, from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
			if (ret != (long)to)
				return ret < 0 ? ret : -1;
		}
	}
	return 0;
}

static long remap_vmas(struct rst_task *t)
{
	struct rst_vma *v = (struct rst_vma *)t->vmas;
	long ret;

	for (uint32_t i = 0; i < t->nvmas; i++) {
		ret = sys5(NR_mremap, v[i].premap, v[i].len, v[i].len,
			   MREMAP_MAYMOVE | MREMAP_FIXED, v[i].start);
		if (ret != (long)v[i].start)
			return ret < 0 ? ret : -1;
	}
	for (uint32_t i = 0; i < t->nvmas; i++) {
		static const int advice[] = {10, 18, 14, 15, 16}; /* in RST_MADV_* bit order */

		ret = sys3(NR_mprotect, v[i].start, v[i].len, v[i].prot);
		for (int b = 0; !ret && b < 5; b++)
			if ((v[i].madv & (1u << b)) && !(t->skip & RST_SKIP_MADVISE))
				ret = sys3(NR_madvise, v[i].start, v[i].len, advice[b]);
		if (ret)
			return ret;
	}
	return 0;
}

/* Credentials of the calling thread, last: after them it may no longer be root. */
static long capset3(uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct {
		uint32_t version;
		int32_t pid;
	} hdr = {0x20080522, 0}; /* _LINUX_CAPABILITY_VERSION_3 */
	struct {
		uint32_t eff, prm, inh;
	} data[2] = {{(uint32_t)eff, (uint32_t)prm, (uint32_t)inh},
		     {(uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32)}};

	return sys2(NR_capset, &hdr, data);
}

static long permitted_caps(uint64_t *prm)
{
	struct {
		uint32_t version;
		int32_t pid;
	} hdr = {0x20080522, 0};
	struct {
		uint32_t eff, prm, inh;
	} data[2];
	long ret = sys2(NR_capget, &hdr, data);

	*prm = data[0].prm | ((uint64_t)data[1].prm << 32);
	return ret;
}

/*
 * Credentials of the calling thread, last: after them it may no longer be
 * root. The permitted set is kept across the uid change (KEEP_CAPS) and
 * made effective to finish: fs ids, ambient set, securebits, then the
 * image's capability sets.
 */
static void set_creds(struct rst_task *t)
{
	uint64_t prm = 0;
	long ret;

	if (!t->set_creds)
		return;
	ret = sys2(NR_setgroups, t->ngroups, t->groups);
	if (!ret)
		ret = sys3(NR_setresgid, t->gid[0], t->gid[1], t->gid[2]);
	if (!ret)
		sys1(NR_setfsgid, t->gid[3]);
	for (int cap = 0; !ret && cap < 64; cap++)
		if (!(t->cap_bnd & (1ULL << cap)) && sys2(NR_prctl, PR_CAPBSET_DROP, cap) == -22)
			break; /* EINVAL: past the kernel's last capability */
	if (!ret)
		ret = sys2(NR_prctl, PR_SET_SECUREBITS, SECBIT_KEEP_CAPS);
	if (!ret)
		ret = sys3(NR_setresuid, t->uid[0], t->uid[1], t->uid[2]);
	if (!ret)
		ret = permitted_caps(&prm);
	if (!ret)
		ret = capset3(prm, prm, t->cap_inh);
	if (!ret)
		sys1(NR_setfsuid, t->uid[3]);
	for (int cap = 0; !ret && cap < 64; cap++)
		if (t->cap_amb & (1ULL << cap))
			ret = sys5(NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
	if (!ret)
		ret = sys2(NR_prctl, PR_SET_SECUREBITS, t->securebits);
	if (!ret)
		ret = capset3(t->cap_eff, t->cap_prm, t->cap_inh);
	if (!ret && t->no_new_privs && !(t->skip & RST_SKIP_NNP))
		ret = sys5(NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (ret)
		fail(t, RST_ERR_CREDS, ret);
}

/* POSIX timers with their old ids, armed with the time they had left. */
static long create_timers(struct rst_task *t)
{
	struct rst_timer *tm = (struct rst_timer *)t->timers;
	long ret;

	if (!t->ntimers)
		return 0;
	ret = sys2(NR_prctl, PR_TIMER_CREATE_RESTORE_IDS, 1);
	for (uint32_t i = 0; !ret && i < t->ntimers; i++) {
		struct {
			uint64_t value;
			int32_t signo, notify, tid;
			int32_t pad[11];
		} sev;
		int32_t id = tm[i].id;
		int64_t *its = tm[i].its;

		memset(&sev, 0, sizeof(sev));
		sev.value = tm[i].sival;
		sev.signo = tm[i].signo;
		sev.notify = tm[i].notify;
		sev.tid = tm[i].tid;
		ret = sys3(NR_timer_create, tm[i].clockid, &sev, &id);
		if (!ret && id != tm[i].id)
			ret = -1;
		if (!ret && !its[2] && !its[3] && (its[0] || its[1])) {
			its[2] = its[0]; /* expired, signal pending: keep it periodic */
			its[3] = its[1];
		}
		if (!ret && (its[2] || its[3]))
			ret = sys4(NR_timer_settime, id, 0, its, 0);
	}
	if (!ret)
		ret = sys2(NR_prctl, PR_TIMER_CREATE_RESTORE_IDS, 0);
	return ret;
}

/* Process-wide state that credential changes reset: dumpable, timers. */
static void set_task_final(struct rst_task *t)
{
	long ret = 0;

	if (t->pdeathsig && !(t->skip & RST_SKIP_PDEATHSIG))
		ret = sys2(NR_prctl, PR_SET_PDEATHSIG, t->pdeathsig);
	if (!ret && !(t->skip & RST_SKIP_DUMPABLE))
		ret = sys2(NR_prctl, PR_SET_DUMPABLE, t->dumpable);
	for (int which = 0; !ret && which < 3; which++) {
		uint64_t *it = t->itimer[which];

		/* a periodic timer whose signal is still pending reads 0: the kernel
		 * rearms it when the signal is taken; keep it periodic */
		if (!it[2] && !it[3] && (it[0] || it[1])) {
			it[2] = it[0];
			it[3] = it[1];
		}
		if (it[2] || it[3])
			ret = sys3(NR_setitimer, which, it, 0);
	}
	if (!ret)
		ret = create_timers(t);
	for (int res = 0; !ret && !(t->skip & RST_SKIP_MISC) && res < 16; res++)
		ret = sys4(NR_prlimit64, 0, res, t->rlim[res], 0);
	if (ret)
		fail(t, RST_ERR_THREAD, ret);
}

static void queue_signals(struct rst_task *t, struct rst_thread *th, int leader)
{
	uint8_t *si = (uint8_t *)th->siginfo;
	long ret;

	for (uint32_t i = 0; i < th->nsiginfo; i++, si += 128) {
		ret = sys4(NR_rt_tgsigqueueinfo, t->pid, th->tid, *(int32_t *)si, si);
		if (ret)
			fail(t, RST_ERR_SIGNALS, ret);
	}
	if (!leader)
		return;
	si = (uint8_t *)t->shared_siginfo;
	for (uint32_t i = 0; i < t->nshared_siginfo; i++, si += 128) {
		ret = sys3(NR_rt_sigqueueinfo, t->pid, *(int32_t *)si, si);
		if (ret)
			fail(t, RST_ERR_SIGNALS, ret);
	}
}

/* Every thread ends here: its own kernel state, then wait, then sigreturn. */
static __attribute__((noreturn)) void restore_thread(struct rst_thread *th)
{
	struct rst_task *t = (struct rst_task *)th->task;
	struct rst_ctl *ctl = (struct rst_ctl *)t->ctl;
	int leader = th->tid == t->pid;
	long ret;

	if (!(t->skip & RST_SKIP_COMM))
		sys2(NR_prctl, PR_SET_NAME, th->comm);
	sys1(NR_set_tid_address, t->skip & RST_SKIP_TIDADDR ? 0 : th->clear_child_tid);
	if (th->robust_head && !(t->skip & RST_SKIP_ROBUST) &&
	    (ret = sys2(NR_set_robust_list, th->robust_head, th->robust_len)))
		fail(t, RST_ERR_THREAD, ret);
	ret = sys2(NR_arch_prctl, ARCH_SET_FS, th->fs_base);
	if (!ret)
		ret = sys2(NR_arch_prctl, ARCH_SET_GS, th->gs_base);
	if (ret)
		fail(t, RST_ERR_THREAD, ret);
	if (th->rseq_ptr && !(t->skip & RST_SKIP_RSEQ) &&
	    (ret = sys4(NR_rseq, th->rseq_ptr, th->rseq_len, 0, th->rseq_sig)))
		fail(t, RST_ERR_THREAD, ret);
	if (!(t->skip & RST_SKIP_SIGNALS))
		queue_signals(t, th, leader);
	/* best effort: the CPUs of the checkpointing node may not exist here */
	if (!(t->skip & RST_SKIP_AFFINITY))
		sys3(NR_sched_setaffinity, 0, sizeof(th->cpumask), th->cpumask);
	set_creds(t);
	/* Each thread's credential change resets the shared mm's dumpable flag. */
	__atomic_fetch_add(&t->creds_done, 1, __ATOMIC_SEQ_CST);
	sys6(NR_futex, (long)&t->creds_done, FUTEX_WAKE, 1 << 30, 0, 0, 0);
	if (leader) {
		uint32_t n;

		while ((n = __atomic_load_n(&t->creds_done, __ATOMIC_SEQ_CST)) < t->nthreads)
			sys6(NR_futex, (long)&t->creds_done, FUTEX_WAIT, n, 0, 0, 0);
		set_task_final(t);
	}

	__atomic_fetch_add(&ctl->nchecked, 1, __ATOMIC_SEQ_CST);
	sys6(NR_futex, (long)&ctl->nchecked, FUTEX_WAKE, 1 << 30, 0, 0, 0);
	while (__atomic_load_n(&ctl->stage, __ATOMIC_SEQ_CST) == RST_STAGE_BUILD)
		sys6(NR_futex, (long)&ctl->stage, FUTEX_WAIT, RST_STAGE_BUILD, 0, 0, 0);
	if (ctl->stage != RST_STAGE_GO)
		sys1(NR_exit_group, 1);

	__asm__ volatile("mov %0, %%rsp\n"
			 "mov $15, %%eax\n"
			 "syscall\n"
			 "ud2\n"
			 :
			 : "r"(th->sigframe + 8)
			 : "memory");
	__builtin_unreachable();
}

/* clone3 a thread onto its own stack; the child calls restore_thread(th). */
static long clone_thread(struct clone_args *ca, struct rst_thread *th)
{
	long ret;

	__asm__ volatile("syscall\n"
			 "test %%rax, %%rax\n"
			 "jnz 1f\n"
			 "mov %[th], %%rdi\n"
			 "call *%[fn]\n"
			 "ud2\n"
			 "1:\n"
			 : "=a"(ret)
			 : "a"(NR_clone3), "D"(ca),
			   "S"(sizeof(*ca)), [th] "r"(th), [fn] "r"(restore_thread)
			 : "rcx", "r11", "memory");
	return ret;
}

static void create_threads(struct rst_task *t)
{
	struct rst_thread *th = (struct rst_thread *)t->threads;

	for (uint32_t i = 1; i < t->nthreads; i++) {
		uint64_t tid = (uint64_t)th[i].tid;
		struct clone_args ca;
		long ret;

		memset(&ca, 0, sizeof(ca));
		ca.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			   CLONE_SYSVSEM;
		ca.stack = th[i].stack;
		ca.stack_size = th[i].stack_size;
		ca.set_tid = (uint64_t)&tid;
		ca.set_tid_size = 1;
		ret = clone_thread(&ca, &th[i]);
		if (ret != th[i].tid)
			fail(t, RST_ERR_CLONE, ret < 0 ? ret : -1);
	}
}

__attribute__((section(".text.entry"), used, noreturn)) void rst_entry(struct rst_task *t)
{
	long ret;

	if (t->engine_rseq)
		sys4(NR_rseq, t->engine_rseq, t->engine_rseq_len, RSEQ_FLAG_UNREGISTER,
		     t->engine_rseq_sig);
	ret = unmap_others(t);
	if (ret)
		fail(t, RST_ERR_UNMAP, ret);
	ret = move_vdso(t);
	if (ret)
		fail(t, RST_ERR_VDSO, ret);
	ret = remap_vmas(t);
	if (ret)
		fail(t, RST_ERR_REMAP, ret);
	ret = sys5(NR_prctl, PR_SET_MM, PR_SET_MM_MAP, (long)t->mm_map, 104, 0);
	if (ret)
		fail(t, RST_ERR_MM, ret);
	if (t->exe_fd >= 0)
		sys1(NR_close, t->exe_fd);
	create_threads(t);
	restore_thread((struct rst_thread *)t->threads);
}
