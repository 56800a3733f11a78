/*
 * sigaction: signal dispositions with every flag: SIGUSR1 (SA_SIGINFO |
 * SA_RESTART, sa_mask SIGUSR2 and SIGRTMIN+1), SIGUSR2 (SA_ONSTACK |
 * SA_NODEFER, on an alternate stack), SIGRTMIN+2 (SA_RESETHAND), SIGRTMIN+3
 * (no SA_RESTART), SIGHUP ignored, SIGCHLD with SA_NOCLDSTOP, and SIGPWR
 * installed by a raw rt_sigaction with the test's own sa_restorer.
 * Checks: after the restart the kernel's sigaction of all 64 signals
 * (handler, flags, restorer, mask) reads back the same; and each acts:
 * the SA_SIGINFO handler gets its siginfo and runs with its mask, the
 * SA_NODEFER one runs on the alternate stack without blocking itself,
 * SA_RESETHAND resets, SIGHUP is ignored, SIGPWR returns through the
 * custom restorer; a thread blocked in read() has it restarted after the
 * SA_RESTART handler ran and interrupted (EINTR) after the other.
 * Skip proof: sigactions.
 */
#include "zdtm.h"

#include <pthread.h>

struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

#define SA_RESTORER_FLAG 0x04000000

static volatile int usr1_ok, usr2_ok, rt2_count, pwr_count, rt3_count;
static volatile uintptr_t usr2_sp;
static volatile unsigned long restorer_count;
static char *alt;
static int p[2];
static volatile pid_t reader_tid;
static volatile long reads[2];
static volatile int read_errno[2], reader_state;

/* rt_sigreturn, counting: SIGPWR's own restorer */
void zdtm_restorer(void);
__asm__(".text\n"
	".globl zdtm_restorer\n"
	".type zdtm_restorer, @function\n"
	"zdtm_restorer:\n"
	"	lock incq restorer_count(%rip)\n"
	"	mov $15, %eax\n"
	"	syscall\n"
	"	hlt\n"
	".size zdtm_restorer, .-zdtm_restorer\n");

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	sigset_t cur;

	(void)uc;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	usr1_ok = sig == SIGUSR1 && si->si_signo == SIGUSR1 && si->si_code == SI_TKILL &&
		  si->si_pid == getpid() && sigismember(&cur, SIGUSR2) &&
		  sigismember(&cur, SIGRTMIN + 1) && sigismember(&cur, SIGUSR1);
	if (xgettid() == reader_tid)
		usr1_ok = 1;
}

static void on_usr2(int sig)
{
	sigset_t cur;
	volatile char here;

	(void)sig;
	usr2_sp = (uintptr_t)&here;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	usr2_ok = !sigismember(&cur, SIGUSR2);
}

static void on_rt2(int sig)
{
	(void)sig;
	rt2_count++;
}

static void on_rt3(int sig)
{
	(void)sig;
	rt3_count++;
}

static void on_pwr(int sig)
{
	(void)sig;
	pwr_count++;
}

static void get_all(struct ksigaction a[65])
{
	for (int s = 1; s <= 64; s++)
		if (syscall(SYS_rt_sigaction, s, NULL, &a[s], 8))
			memset(&a[s], 0, sizeof(a[s]));
}

static void *reader(void *arg)
{
	char c;

	(void)arg;
	reader_tid = xgettid();
	for (int i = 0; i < 2; i++) {
		reader_state = i + 1;
		reads[i] = read(p[0], &c, 1);
		read_errno[i] = errno;
	}
	reader_state = 3;
	return NULL;
}

int main(void)
{
	struct ksigaction before[65], after[65], kpwr;
	struct sigaction sa;
	stack_t ss;
	pthread_t th;

	alt = malloc(65536);
	ss = (stack_t){.ss_sp = alt, .ss_size = 65536};
	if (!alt || sigaltstack(&ss, NULL) || pipe(p))
		test_fatal("set-up");
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaddset(&sa.sa_mask, SIGRTMIN + 1);
	sigaction(SIGUSR1, &sa, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_ONSTACK | SA_NODEFER;
	sigaction(SIGUSR2, &sa, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_rt2;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGRTMIN + 2, &sa, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_rt3;
	sigaction(SIGRTMIN + 3, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	kpwr = (struct ksigaction){(void *)on_pwr, SA_RESTORER_FLAG, (void *)zdtm_restorer, 0};
	if (syscall(SYS_rt_sigaction, SIGPWR, &kpwr, NULL, 8))
		test_fatal("rt_sigaction");
	if (pthread_create(&th, NULL, reader, NULL))
		test_fatal("pthread_create");
	while (!reader_tid)
		msleep(1);
	if (wait_in_syscall(reader_tid, SYS_read))
		test_fatal("reader not blocked");
	get_all(before);
	test_ready();
	test_wait_go();

	get_all(after);
	for (int s = 1; s <= 64; s++)
		CHECK(!memcmp(&before[s], &after[s], sizeof(before[s])),
		      "signal %d: handler %p flags %#lx restorer %p mask %#llx, was %p %#lx %p "
		      "%#llx",
		      s, after[s].handler, after[s].flags, after[s].restorer,
		      (unsigned long long)after[s].mask, before[s].handler, before[s].flags,
		      before[s].restorer, (unsigned long long)before[s].mask);
	if (test_failed())
		test_done(); /* a lost handler would kill us below */
	raise(SIGUSR1);
	CHECK(usr1_ok, "SIGUSR1: no siginfo or wrong mask in its handler");
	raise(SIGUSR2);
	CHECK(usr2_ok, "SIGUSR2: blocked in its SA_NODEFER handler");
	CHECK(usr2_sp >= (uintptr_t)alt && usr2_sp < (uintptr_t)alt + 65536,
	      "SIGUSR2: handler not on the alternate stack");
	raise(SIGRTMIN + 2);
	CHECK(rt2_count == 1, "SIGRTMIN+2 handler ran %d times", rt2_count);
	memset(&sa, 0, sizeof(sa));
	sigaction(SIGRTMIN + 2, NULL, &sa);
	CHECK(sa.sa_handler == SIG_DFL, "SA_RESETHAND did not reset SIGRTMIN+2");
	raise(SIGHUP);
	raise(SIGPWR);
	CHECK(pwr_count == 1 && restorer_count == 1, "SIGPWR: handler %d, own restorer %lu",
	      pwr_count, restorer_count);
	/* SA_RESTART: the read goes on; without it: EINTR */
	usr1_ok = 0;
	syscall(SYS_tgkill, getpid(), reader_tid, SIGUSR1);
	/* a loaded machine may take a while to run the handler; reads[0] tells the rest */
	for (uint64_t end = now_ms() + 2000; !usr1_ok && now_ms() < end;)
		msleep(1);
	CHECK(usr1_ok && reader_state == 1, "read not restarted after a SA_RESTART handler");
	if (write(p[1], "a", 1) != 1)
		fail("write");
	for (uint64_t end = now_ms() + 2000; reader_state < 2 && now_ms() < end;)
		msleep(1);
	wait_in_syscall(reader_tid, SYS_read);
	syscall(SYS_tgkill, getpid(), reader_tid, SIGRTMIN + 3);
	for (uint64_t end = now_ms() + 2000; reader_state < 3 && now_ms() < end;)
		msleep(1);
	CHECK(reads[0] == 1, "first read returned %ld (%s)", reads[0], strerror(read_errno[0]));
	CHECK(reads[1] == -1 && read_errno[1] == EINTR && rt3_count == 1,
	      "second read returned %ld (%s), want EINTR", reads[1], strerror(read_errno[1]));
	pthread_join(th, NULL);
	test_done();
}
