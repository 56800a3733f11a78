/*
 * pidfd_shared: one open pidfd shared by dup and by fork. The root P holds
 * a pidfd of its child C at two fds (dup); its child K inherited it and
 * keeps it at fd 40 only.
 * Checks after the restart: P's two fds and K's are one open file: kcmp
 * KCMP_FILE says so (within P, and between P and K), and O_NONBLOCK set
 * through one of P's fds shows through the other and, in K, through its own
 * (F_GETFL); the pidfd still acts on C (pidfd_send_signal kills it, waitpid
 * sees SIGKILL).
 * Skip proof: file:pidfd (the pidfds stay closed: the test FAILs).
 */
#include "zdtm.h"

#include <linux/kcmp.h>

#define KFD 40

static long kcmp_file(pid_t a, pid_t b, int fa, int fb)
{
	return syscall(SYS_kcmp, a, b, KCMP_FILE, fa, fb);
}

int main(void)
{
	int pfd, pfd2, go[2], st;
	struct barrier bar;
	pid_t c, k;
	char b;

	if (pipe(go))
		test_fatal("pipe");
	c = fork();
	if (c < 0)
		test_fatal("fork");
	if (c == 0) {
		for (;;)
			pause();
	}
	pfd = syscall(SYS_pidfd_open, c, 0);
	pfd2 = dup(pfd);
	if (pfd < 0 || pfd2 < 0)
		test_fatal("pidfd_open");
	barrier_init(&bar);
	k = fork();
	if (k < 0)
		test_fatal("fork");
	if (k == 0) {
		if (dup2(pfd, KFD) != KFD)
			test_fatal("dup2");
		close(pfd);
		close(pfd2);
		close(go[1]);
		barrier_signal(&bar);
		test_wait_go();
		CHECK(read(go[0], &b, 1) == 1, "K: no word from P");
		CHECK(fcntl(KFD, F_GETFL) & O_NONBLOCK,
		      "K: O_NONBLOCK set by P does not show in K's pidfd: another open file");
		test_child_done();
	}
	close(go[0]);
	barrier_wait(&bar, 1);
	test_ready();
	test_wait_go();

	CHECK(kcmp_file(getpid(), getpid(), pfd, pfd2) == 0, "P's two pidfds are two open files");
	CHECK(kcmp_file(getpid(), k, pfd, KFD) == 0, "P's and K's pidfds are two open files");
	CHECK(!(fcntl(pfd2, F_GETFL) & O_NONBLOCK), "O_NONBLOCK before it was set");
	CHECK(fcntl(pfd, F_SETFL, O_NONBLOCK) == 0 && (fcntl(pfd2, F_GETFL) & O_NONBLOCK),
	      "O_NONBLOCK set through one of P's pidfds does not show through the other");
	CHECK(write(go[1], "g", 1) == 1, "can't tell K");
	st = wait_child(k, 10000);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "K failed (status %#x)", st);
	if (syscall(SYS_pidfd_send_signal, pfd2, SIGKILL, NULL, 0)) {
		fail("pidfd_send_signal: %s", strerror(errno));
		kill(c, SIGKILL);
	}
	st = wait_child(c, 10000);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "C: status %#x, want SIGKILL", st);
	test_done();
}
