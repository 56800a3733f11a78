/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the dump side shares: the frozen tree, /proc, ptrace, the dump context. */
#ifndef CR_INTERNAL_H
#define CR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cr.h"
#include "image.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#undef PAGE_SIZE
#define PAGE_SIZE 4096UL

struct cr_thread {
	pid_t tid;
	pid_t ns_tid; /* in the root task's pid namespace: what the image records */
	bool seized;
};

struct cr_task {
	pid_t pid, ppid, pgid, sid; /* as we see them: for /proc and ptrace */
	/* as the tree sees them, in its root's pid namespace (0: outside it) */
	pid_t ns_pid, ns_ppid, ns_pgid, ns_sid;
	bool zombie;
	bool stopped;	    /* in group stop when frozen: left stopped after release */
	bool gone;	    /* reaped while the tree was walked */
	uint64_t inject_ip; /* where injected syscalls run in it (dump.c finds it once) */
	int exit_status;
	int exit_signal;
	size_t nthreads;
	struct cr_thread *threads;
};

struct cr_frozen {
	pid_t root;
	int ns_level; /* index of the root's pid namespace in NSpid lines */
	size_t ntasks;
	struct cr_task *tasks;	/* tasks[0] is the root; parents before children */
	struct cr_netlock *net; /* netlock.h: with cr_freeze_opts.net_lock */
	double lock_seconds;	/* how long locking it took */
	uint32_t peer_net;	/* cr_freeze_opts.peer_net, peer_net_prefix */
	unsigned int peer_net_prefix;
};

/* proc.c: reading /proc */
struct proc_stat {
	pid_t ppid, pgid, sid;
	char state;
	unsigned long flags;
	uint64_t start_code, end_code, start_stack;
	uint64_t start_data, end_data, start_brk;
	uint64_t arg_start, arg_end, env_start, env_end;
	int exit_code;
	int exit_signal;
};
int proc_read_stat(pid_t pid, struct proc_stat *st);
/* Read a whole /proc file (or any small file) into a malloc'ed, NUL-terminated buffer. */
char *proc_read_file(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Value of "Key:" in /proc/pid/status, as a string (static buffer in caller). */
int proc_status_field(const char *status, const char *key, char *out, size_t outlen);
/* Children of every thread of @pid, appended to *pids. */
int proc_children(pid_t pid, pid_t **pids, size_t *npids);
/* Thread ids of @pid. */
int proc_threads(pid_t pid, pid_t **tids, size_t *ntids);
int proc_readlink(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* freeze.c / infect.c: ptrace */
int seize_wait_stop(pid_t tid);
/* Address of an executable byte run in @pid to host injected syscalls. */
int infect_find_ip(pid_t pid, uint64_t *ip);
int infect_syscall(pid_t tid, uint64_t ip, long nr, const long args[6], long *ret);
/*
 * Run a syscall in @tid whose argument number @outarg points to an output
 * buffer of @len bytes, placed below the thread's stack red zone.
 */
int infect_syscall_out(pid_t tid, uint64_t ip, long nr, long args[6], int outarg, void *out,
		       size_t len, long *ret);
int task_mem_read(pid_t pid, uint64_t addr, void *buf, size_t len);

/* What a dump remembers across tasks: objects written once. */
struct dump_shmem {
	dev_t dev;
	ino_t ino;
	uint64_t id;
};

struct dump_ctx {
	struct dump_shmem *shmem;
	size_t nshmem;
	uint64_t zero_pfn;
	void *files;		/* files.c */
	void *locks;		/* locks.c */
	pid_t root;		/* the tree's root task: recorded paths are resolved in its root */
	struct cr_netlock *net; /* the frozen tree's network lock, or NULL */
	const struct cr_frozen *tree; /* the frozen tree (its fds, for the socket index) */
	struct sk_index *sk;	      /* sockdiag.h: the tree's sockets, built on first use */
};

#endif /* CR_INTERNAL_H */
