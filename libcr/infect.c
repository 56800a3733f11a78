// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Running one syscall inside a ptrace-stopped thread: the state only the
 * task itself can report (sigactions, altstack, clear_child_tid...) and the
 * restorer's cleanup. "syscall; int3" is poked over an executable spot,
 * registers set, the thread continued to the trap, everything put back.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>

#undef LOG_PREFIX
#define LOG_PREFIX "infect: "
#include "log.h"
#include "internal.h"

#define RED_ZONE 128

int infect_find_ip(pid_t pid, uint64_t *ip)
{
	char *maps = proc_read_file("/proc/%d/maps", pid);
	char *line, *save = NULL;

	if (!maps) {
		pr_perror("Can't read maps of task %d", pid);
		return -ESRCH;
	}
	for (line = strtok_r(maps, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long start, end;
		char perms[5];

		if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) != 3)
			continue;
		if (perms[2] == 'x' && !strstr(line, "[vdso]") && !strstr(line, "[vsyscall]")) {
			*ip = start;
			free(maps);
			return 0;
		}
	}
	free(maps);
	pr_err("Task %d has no executable mapping to run a syscall in\n", pid);
	return -ENOEXEC;
}

static int wait_trap(pid_t tid)
{
	int status;

	for (;;) {
		if (waitpid(tid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			pr_perror("Can't wait for thread %d", tid);
			return -errno;
		}
		if (!WIFSTOPPED(status)) {
			pr_err("Thread %d died while running an injected syscall\n", tid);
			return -ESRCH;
		}
		if (WSTOPSIG(status) == SIGTRAP)
			return 0;
		/* anything else is blocked; a stop here is unexpected: keep going */
		if (ptrace(PTRACE_CONT, tid, 0, 0) < 0)
			return -errno;
	}
}

int infect_syscall(pid_t tid, uint64_t ip, long nr, const long args[6], long *ret)
{
	struct user_regs_struct saved, regs;
	uint64_t mask, allmask = ~0ULL & ~(1ULL << (SIGTRAP - 1));
	long orig, code;
	int err;

	if (ptrace(PTRACE_GETREGS, tid, 0, &saved) < 0 ||
	    ptrace(PTRACE_GETSIGMASK, tid, sizeof(mask), &mask) < 0) {
		pr_perror("Can't save registers of thread %d", tid);
		return -errno;
	}
	errno = 0;
	orig = ptrace(PTRACE_PEEKDATA, tid, ip, 0);
	if (errno) {
		pr_perror("Can't read code of thread %d at %#lx", tid, (unsigned long)ip);
		return -errno;
	}
	code = (orig & ~0xffffffL) | 0xcc050fL; /* 0f 05: syscall, cc: int3 */
	regs = saved;
	regs.rax = nr;
	regs.rdi = args[0];
	regs.rsi = args[1];
	regs.rdx = args[2];
	regs.r10 = args[3];
	regs.r8 = args[4];
	regs.r9 = args[5];
	regs.rip = ip;
	regs.orig_rax = -1;		     /* not in a syscall: nothing to restart */
	regs.eflags &= ~(0x100UL | 0x400UL); /* TF, DF */

	err = -EIO;
	if (ptrace(PTRACE_POKEDATA, tid, ip, code) < 0) {
		pr_perror("Can't write code into thread %d", tid);
		return -errno;
	}
	if (ptrace(PTRACE_SETSIGMASK, tid, sizeof(allmask), &allmask) < 0 ||
	    ptrace(PTRACE_SETREGS, tid, 0, &regs) < 0 || ptrace(PTRACE_CONT, tid, 0, 0) < 0) {
		pr_perror("Can't start injected syscall %ld in thread %d", nr, tid);
		goto out;
	}
	err = wait_trap(tid);
	if (err)
		goto out;
	if (ptrace(PTRACE_GETREGS, tid, 0, &regs) < 0) {
		err = -errno;
		goto out;
	}
	*ret = (long)regs.rax;
	err = 0;
out:
	if (ptrace(PTRACE_POKEDATA, tid, ip, orig) < 0 ||
	    ptrace(PTRACE_SETREGS, tid, 0, &saved) < 0 ||
	    ptrace(PTRACE_SETSIGMASK, tid, sizeof(mask), &mask) < 0) {
		pr_perror("Can't restore thread %d after an injected syscall", tid);
		return -EIO;
	}
	return err;
}

int task_mem_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len}, remote = {(void *)addr, len};
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n != (ssize_t)len) {
		pr_perror("Can't read %zu bytes at %#lx of task %d", len, (unsigned long)addr, pid);
		return n < 0 ? -errno : -EIO;
	}
	return 0;
}

int infect_syscall_out(pid_t tid, uint64_t ip, long nr, long args[6], int outarg, void *out,
		       size_t len, long *ret)
{
	struct user_regs_struct regs;
	uint64_t scratch;
	int err;

	if (ptrace(PTRACE_GETREGS, tid, 0, &regs) < 0) {
		pr_perror("Can't read registers of thread %d", tid);
		return -errno;
	}
	scratch = (regs.rsp - RED_ZONE - len) & ~15UL;
	args[outarg] = (long)scratch;
	err = infect_syscall(tid, ip, nr, args, ret);
	if (err)
		return err;
	if (*ret < 0 && *ret > -4096)
		return 0; /* the caller judges the syscall's own error */
	return task_mem_read(tid, scratch, out, len);
}
