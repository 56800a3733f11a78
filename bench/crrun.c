// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Run a command; report its wall time and the peak RSS of that process alone.
 *
 *   crrun OUT CMD ARG...
 *
 * Writes "WALL_SECONDS VMHWM_KB EXIT_STATUS" to OUT. The command's stdio is
 * ours. VmHWM is read from /proc/PID/status at PTRACE_EVENT_EXIT, when the
 * process is exiting but still has its mm: the exact peak of that process
 * itself, not of its children (which getrusage/time(1) would mix in). It is
 * also polled every 10 ms by a thread meanwhile, so a value exists even if
 * the exit stop is missed (the larger of both is reported). The only ptrace stops are that
 * one and signal deliveries, which are passed on unchanged; children of the
 * command are not traced.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long read_hwm(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6))
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

static pid_t child;
static volatile long polled = -1;
static volatile int done;

static void *poller(void *arg)
{
	(void)arg;
	while (!done) {
		long kb = read_hwm(child);

		if (kb > polled)
			polled = kb;
		usleep(10000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long hwm = -1, kb;
	pthread_t th;
	double t0, t1;
	int status, code;
	FILE *out;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: crrun OUT CMD ARG...\n");
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("crrun: fork");
		return 1;
	}
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0)
			_exit(126);
		raise(SIGSTOP);
		execvp(argv[2], argv + 2);
		perror("crrun: exec");
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
		fprintf(stderr, "crrun: child did not stop\n");
		return 1;
	}
	ptrace(PTRACE_SETOPTIONS, pid, 0,
	       PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL);
	child = pid;
	pthread_create(&th, NULL, poller, NULL);
	t0 = now();
	ptrace(PTRACE_CONT, pid, 0, 0);
	for (;;) {
		pid_t got = waitpid(pid, &status, 0);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			perror("crrun: waitpid");
			return 1;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
		if (WIFSTOPPED(status)) {
			int sig = WSTOPSIG(status), ev = status >> 16;

			if (ev == PTRACE_EVENT_EXIT) {
				kb = read_hwm(pid);
				if (kb > hwm)
					hwm = kb;
				sig = 0;
			} else if (ev == PTRACE_EVENT_EXEC) {
				sig = 0;
			}
			ptrace(PTRACE_CONT, pid, 0, sig);
		}
	}
	t1 = now();
	done = 1;
	pthread_join(th, NULL);
	if (polled > hwm)
		hwm = polled;
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	out = fopen(argv[1], "w");
	if (!out) {
		perror("crrun: output");
		return 1;
	}
	fprintf(out, "%.6f %ld %d\n", t1 - t0, hwm, code);
	fclose(out);
	return code;
}
