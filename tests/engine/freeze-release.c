/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Freeze a running tree and release it, with no dump, through the library:
 *
 *	freeze-release [-n TIMES] [-h HOLD_MS] [-g GAP_MS] [-w FILE] PID
 *
 * TIMES times: cr_freeze(PID), check that every live thread of the tree is
 * in ptrace-stop with this process as its tracer, hold it HOLD_MS (FILE, the
 * workload's stdout, must not grow meanwhile), cr_release(CR_RESUME), check
 * that no thread is traced any more, let it run GAP_MS. The workload's own
 * output, compared by run-case.sh, shows that it was unharmed.
 * Exit 0 if all went well, 1 with a message naming the freeze, task and
 * thread otherwise, 2 on a usage error.
 */
#include <cr.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_PIDS 4096

static int nfail;

static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "freeze-release: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	nfail++;
}

static void msleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* /proc/PID, or /proc/PID/task/TID when TID > 0. */
static void proc_dir(char *buf, size_t len, pid_t pid, pid_t tid)
{
	if (tid > 0)
		snprintf(buf, len, "/proc/%d/task/%d", pid, tid);
	else
		snprintf(buf, len, "/proc/%d", pid);
}

/* State letter and parent of a process or thread, or -1 if it is gone. */
static int read_stat(pid_t pid, pid_t tid, char *state, pid_t *ppid)
{
	char path[80], buf[512], *p;
	FILE *f;
	int ok;

	proc_dir(path, sizeof(path) - 5, pid, tid);
	strcat(path, "/stat");
	f = fopen(path, "r");
	if (!f)
		return -1;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	p = ok ? strrchr(buf, ')') : NULL;
	if (!p || sscanf(p + 2, "%c %d", state, ppid) != 2)
		return -1;
	return 0;
}

static pid_t tracer_of(pid_t pid, pid_t tid)
{
	char path[80], line[256];
	pid_t tracer = -1;
	FILE *f;

	proc_dir(path, sizeof(path) - 7, pid, tid);
	strcat(path, "/status");
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TracerPid: %d", &tracer) == 1)
			break;
	fclose(f);
	return tracer;
}

/* The processes of the tree rooted at @root (root first); their number. */
static int tree_pids(pid_t root, pid_t *out)
{
	static pid_t all[MAX_PIDS], parent[MAX_PIDS];
	int nall = 0, n = 0, i, j;
	struct dirent *de;
	char st;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		return 0;
	while ((de = readdir(d)) && nall < MAX_PIDS) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		all[nall] = atoi(de->d_name);
		if (read_stat(all[nall], 0, &st, &parent[nall]) == 0)
			nall++;
	}
	closedir(d);
	out[n++] = root;
	for (i = 0; i < n; i++) /* breadth first: children after parents */
		for (j = 0; j < nall && n < MAX_PIDS; j++)
			if (parent[j] == out[i])
				out[n++] = all[j];
	return n;
}

/*
 * Check every thread of the tree: @held, in ptrace-stop and traced by us;
 * otherwise not traced. Zombies and exiting threads are skipped. Returns
 * the number of threads seen.
 */
static int check_tree(pid_t root, int held, int round)
{
	static pid_t pids[MAX_PIDS];
	int n = tree_pids(root, pids), i, seen = 0;
	pid_t pp, tracer, tid;
	struct dirent *de;
	char dir[64], st;
	DIR *d;

	for (i = 0; i < n; i++) {
		snprintf(dir, sizeof(dir), "/proc/%d/task", pids[i]);
		d = opendir(dir);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			if (!isdigit((unsigned char)de->d_name[0]))
				continue;
			tid = atoi(de->d_name);
			if (read_stat(pids[i], tid, &st, &pp) || st == 'Z' || st == 'X')
				continue;
			tracer = tracer_of(pids[i], tid);
			seen++;
			if (held && (st != 't' || tracer != getpid()))
				bad("freeze %d: thread %d (process %d) not in ptrace-stop "
				    "under us (%d): state %c, tracer %d\n",
				    round, tid, pids[i], getpid(), st, tracer);
			if (!held && tracer > 0)
				bad("release %d: thread %d of process %d is still traced by %d "
				    "(state %c)\n",
				    round, tid, pids[i], tracer, st);
		}
		closedir(d);
	}
	return seen;
}

static off_t file_size(const char *path)
{
	struct stat sb;

	return path && stat(path, &sb) == 0 ? sb.st_size : -1;
}

static int one_round(pid_t pid, int round, long hold_ms, const char *watch)
{
	struct cr_frozen *f;
	off_t before, after;
	int r, threads;
	size_t ntasks;

	r = cr_freeze(pid, NULL, &f);
	if (r < 0) {
		bad("freeze %d: cr_freeze(%d): %s\n", round, pid, strerror(-r));
		return -1;
	}
	ntasks = cr_frozen_ntasks(f);
	threads = check_tree(pid, 1, round);
	before = file_size(watch);
	msleep(hold_ms);
	after = file_size(watch);
	if (before != after)
		bad("freeze %d: %s grew from %lld to %lld bytes while the tree was frozen\n", round,
		    watch, (long long)before, (long long)after);
	if (ntasks < 1)
		bad("freeze %d: cr_frozen_ntasks() is %zu\n", round, ntasks);
	r = cr_release(f, CR_RESUME);
	if (r < 0)
		bad("release %d: cr_release(CR_RESUME): %s\n", round, strerror(-r));
	check_tree(pid, 0, round);
	printf("freeze %d: %zu tasks, %d live threads checked, held %ld ms\n", round, ntasks,
	       threads, hold_ms);
	return 0;
}

int main(int argc, char **argv)
{
	long hold = 100, gap = 100;
	const char *watch = NULL;
	int times = 3, i, c;
	pid_t pid;

	while ((c = getopt(argc, argv, "n:h:g:w:")) != -1) {
		switch (c) {
		case 'n':
			times = atoi(optarg);
			break;
		case 'h':
			hold = atol(optarg);
			break;
		case 'g':
			gap = atol(optarg);
			break;
		case 'w':
			watch = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || (pid = atoi(argv[optind])) <= 0 || times < 1)
		goto usage;
	setvbuf(stdout, NULL, _IOLBF, 0);
	cr_log_setup(2, CR_LOG_WARN);
	for (i = 1; i <= times; i++) {
		if (one_round(pid, i, hold, watch))
			break;
		msleep(gap);
	}
	if (nfail)
		fprintf(stderr, "freeze-release: %d check(s) failed\n", nfail);
	return nfail ? 1 : 0;
usage:
	fprintf(stderr, "usage: %s [-n TIMES] [-h HOLD_MS] [-g GAP_MS] [-w FILE] PID\n", argv[0]);
	return 2;
}
