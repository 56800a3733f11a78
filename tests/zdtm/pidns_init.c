/*
 * pidns_init: a tree whose root is the init (pid 1) of its own pid
 * namespace: the program starts I with CLONE_NEWPID and tells the driver to
 * checkpoint I ("ROOT: <pid>"); it can only come back with `cr restart
 * --pidns`. I has children A (pid 2) and B1 (pid 4), an orphan it adopted
 * when B (pid 3) died and was reaped.
 * Checks: after the restart I is pid 1 with no parent in its namespace, A
 * and B1 have their pids and I as their parent; I keeps init's signal
 * rules (a SIGTERM from A, with no handler, is ignored); when B1 exits I
 * reaps it with its status.
 * Skip proof: memory.
 */
#include "zdtm.h"

#include <sched.h>

struct shared {
	volatile int a_ok, b1_ok, term_sent;
	char msg[2][160];
};

static struct shared *sh;

static void run_a(void)
{
	test_wait_go();
	if (getpid() != 2 || getppid() != 1)
		snprintf(sh->msg[0], sizeof(sh->msg[0]), "A: pid %d ppid %d, want 2 1", getpid(),
			 getppid());
	kill(1, SIGTERM); /* init ignores it */
	sh->term_sent = 1;
	sh->a_ok = sh->msg[0][0] ? 2 : 1;
	_exit(0);
}

static void run_b1(void)
{
	while (getppid() != 1)
		msleep(1);
	test_wait_go();
	if (getpid() != 4 || getppid() != 1)
		snprintf(sh->msg[1], sizeof(sh->msg[1]), "B1: pid %d ppid %d, want 4 1", getpid(),
			 getppid());
	sh->b1_ok = sh->msg[1][0] ? 2 : 1;
	_exit(23);
}

static int run_init(void)
{
	pid_t a, b, b1 = 0;
	int st;

	a = fork();
	if (a == 0)
		run_a();
	b = fork();
	if (b == 0) {
		b1 = fork();
		if (b1 == 0)
			run_b1();
		_exit(0);
	}
	if (a != 2 || b != 3 || waitpid(b, &st, 0) != b)
		test_fatal("init's children are %d %d", a, b);
	test_ready();
	test_wait_go();

	CHECK(getpid() == 1 && getppid() == 0, "I: pid %d ppid %d, want 1 0", getpid(), getppid());
	for (uint64_t end = now_ms() + 3000; (!sh->a_ok || !sh->b1_ok) && now_ms() < end;)
		msleep(1);
	CHECK(sh->a_ok == 1, "%s", sh->a_ok ? sh->msg[0] : "A did not report");
	CHECK(sh->b1_ok == 1, "%s", sh->b1_ok ? sh->msg[1] : "B1 did not report");
	CHECK(sh->term_sent, "A did not send SIGTERM");
	reap_child(a, "A");
	st = wait_child(4, 3000);
	CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 23, "B1 reaped with status %#x", st);
	test_done();
}

int main(void)
{
	pid_t init;
	int st;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		test_fatal("mmap");
	init = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, NULL, NULL, 0);
	if (init < 0)
		test_fatal("clone CLONE_NEWPID");
	if (init == 0)
		exit(run_init());
	dprintf(1, "ROOT: %d\n", init);
	/* the init reports; this process only waits for it (it is killed at the
	 * checkpoint, and restored elsewhere) */
	if (waitpid(init, &st, 0) != init)
		return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 0;
}
