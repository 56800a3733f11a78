/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the restoring process hands the restorer blob. Shared by restore.c
 * and restorer.c (freestanding: fixed-width types only, no libc headers).
 * All pointers are absolute addresses inside the bootstrap area.
 */
#ifndef CR_RESTORER_H
#define CR_RESTORER_H

#include <stdint.h>

#define RST_STAGE_BUILD 0
#define RST_STAGE_GO	1
#define RST_STAGE_ABORT 2

#define RST_MAX_PLACEHOLDERS 64

/* The control page, MAP_SHARED between the restarter and every task. */
struct rst_ctl {
	int32_t stage;	  /* futex: RST_STAGE_* */
	int32_t nchecked; /* futex: threads ready for rt_sigreturn */
	int32_t nerrors;
	int32_t err_pid;
	int32_t err_step;
	int32_t err_code;
	int32_t plan_step; /* futex: the tree-building step now running */
	int32_t plan_error;
	int32_t placeholders[RST_MAX_PLACEHOLDERS][2]; /* {plan pid, real pid} */
};

/* x86_64 kernel signal frame (arch/x86/include/uapi/asm/sigcontext.h). */
struct rst_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate;
	uint64_t reserved1[8];
};

struct rst_stack {
	uint64_t ss_sp;
	int32_t ss_flags;
	int32_t pad;
	uint64_t ss_size;
};

struct rst_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	struct rst_stack uc_stack;
	struct rst_sigcontext uc_mcontext;
	uint64_t uc_sigmask;
};

struct rst_sigframe {
	uint64_t pretcode;
	struct rst_ucontext uc;
	uint8_t info[128];
};

#define RST_UC_FP_XSTATE	 0x1
#define RST_UC_SIGCONTEXT_SS	 0x2
#define RST_UC_STRICT_RESTORE_SS 0x4

struct rst_range {
	uint64_t start, end;
};

/* Move one premapped mapping into place, then give it its protection. */
struct rst_vma {
	uint64_t premap;
	uint64_t start;
	uint64_t len;
	uint32_t prot;
	uint32_t madv; /* CR_MADV_* */
};

struct rst_thread {
	int32_t tid;
	int32_t pad;
	uint64_t sigframe; /* struct rst_sigframe * */
	uint64_t stack;	   /* base of a stack for a cloned thread */
	uint64_t stack_size;
	uint64_t clear_child_tid;
	uint64_t robust_head, robust_len;
	uint64_t fs_base, gs_base;
	uint64_t rseq_ptr;
	uint32_t rseq_len, rseq_sig;
	uint64_t siginfo; /* 128-byte siginfos to queue to this thread */
	uint32_t nsiginfo;
	uint32_t pad2;
	uint64_t task; /* struct rst_task * */
	char comm[16];
	uint64_t cpumask[16];
};

struct rst_task {
	int32_t pid; /* tgid, in the task's own pid namespace */
	int32_t skip;
	struct rst_range keep[3];     /* bootstrap, premap, runtime vDSO span: not unmapped */
	uint64_t ctl;		      /* struct rst_ctl * */
	struct rst_range vdso_rt[3];  /* [vvar] [vvar_vclock] [vdso] of this kernel (0 = absent) */
	struct rst_range vdso_img[3]; /* where the image had them */
	uint64_t vdso_tmp;	      /* scratch span inside bootstrap for the move */
	uint64_t engine_rseq;	      /* the restarter's own rseq area, to unregister */
	uint32_t engine_rseq_len, engine_rseq_sig;
	uint64_t vmas; /* struct rst_vma[] */
	uint32_t nvmas;
	uint32_t nthreads;
	uint64_t threads; /* struct rst_thread[]; [0] is the leader */
	uint64_t shared_siginfo;
	uint32_t nshared_siginfo;
	int32_t exe_fd;
	uint64_t mm_map[13]; /* struct prctl_mm_map (104 bytes) */
	uint32_t uid[4], gid[4];
	uint32_t ngroups;
	uint32_t groups[64];
	int32_t pdeathsig;
	uint32_t set_creds;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	uint32_t securebits;
	uint32_t no_new_privs;
	int32_t dumpable;
	uint32_t creds_done; /* threads whose creds are set: dumpable waits for them all */
	uint64_t itimer[3][4];
	uint64_t rlim[16][2]; /* cur, max: set last, a low RLIMIT_AS must not stop us */
	uint64_t timers;      /* struct rst_timer[] */
	uint32_t ntimers;
	uint32_t pad2;
};

/* Same layout as struct cr_timer in image.h. */
struct rst_timer {
	int32_t id, clockid, signo, notify, tid, pad;
	uint64_t sival;
	int64_t its[4];
};

/* Same values as CR_MADV_* in image.h. */
#define RST_MADV_DONTFORK   0x1
#define RST_MADV_WIPEONFORK 0x2
#define RST_MADV_HUGEPAGE   0x4
#define RST_MADV_NOHUGEPAGE 0x8
#define RST_MADV_DONTDUMP   0x10

/*
 * Debug switches (cr restart --skip): kinds of state deliberately not
 * restored, so each test can prove it sees the loss of what it checks.
 */
#define RST_SKIP_SIGACTS   0x000001
#define RST_SKIP_FDS	   0x000002
#define RST_SKIP_CREDS	   0x000004
#define RST_SKIP_RSEQ	   0x000008
#define RST_SKIP_SIGNALS   0x000010 /* pending signals */
#define RST_SKIP_MEMORY	   0x000020 /* page contents */
#define RST_SKIP_MISC	   0x000040 /* umask, cwd, root, personality, rlimits */
#define RST_SKIP_TIMERS	   0x000080 /* POSIX timers */
#define RST_SKIP_ITIMERS   0x000100
#define RST_SKIP_AFFINITY  0x000200
#define RST_SKIP_ALTSTACK  0x000400
#define RST_SKIP_SIGMASK   0x000800
#define RST_SKIP_PDEATHSIG 0x001000
#define RST_SKIP_DUMPABLE  0x002000
#define RST_SKIP_MADVISE   0x004000
#define RST_SKIP_STOPPED   0x008000
#define RST_SKIP_COMM	   0x010000
#define RST_SKIP_ROBUST	   0x020000 /* robust futex list */
#define RST_SKIP_TIDADDR   0x040000 /* clear_child_tid */
#define RST_SKIP_FPU	   0x080000 /* xsave area */
#define RST_SKIP_NNP	   0x100000 /* no_new_privs */
#define RST_SKIP_IPC	   0x200000 /* SysV IPC objects (libcr only: ipc.c) */
#define RST_SKIP_LOCKS	   0x400000 /* file locks (libcr only: locks.c) */

/* Steps named in rst_ctl.err_step, for messages. */
enum rst_step {
	RST_ERR_UNMAP = 1,
	RST_ERR_VDSO,
	RST_ERR_REMAP,
	RST_ERR_PROTECT,
	RST_ERR_MM,
	RST_ERR_CLONE,
	RST_ERR_THREAD,
	RST_ERR_SIGNALS,
	RST_ERR_CREDS,
	RST_ERR_LOCKS, /* libcr only: taking back the task's file locks (locks.c) */
};

#endif /* CR_RESTORER_H */
