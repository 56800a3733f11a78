/*
 * zombie: zombies, unreaped through the checkpoint: Z1 exited 7; Z2
 * killed by SIGKILL; Z3 killed by SIGSEGV (no core: its RLIMIT_CORE was
 * 0); Z6, a zombie child of a child process, exited 3. (Zombies with
 * another exit signal than SIGCHLD: zombie_clone.)
 * Checks: after the restart each is still a zombie of its parent with its
 * status (waitid() with WNOWAIT: CLD_EXITED/CLD_KILLED and the code or
 * signal), seen by a plain waitpid(), and reaped with the same status.
 * Skip proof: memory (no kind of state is process-tree only).
 */
#include "zdtm.h"

#include <sys/resource.h>

enum { Z1, Z2, Z3, NZ };

struct want {
	int code, status;
	bool clone_child;
};

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
		{CLD_EXITED, 7, false},
		{CLD_KILLED, SIGKILL, false},
		{CLD_KILLED, SIGSEGV, false},
	};
	static const char *names[NZ] = {"Z1", "Z2", "Z3"};
	struct barrier b;
	pid_t z[NZ], c;

	barrier_init(&b);
	c = fork();
	if (c < 0)
		test_fatal("fork");
	if (!c) {
		static const struct want w6 = {CLD_EXITED, 3, false};
		pid_t z6 = fork();

		if (z6 == 0)
			_exit(3);
		while (!is_zombie(z6))
			msleep(1);
		barrier_signal(&b);
		test_wait_go();
		check("Z6", z6, &w6);
		test_child_done();
	}
	z[Z1] = fork();
	if (z[Z1] == 0)
		_exit(7);
	z[Z2] = fork();
	if (z[Z2] == 0)
		for (;;)
			pause();
	z[Z3] = fork();
	if (z[Z3] == 0) {
		struct rlimit r = {0, 0};

		setrlimit(RLIMIT_CORE, &r);
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
		_exit(1);
	}
	kill(z[Z2], SIGKILL);
	for (int i = 0; i < NZ; i++) {
		if (z[i] < 0)
			test_fatal("fork %s", names[i]);
		for (uint64_t end = now_ms() + 3000; !is_zombie(z[i]);) {
			if (now_ms() > end)
				test_fatal("%s did not become a zombie", names[i]);
			msleep(1);
		}
	}
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();

	for (int i = 0; i < NZ; i++)
		check(names[i], z[i], &want[i]);
	reap_child(c, "child");
	test_done();
}
