/*
 * sig_pending: pending signals with their siginfo, blocked in every thread.
 * Shared (process-wide): SIGUSR1 from kill(), SIGRTMIN queued three times
 * by sigqueue() with values 111, 222, 333, SIGRTMIN+6 by rt_sigqueueinfo
 * with a made-up sender (pid 4242, uid 777, value 999). Private to the main
 * thread: SIGUSR2 from tgkill(), SIGRTMIN+1 queued twice (values 444, 445).
 * Private to a second thread: SIGTERM from tgkill(), SIGRTMIN queued with
 * value 555. SIGWINCH twice (a standard signal: one instance).
 * Checks: after the restart each thread's sigpending() set is exactly what
 * it was, and sigtimedwait() takes out every instance, private ones before
 * shared, in order, with its signo, code, sender pid and uid and value, and
 * then nothing more.
 * Skip proof: signals.
 */
#include "zdtm.h"

#include <pthread.h>

struct want {
	int signo, code, pid, uid, value;
};

static sigset_t blocked;
static int tkill_code; /* si_code this kernel gives tgkill() */
static volatile pid_t thread_tid;
static volatile int thread_ready;

static void queue_to(pid_t tid, int sig, int value, int fake_pid, int fake_uid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = sig;
	si.si_code = SI_QUEUE;
	si.si_pid = fake_pid ? fake_pid : getpid();
	si.si_uid = fake_pid ? (uid_t)fake_uid : getuid();
	si.si_value.sival_int = value;
	if (tid)
		syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, sig, &si);
	else
		syscall(SYS_rt_sigqueueinfo, getpid(), sig, &si);
}

static void take_all(const char *who, const struct want *w, int n, bool exhaust)
{
	struct timespec zero = {0, 0};
	siginfo_t si;

	for (int i = 0; i < n; i++) {
		int s = sigtimedwait(&blocked, &si, &zero);

		if (s < 0) {
			fail("%s: instance %d (signal %d) is missing", who, i, w[i].signo);
			return;
		}
		CHECK(s == w[i].signo && si.si_code == w[i].code && si.si_pid == w[i].pid &&
			      (int)si.si_uid == w[i].uid &&
			      (w[i].code != SI_QUEUE || si.si_value.sival_int == w[i].value),
		      "%s: instance %d is signal %d code %d pid %d uid %d value %d, want %d %d %d "
		      "%d %d",
		      who, i, s, si.si_code, si.si_pid, si.si_uid, si.si_value.sival_int,
		      w[i].signo, w[i].code, w[i].pid, w[i].uid, w[i].value);
	}
	if (exhaust)
		CHECK(sigtimedwait(&blocked, &si, &zero) < 0,
		      "%s: more signals pending than queued", who);
}

static void check_pending(const char *who, const int *sigs, int n)
{
	sigset_t pend;
	int count = 0;

	sigpending(&pend);
	for (int s = 1; s <= 64; s++)
		count += sigismember(&pend, s) == 1;
	CHECK(count == n, "%s: %d signals pending, want %d", who, count, n);
	for (int i = 0; i < n; i++)
		CHECK(sigismember(&pend, sigs[i]), "%s: signal %d is not pending", who, sigs[i]);
}

static void *run(void *arg)
{
	int pid = getpid(), uid = getuid();
	struct want w[] = {
		{SIGTERM, tkill_code, pid, uid, 0},
		{SIGRTMIN, SI_QUEUE, pid, uid, 555},
	};
	const int sigs[] = {SIGTERM, SIGUSR1, SIGRTMIN, SIGRTMIN + 6, SIGWINCH};

	(void)arg;
	thread_tid = xgettid();
	while (!thread_ready)
		msleep(1);
	test_wait_go();
	check_pending("thread", sigs, ARRAY_SIZE(sigs));
	take_all("thread", w, ARRAY_SIZE(w), false); /* its private ones only */
	return NULL;
}

int main(void)
{
	int pid = getpid(), uid = getuid();
	struct want w[] = {
		{SIGUSR2, tkill_code, pid, uid, 0},	  {SIGRTMIN + 1, SI_QUEUE, pid, uid, 444},
		{SIGRTMIN + 1, SI_QUEUE, pid, uid, 445},  {SIGUSR1, SI_USER, pid, uid, 0},
		{SIGWINCH, SI_USER, pid, uid, 0},	  {SIGRTMIN, SI_QUEUE, pid, uid, 111},
		{SIGRTMIN, SI_QUEUE, pid, uid, 222},	  {SIGRTMIN, SI_QUEUE, pid, uid, 333},
		{SIGRTMIN + 6, SI_QUEUE, 4242, 777, 999},
	};
	const int sigs[] = {SIGUSR2, SIGRTMIN + 1, SIGUSR1, SIGRTMIN, SIGRTMIN + 6, SIGWINCH};
	pthread_t th;

	sigemptyset(&blocked);
	for (int s = 1; s < SIGRTMIN; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaddset(&blocked, s);
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
		sigaddset(&blocked, s);
	pthread_sigmask(SIG_BLOCK, &blocked, NULL);
	{
		struct timespec zero = {0, 0};
		siginfo_t si;

		syscall(SYS_tgkill, getpid(), xgettid(), SIGURG);
		if (sigtimedwait(&blocked, &si, &zero) != SIGURG)
			test_fatal("probe tgkill");
		tkill_code = si.si_code;
	}
	if (pthread_create(&th, NULL, run, NULL))
		test_fatal("pthread_create");
	while (!thread_tid)
		msleep(1);
	kill(getpid(), SIGUSR1);
	for (int v = 111; v <= 333; v += 111)
		sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = v});
	queue_to(0, SIGRTMIN + 6, 999, 4242, 777);
	syscall(SYS_tgkill, getpid(), xgettid(), SIGUSR2);
	queue_to(xgettid(), SIGRTMIN + 1, 444, 0, 0);
	queue_to(xgettid(), SIGRTMIN + 1, 445, 0, 0);
	syscall(SYS_tgkill, getpid(), thread_tid, SIGTERM);
	queue_to(thread_tid, SIGRTMIN, 555, 0, 0);
	kill(getpid(), SIGWINCH);
	kill(getpid(), SIGWINCH);
	thread_ready = 1;
	test_ready();
	test_wait_go();

	/* the thread takes its own two first */
	pthread_join(th, NULL);
	check_pending("main", sigs, ARRAY_SIZE(sigs));
	take_all("main", w, ARRAY_SIZE(w), true);
	test_done();
}
