/*
 * refuse_seccomp: a child whose seccomp filter kills the process on
 * rt_sigaction (SECCOMP_RET_KILL_PROCESS), one of the syscalls a dump
 * injects (arg "process"), or with that filter on a second thread only
 * (arg "thread": filters are per thread). cr checkpoint must refuse the
 * tree (exit 3), naming the task and the thread, before it injects
 * anything, and leave the tree running: filters are not checkpointed.
 * Checks (without a restart): the child is alive, the filter still there
 * ("Seccomp: 2"), and (process) it still acts: a grandchild that calls
 * rt_sigaction dies of SIGSYS.
 * Skip proof: none (refused).
 */
#include "zdtm.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/prctl.h>

/* Kill the process on rt_sigaction; allow everything else. */
static void install_filter(void)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_rt_sigaction, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {ARRAY_SIZE(code), code};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		test_fatal("seccomp filter");
}

static int seccomp_mode(pid_t tid)
{
	char path[64], buf[4096], *p;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	if (read_text(path, buf, sizeof(buf)) < 0 || !(p = strstr(buf, "\nSeccomp:")))
		return -1;
	return atoi(p + 9);
}

static volatile int thread_tid;

static void *filtered_thread(void *arg)
{
	(void)arg;
	install_filter();
	__atomic_store_n(&thread_tid, xgettid(), __ATOMIC_SEQ_CST);
	for (;;)
		msleep(10);
	return NULL;
}

/* The child: its filter on the process (its only thread) or on a second thread. */
static void child(struct barrier *b, bool in_thread)
{
	pid_t g, filtered = getpid();
	pthread_t th;
	int st;

	if (!in_thread) {
		install_filter();
	} else {
		if (pthread_create(&th, NULL, filtered_thread, NULL))
			test_fatal("pthread_create");
		while (!(filtered = __atomic_load_n(&thread_tid, __ATOMIC_SEQ_CST)))
			msleep(1);
	}
	dprintf(1, "EXPECT: Task %d: thread %d has a seccomp filter\n", getpid(), filtered);
	barrier_signal(b);
	test_wait_go();
	CHECK(seccomp_mode(filtered) == 2, "child: the filter of thread %d is gone", filtered);
	if (in_thread)
		test_child_done();
	g = fork();
	if (g == 0) {
		signal(SIGUSR1, SIG_IGN); /* rt_sigaction: the filter kills us */
		_exit(0);
	}
	st = wait_child(g, 5000);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
	      "child: the filter did not act (grandchild status %#x)", st);
	test_child_done();
}

int main(int argc, char **argv)
{
	bool in_thread = argc > 1 && !strcmp(argv[1], "thread");
	struct barrier b;
	pid_t pid;

	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid)
		child(&b, in_thread);
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();
	reap_child(pid, "child");
	test_done();
}
