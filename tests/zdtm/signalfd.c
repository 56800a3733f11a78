/*
 * signalfd: a non-blocking signalfd for SIGUSR1 and SIGRTMIN+1, with
 * SIGUSR1 and two queued SIGRTMIN+1 (values 11, 22) pending; a blocking,
 * close-on-exec one for SIGUSR2 with nothing pending.
 * Checks: the first reads SIGUSR1, then 11 and 22 in order, then EAGAIN;
 * both masks (fdinfo sigmask) and flags are kept.
 * Skip proof: file:signalfd.
 */
#include "zdtm.h"

#include <sys/signalfd.h>

static unsigned long long mask_of(int fd)
{
	char path[64], buf[512], *p;
	int f, n;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY);
	n = f < 0 ? -1 : read(f, buf, sizeof(buf) - 1);
	if (f >= 0)
		close(f);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strstr(buf, "sigmask:");
	return p ? strtoull(p + 8, NULL, 16) : 0;
}

int main(void)
{
	struct signalfd_siginfo si;
	unsigned long long m1, m2;
	sigset_t set, set2;
	int s1, s2, rt = SIGRTMIN + 1;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, rt);
	sigemptyset(&set2);
	sigaddset(&set2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigprocmask(SIG_BLOCK, &set2, NULL);
	s1 = signalfd(-1, &set, SFD_NONBLOCK);
	s2 = signalfd(-1, &set2, SFD_CLOEXEC);
	if (s1 < 0 || s2 < 0)
		test_fatal("signalfd");
	kill(getpid(), SIGUSR1);
	sigqueue(getpid(), rt, (union sigval){.sival_int = 11});
	sigqueue(getpid(), rt, (union sigval){.sival_int = 22});
	m1 = mask_of(s1);
	m2 = mask_of(s2);
	test_ready();
	test_wait_go();

	CHECK(mask_of(s1) == m1 && m1, "mask of the first: %llx, want %llx", mask_of(s1), m1);
	CHECK(mask_of(s2) == m2 && m2, "mask of the second: %llx, want %llx", mask_of(s2), m2);
	CHECK(fcntl(s1, F_GETFL) & O_NONBLOCK, "first lost O_NONBLOCK");
	CHECK(!(fcntl(s2, F_GETFL) & O_NONBLOCK), "second became O_NONBLOCK");
	CHECK(fcntl(s2, F_GETFD) == FD_CLOEXEC, "second lost close-on-exec");
	CHECK(read(s1, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGUSR1,
	      "first read: not SIGUSR1 (%s)", strerror(errno));
	for (int v = 11; v <= 22; v += 11)
		CHECK(read(s1, &si, sizeof(si)) == sizeof(si) && (int)si.ssi_signo == rt &&
			      si.ssi_int == v,
		      "queued SIGRTMIN+1 with %d missing (%s)", v, strerror(errno));
	CHECK(read(s1, &si, sizeof(si)) < 0 && errno == EAGAIN, "more signals than queued");
	test_done();
}
