/*
 * zombie_clone: children whose exit signal is not SIGCHLD: Z4 made by
 * clone() with SIGUSR2 as its exit signal, exited 9; Z5 made by clone()
 * with no exit signal, exited 5 (both zombies through the checkpoint);
 * L, alive, made by clone() with SIGUSR2 as its exit signal.
 * Checks: after the restart Z4 and Z5 are zombies with their status and
 * still "clone" children: invisible to waitpid() without __WCLONE
 * (ECHILD), reaped with __WCLONE; when L exits the parent gets SIGUSR2,
 * not SIGCHLD, and reaps it with __WCLONE only.
 * Skip proof: memory (no kind of state is process-tree only).
 * Skip proof: memory (no kind of state is process-tree only).
 */
#include "zdtm.h"

enum { Z4, Z5, NZ };

struct want {
	int code, status;
	bool clone_child;
};

static volatile int usr2, chld;

static void on_usr2(int sig)
{
	(void)sig;
	usr2++;
}

static void on_chld(int sig)
{
	(void)sig;
	chld++;
}

static pid_t raw_clone(int exit_signal, int code)
{
	pid_t pid = syscall(SYS_clone, exit_signal, 0, NULL, NULL, 0);

	if (pid == 0) {
		if (code < 0) {
			test_wait_go();
			code = 0;
		}
		syscall(SYS_exit_group, code);
	}
	return pid;
}

static bool is_zombie(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) == 0 &&
	       si.si_pid == pid;
}

static void check(const char *who, pid_t pid, const struct want *w)
{
	siginfo_t si;
	int st = 0;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) || si.si_pid != pid) {
		fail("%s (pid %d) is not a zombie of its parent", who, pid);
		return;
	}
	CHECK(si.si_code == w->code && si.si_status == w->status,
	      "%s: code %d status %d, want %d %d", who, si.si_code, si.si_status, w->code,
	      w->status);
	if (w->clone_child) {
		CHECK(waitpid(pid, &st, WNOHANG) == -1 && errno == ECHILD,
		      "%s: seen by waitpid() without __WCLONE (exit signal lost)", who);
		CHECK(waitpid(pid, &st, __WCLONE) == pid, "%s: not reaped with __WCLONE", who);
	} else {
		CHECK(waitpid(pid, &st, WNOHANG) == pid, "%s: waitpid() does not see it", who);
	}
	if (w->code == CLD_EXITED)
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == w->status, "%s: reaped with status %#x",
		      who, st);
	else
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == w->status && !WCOREDUMP(st),
		      "%s: reaped with status %#x", who, st);
}

int main(void)
{
	static const struct want want[NZ] = {
		{CLD_EXITED, 9, true},
		{CLD_EXITED, 5, true},
	};
	static const char *names[NZ] = {"Z4", "Z5"};
	struct sigaction sa = {.sa_handler = on_usr2};
	pid_t z[NZ], live;

	sigaction(SIGUSR2, &sa, NULL);
	z[Z4] = raw_clone(SIGUSR2, 9);
	z[Z5] = raw_clone(0, 5);
	live = raw_clone(SIGUSR2, -1);
	sa.sa_handler = on_chld;
	sigaction(SIGCHLD, &sa, NULL);
	for (int i = 0; i < NZ; i++) {
		if (z[i] < 0)
			test_fatal("fork %s", names[i]);
		for (uint64_t end = now_ms() + 3000; !is_zombie(z[i]);) {
			if (now_ms() > end)
				test_fatal("%s did not become a zombie", names[i]);
			msleep(1);
		}
	}
	usr2 = 0; /* Z4's came before */
	test_ready();
	test_wait_go();

	for (int i = 0; i < NZ; i++)
		check(names[i], z[i], &want[i]);
	for (uint64_t end = now_ms() + 3000; !usr2 && now_ms() < end;)
		msleep(1);
	CHECK(usr2 == 1 && chld == 0, "L's exit gave %d SIGUSR2 and %d SIGCHLD, want 1 and 0", usr2,
	      chld);
	CHECK(waitpid(live, NULL, WNOHANG) == -1 && errno == ECHILD,
	      "L is seen by waitpid() without __WCLONE");
	CHECK(waitpid(live, NULL, __WCLONE) == live, "L is not reaped with __WCLONE");
	test_done();
}
