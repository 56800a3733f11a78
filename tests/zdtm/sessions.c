/*
 * sessions: sessions and process groups. The main process M stays in the
 * driver's session and group (both led from outside the tree). In M's
 * session: F leads its own group, F2 (M's child too) joined F's group. A
 * leads a new session (setsid); in it B leads a group that its child C
 * joined; D led a group, had a child E in it, then died and was reaped
 * (a group whose leader is gone); D2 leads a group with a member E2 and is
 * a zombie (A does not reap it until the end).
 * Checks: after the restart every process has its pid, parent, group and
 * session as before; the leaderless group D still exists (kill(-D, 0)
 * works and E is in it); E and E2 are still M's children; M is still a
 * subreaper (PR_GET_CHILD_SUBREAPER).
 * Skip proof: memory (no kind of state is process-tree only).
 */
#include "zdtm.h"

enum { M, F, F2, A, B, C, D, E, D2, E2, N };
static const char *names[N] = {"M", "F", "F2", "A", "B", "C", "D", "E", "D2", "E2"};

struct ids {
	pid_t pid, ppid, pgid, sid;
};

struct shared {
	struct ids before[N];
	volatile int ready[N], result[N]; /* result: 1 ok, 2 failed */
	volatile int d_gone, all_checked;
	char msg[N][160];
};

static struct shared *sh;

static void record(int me)
{
	struct ids *i = &sh->before[me];

	i->pid = getpid();
	i->ppid = getppid();
	i->pgid = getpgid(0);
	i->sid = getsid(0);
	sh->ready[me] = 1;
}

static void wait_flag(volatile int *f, int ms)
{
	for (uint64_t end = now_ms() + ms; !*f && now_ms() < end;)
		msleep(1);
}

static void check(int me)
{
	struct ids *w = &sh->before[me];
	pid_t ppid = getppid(), pgid = getpgid(0), sid = getsid(0);
	bool ok = getpid() == w->pid && ppid == w->ppid && pgid == w->pgid && sid == w->sid;

	if (!ok)
		snprintf(sh->msg[me], sizeof(sh->msg[me]),
			 "%s: pid %d ppid %d pgid %d sid %d, were %d %d %d %d", names[me], getpid(),
			 ppid, pgid, sid, w->pid, w->ppid, w->pgid, w->sid);
	if (ok && me == E && kill(-sh->before[D].pid, 0)) {
		ok = false;
		snprintf(sh->msg[me], sizeof(sh->msg[me]), "E: group %d of dead D is gone: %s",
			 sh->before[D].pid, strerror(errno));
	}
	sh->result[me] = ok ? 1 : 2;
}

/* A leaf: record, wait, check, wait for everyone to be checked, exit. */
static __attribute__((noreturn)) void leaf(int me)
{
	if (me == E || me == E2) { /* join the group of D (D2), a sibling */
		int leader = me == E ? D : D2;

		wait_flag(&sh->ready[leader], 2000);
		if (setpgid(0, sh->before[leader].pid))
			test_fatal("setpgid %s", names[me]);
	}
	record(me);
	test_wait_go();
	check(me);
	wait_flag(&sh->all_checked, 5000);
	_exit(0);
}

static pid_t spawn(void (*fn)(int), int me)
{
	pid_t pid = fork();

	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		fn(me);
		_exit(0);
	}
	return pid;
}

static void run_f(int me)
{
	setpgid(0, 0);
	leaf(me);
}

static void run_f2(int me)
{
	wait_flag(&sh->ready[F], 2000);
	if (setpgid(0, sh->before[F].pid))
		test_fatal("setpgid F2");
	leaf(me);
}

static void run_b(int me)
{
	pid_t c;

	setpgid(0, 0);
	c = fork();
	if (c < 0)
		test_fatal("fork");
	if (!c)
		leaf(C);
	record(me);
	test_wait_go();
	check(me);
	wait_flag(&sh->all_checked, 5000);
	waitpid(c, NULL, 0);
	_exit(0);
}

static void run_d(int me)
{
	int e_idx = me == D ? E : E2;

	setpgid(0, 0);
	record(me);
	wait_flag(&sh->ready[e_idx], 2000);
	_exit(0); /* D is reaped by A; D2 stays a zombie */
}

static void run_a(int me)
{
	pid_t b, d, d2, e, e2;

	if (setsid() < 0)
		test_fatal("setsid");
	record(me);
	b = spawn(run_b, B);
	d = spawn(run_d, D);
	d2 = spawn(run_d, D2);
	e = spawn(leaf, E);
	e2 = spawn(leaf, E2);
	waitpid(d, NULL, 0);
	sh->d_gone = 1;
	test_wait_go();
	check(me);
	wait_flag(&sh->all_checked, 5000);
	waitpid(b, NULL, 0);
	waitpid(d2, NULL, 0);
	waitpid(e, NULL, 0);
	waitpid(e2, NULL, 0);
	_exit(0);
}

int main(void)
{
	pid_t kids[3];

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		test_fatal("mmap");
	record(M);
	kids[0] = spawn(run_f, F);
	kids[1] = spawn(run_f2, F2);
	kids[2] = spawn(run_a, A);
	for (int i = 0; i < N; i++)
		if (i != D)
			wait_flag(&sh->ready[i], 3000);
	wait_flag(&sh->d_gone, 3000);
	for (int i = 0; i < N; i++)
		if (!sh->ready[i] || !sh->d_gone)
			test_fatal("%s did not get ready", names[i]);
	/* D2 must be a zombie before the checkpoint */
	for (uint64_t end = now_ms() + 2000; now_ms() < end;) {
		char path[64], st[512];

		snprintf(path, sizeof(path), "/proc/%d/stat", sh->before[D2].pid);
		if (read_text(path, st, sizeof(st)) > 0 && strstr(st, ") Z "))
			break;
		msleep(1);
	}
	test_ready();
	test_wait_go();

	check(M);
	for (int i = 0; i < N; i++)
		if (i != D && i != D2)
			wait_flag(&sh->result[i], 3000);
	for (int i = 0; i < N; i++) {
		if (i == D || i == D2)
			continue;
		if (sh->result[i] != 1)
			fail("%s", sh->result[i] ? sh->msg[i] : names[i]);
	}
	sh->all_checked = 1;
	for (int i = 0; i < 3; i++)
		reap_child(kids[i], "child");
	test_done();
}
