/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A stand-in for libcr's cr_freeze/cr_release, for testing freeze-release.c
 * and run-case.sh's freeze mode before (and independently of) the engine:
 * it seizes and interrupts every thread of the tree until no new one shows
 * up, and detaches them on release. selftest.sh links freeze-release with
 * it and breaks it on purpose, to see the checks fire:
 *
 *	FAKE_FREEZE=nostop	seize but do not interrupt: threads run on
 *	FAKE_FREEZE=nodetach	release without detaching: threads stay traced
 */
#include <cr.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#define MAX_TIDS 4096

struct cr_frozen {
	size_t nprocs;
	int ntids;
	pid_t tids[MAX_TIDS];
};

void cr_log_setup(int fd, enum cr_log_level level)
{
	(void)fd;
	(void)level;
}

static pid_t ppid_of(const char *pid)
{
	char path[300], buf[512], *p;
	pid_t ppid = -1;
	char st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 2, "%c %d", &st, &ppid);
	fclose(f);
	return ppid;
}

static int seized(struct cr_frozen *f, pid_t tid)
{
	int i;

	for (i = 0; i < f->ntids; i++)
		if (f->tids[i] == tid)
			return 1;
	return 0;
}

/* Seize and stop one thread; 1 if it is now held, 0 if it is gone. */
static int hold(pid_t tid)
{
	const char *how = getenv("FAKE_FREEZE");
	int st;

	if (ptrace(PTRACE_SEIZE, tid, 0, 0))
		return 0;
	if (how && !strcmp(how, "nostop"))
		return 1;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0))
		return 0;
	for (;;) {
		if (waitpid(tid, &st, __WALL) != tid || !WIFSTOPPED(st))
			return 0;
		if (st >> 16 == PTRACE_EVENT_STOP)
			return 1;
		/* a signal arrived first: deliver it, the interrupt follows */
		ptrace(PTRACE_CONT, tid, 0, WSTOPSIG(st));
	}
}

/* Seize every thread of @pid not yet held; the number newly held. */
static int hold_threads(struct cr_frozen *f, pid_t pid)
{
	char path[64];
	struct dirent *de;
	int n = 0;
	pid_t tid;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)) && f->ntids < MAX_TIDS) {
		tid = atoi(de->d_name);
		if (tid > 0 && !seized(f, tid) && hold(tid)) {
			f->tids[f->ntids++] = tid;
			n++;
		}
	}
	closedir(d);
	return n;
}

/* One pass over the tree; the number of threads newly held. */
static int scan(struct cr_frozen *f, pid_t root)
{
	pid_t procs[MAX_TIDS], pp;
	int n = 1, i, grew = 0;
	struct dirent *de;
	DIR *d;

	procs[0] = root;
	for (i = 0; i < n; i++) {
		grew += hold_threads(f, procs[i]);
		d = opendir("/proc");
		if (!d)
			return -1;
		while ((de = readdir(d)) && n < MAX_TIDS) {
			if (!isdigit((unsigned char)de->d_name[0]))
				continue;
			pp = ppid_of(de->d_name);
			if (pp == procs[i])
				procs[n++] = atoi(de->d_name);
		}
		closedir(d);
	}
	f->nprocs = n;
	return grew;
}

int cr_freeze(pid_t root, const struct cr_freeze_opts *opts, struct cr_frozen **out)
{
	struct cr_frozen *f = calloc(1, sizeof(*f));
	int r;

	(void)opts;
	if (!f)
		return -ENOMEM;
	while ((r = scan(f, root)) > 0)
		;
	if (r < 0 || !f->ntids) {
		free(f);
		return -ESRCH;
	}
	*out = f;
	return 0;
}

size_t cr_frozen_ntasks(const struct cr_frozen *f)
{
	return f->nprocs;
}

int cr_release(struct cr_frozen *f, enum cr_release_mode mode)
{
	const char *how = getenv("FAKE_FREEZE");
	int i;

	for (i = 0; i < f->ntids; i++) {
		if (mode == CR_KILL)
			kill(f->tids[i], SIGKILL);
		else if (!how || strcmp(how, "nodetach"))
			ptrace(PTRACE_DETACH, f->tids[i], 0, 0);
	}
	free(f);
	return 0;
}
