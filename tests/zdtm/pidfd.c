/*
 * pidfd: pidfds pointing into the tree. The root P holds pidfds of its
 * child C (PIDFD_NONBLOCK), of itself (not close-on-exec, as the others are), of a zombie child Z
 * (exit status 7, not reaped), and a PIDFD_THREAD pidfd of its main thread
 * (it has a second thread); C holds a pidfd of P (its parent), of its own
 * child G, which is blocked in a pipe read, and of its sibling D, forked
 * after it (at restore, C waits for D to exist).
 * Checks after the restart: each pidfd names the right task (fdinfo NSpid,
 * innermost: the test's own pid namespace), keeps its flags (O_NONBLOCK,
 * PIDFD_THREAD's O_EXCL, FD_CLOEXEC) and acts on it: waitid(P_PIDFD) reports
 * Z's status and, later, C's exit; pidfd_send_signal reaches C (from P), P
 * (from C), G and D (from C, SIGKILL, seen by their parents' waitpid).
 * Skip proof: file:pidfd (the pidfds stay closed: the test FAILs).
 */
#include "zdtm.h"

#include <pthread.h>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

static volatile sig_atomic_t got_usr1;
static volatile pid_t thread_tid;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static int pidfd_open(pid_t pid, unsigned int flags)
{
	int fd = syscall(SYS_pidfd_open, pid, flags);

	if (fd < 0)
		test_fatal("pidfd_open %d", pid);
	return fd;
}

static int send_sig(int fd, int sig)
{
	return syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
}

/* The innermost pid of fdinfo's NSpid: the task as this pid namespace sees it. */
static pid_t pidfd_pid(int fd)
{
	char path[64], buf[1024], *p, *nl;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (read_text(path, buf, sizeof(buf)) < 0 || !(p = strstr(buf, "NSpid:")))
		return -1;
	nl = strchr(p, '\n');
	if (nl)
		*nl = 0;
	p = strrchr(p, '\t') ? strrchr(p, '\t') : p + 6;
	return atoi(p);
}

static void check_fd(int fd, const char *what, pid_t pid, int flags, int cloexec)
{
	int fl = fcntl(fd, F_GETFL), fdf = fcntl(fd, F_GETFD);

	if (fl < 0 || fdf < 0) {
		fail("%s: fd %d: %s", what, fd, strerror(errno));
		return;
	}
	CHECK(pidfd_pid(fd) == pid, "%s: pidfd of %d, want %d", what, pidfd_pid(fd), pid);
	CHECK((fl & (O_NONBLOCK | PIDFD_THREAD)) == flags, "%s: flags %#x, want %#x", what,
	      fl & (O_NONBLOCK | PIDFD_THREAD), flags);
	CHECK(!!(fdf & FD_CLOEXEC) == cloexec, "%s: close-on-exec %d, want %d", what,
	      !!(fdf & FD_CLOEXEC), cloexec);
}

static void *thread_fn(void *arg)
{
	(void)arg;
	thread_tid = xgettid();
	for (;;)
		pause();
	return NULL;
}

static void child(struct barrier *b, int dpipe)
{
	pid_t ppid = getppid(), g, d;
	int pfd = pidfd_open(ppid, 0), gfd, dfd, st;

	g = fork();
	if (g < 0)
		test_fatal("fork");
	if (!g) {
		int p[2];
		char c;

		if (pipe(p) || read(p[0], &c, 1) < 0) /* blocks for good */
			_exit(1);
		_exit(2);
	}
	gfd = pidfd_open(g, 0);
	if (read(dpipe, &d, sizeof(d)) != sizeof(d))
		test_fatal("no pid of D");
	dfd = pidfd_open(d, 0);
	signal(SIGUSR1, on_usr1);
	barrier_signal(b);
	test_wait_go();
	check_fd(pfd, "C's pidfd of P", ppid, 0, 1);
	check_fd(gfd, "C's pidfd of G", g, 0, 1);
	check_fd(dfd, "C's pidfd of its sibling D", d, 0, 1);
	CHECK(send_sig(dfd, SIGKILL) == 0, "C: SIGKILL to D: %s", strerror(errno));
	CHECK(send_sig(pfd, SIGUSR1) == 0, "C: signal to P: %s", strerror(errno));
	CHECK(send_sig(gfd, SIGKILL) == 0, "C: SIGKILL to G: %s", strerror(errno));
	CHECK(waitpid(g, &st, 0) == g && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	      "C: G did not die of the SIGKILL sent through its pidfd");
	for (int i = 0; i < 200 && !got_usr1; i++)
		msleep(10);
	CHECK(got_usr1, "C: no SIGUSR1 from P through its pidfd");
	test_child_done();
}

int main(void)
{
	int cfd, selffd, zfd, tfd, dp[2], st;
	struct barrier b;
	pthread_t th;
	siginfo_t si;
	pid_t c, z, d;

	signal(SIGUSR1, on_usr1);
	if (pthread_create(&th, NULL, thread_fn, NULL))
		test_fatal("pthread_create");
	while (!thread_tid)
		msleep(1);
	z = fork();
	if (z < 0)
		test_fatal("fork");
	if (!z)
		_exit(7);
	zfd = pidfd_open(z, 0);
	barrier_init(&b);
	if (pipe(dp))
		test_fatal("pipe");
	c = fork();
	if (c < 0)
		test_fatal("fork");
	if (!c)
		child(&b, dp[0]);
	d = fork();
	if (d < 0)
		test_fatal("fork");
	if (!d)
		for (;;)
			pause();
	if (write(dp[1], &d, sizeof(d)) != sizeof(d))
		test_fatal("pid of D");
	barrier_wait(&b, 1);
	cfd = pidfd_open(c, O_NONBLOCK);
	selffd = pidfd_open(getpid(), 0);
	if (fcntl(selffd, F_SETFD, 0)) /* pidfds are born close-on-exec */
		test_fatal("F_SETFD");
	tfd = pidfd_open(getpid(), PIDFD_THREAD);
	/* Z must be a zombie before the checkpoint */
	CHECK(waitid(P_PIDFD, zfd, &si, WEXITED | WNOWAIT) == 0, "Z did not exit");
	test_ready();
	test_wait_go();

	check_fd(cfd, "P's pidfd of C", c, O_NONBLOCK, 1);
	check_fd(selffd, "P's own pidfd", getpid(), 0, 0);
	check_fd(zfd, "P's pidfd of Z", z, 0, 1);
	check_fd(tfd, "P's thread pidfd of its main thread", getpid(), PIDFD_THREAD, 1);
	memset(&si, 0, sizeof(si));
	CHECK(waitid(P_PIDFD, zfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid == z &&
		      si.si_code == CLD_EXITED && si.si_status == 7,
	      "waitid on Z's pidfd: pid %d code %d status %d", si.si_pid, si.si_code, si.si_status);
	CHECK(send_sig(selffd, 0) == 0, "own pidfd: %s", strerror(errno));
	CHECK(send_sig(cfd, SIGUSR1) == 0, "signal to C: %s", strerror(errno));
	for (int i = 0; i < 200 && !got_usr1; i++)
		msleep(10);
	CHECK(got_usr1, "P: no SIGUSR1 from C through its pidfd");
	memset(&si, 0, sizeof(si));
	for (int i = 0; i < 500; i++) { /* cfd is non-blocking: EAGAIN until C exits */
		if (!waitid(P_PIDFD, cfd, &si, WEXITED) || errno != EAGAIN)
			break;
		msleep(10);
	}
	CHECK(si.si_pid == c, "waitid on C's pidfd: pid %d, want %d", si.si_pid, c);
	CHECK(si.si_code == CLD_EXITED && si.si_status == 0, "C failed (code %d status %d)",
	      si.si_code, si.si_status);
	st = wait_child(d, 5000);
	CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	      "D was not killed through C's pidfd (status %#x)", st);
	test_done();
}
