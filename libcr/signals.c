// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Signals: dispositions (kernel struct sigaction, asked from inside the
 * task) and pending signals with their siginfo, per thread and shared.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#undef LOG_PREFIX
#define LOG_PREFIX "signals: "
#include "internal.h"
#include "log.h"
#include "signals.h"

#define SIGINFO_SIZE 128

static int dump_sigactions(struct cr_img *img, struct cr_task *t)
{
	struct cr_sigacts_rec rec;
	uint64_t ip;
	int ret;

	memset(&rec, 0, sizeof(rec));
	rec.pid = t->ns_pid;
	ip = t->inject_ip;
	for (int sig = 1; sig <= 64; sig++) {
		long args[6] = {sig, 0, 0, 8, 0, 0}, sret;

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		ret = infect_syscall_out(t->pid, ip, SYS_rt_sigaction, args, 2, &rec.act[sig - 1],
					 sizeof(rec.act[0]), &sret);
		if (ret || sret < 0) {
			pr_err("Can't get the action of signal %d of task %d (%ld)\n", sig, t->pid,
			       ret ? ret : sret);
			return ret ? ret : (int)sret;
		}
	}
	return cr_img_write(img, CR_REC_SIGACTS, &rec, sizeof(rec));
}

/* @tid is ours (for ptrace), the record gets the tree's own ids */
static int dump_pending(struct cr_img *img, const struct cr_task *t, const struct cr_thread *th,
			bool shared)
{
	pid_t tid = th->tid;
	struct __ptrace_peeksiginfo_args a = {.off = 0,
					      .flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0};
	struct cr_siginfo_rec rec = {.pid = t->ns_pid, .tid = shared ? 0 : th->ns_tid};
	char *buf = NULL;
	int n;

	for (;;) {
		char *nb = realloc(buf, (rec.nsig + 32) * SIGINFO_SIZE);

		if (!nb) {
			free(buf);
			return -ENOMEM;
		}
		buf = nb;
		a.off = rec.nsig;
		a.nr = 32;
		n = ptrace(PTRACE_PEEKSIGINFO, tid, &a, buf + rec.nsig * SIGINFO_SIZE);
		if (n < 0) {
			pr_perror("Can't read pending signals of thread %d", tid);
			free(buf);
			return -errno;
		}
		if (n == 0)
			break;
		rec.nsig += n;
	}
	n = rec.nsig ? cr_img_write2(img, CR_REC_SIGINFO, &rec, sizeof(rec), buf,
				     rec.nsig * SIGINFO_SIZE)
		     : 0;
	free(buf);
	return n;
}

int dump_signals(struct cr_img *img, struct cr_task *t)
{
	int ret = dump_sigactions(img, t);

	if (!ret)
		ret = dump_pending(img, t, &t->threads[0], true);
	for (size_t i = 0; i < t->nthreads && !ret; i++)
		ret = dump_pending(img, t, &t->threads[i], false);
	return ret;
}

/* ---- restore ---- */

/* In the task, with every signal blocked: the handlers live in memory the
 * restorer maps, so nothing may be delivered before rt_sigreturn. */
int restore_sigactions(struct rst_img_task *t)
{
	if (!t->sigacts)
		return 0;
	for (int sig = 1; sig <= 64; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (syscall(SYS_rt_sigaction, sig, &t->sigacts->act[sig - 1], NULL, 8) < 0) {
			pr_perror("Can't restore the action of signal %d of task %d", sig,
				  t->rec->pid);
			return -errno;
		}
	}
	return 0;
}

/* The task's shared pending signals, for the restorer to queue again. */
int fill_sigsets(struct rst_img_task *t, struct rst_task *rt, struct arg_area *a)
{
	void *p;

	for (size_t k = 0; k < t->nsigsets; k++) {
		if (t->sigsets[k].tid || !t->sigsets[k].nsig)
			continue;
		p = area_take(a, t->sigsets[k].nsig * 128, 8);
		if (!p)
			return -ENOSPC;
		memcpy(p, t->sigsets[k].info, t->sigsets[k].nsig * 128);
		rt->shared_siginfo = (uint64_t)p;
		rt->nshared_siginfo = t->sigsets[k].nsig;
	}
	return 0;
}
