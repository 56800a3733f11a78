/*
 * altstack: alternate signal stacks. The main thread has a 64 KiB one, a
 * second thread a 32 KiB one with SS_AUTODISARM, a third none.
 * Checks: after the restart sigaltstack() reads back the same base, size
 * and flags in each thread, and a SA_ONSTACK handler for a signal each
 * thread sends itself runs on that thread's alternate stack (or on the
 * normal stack for the third).
 * Skip proof: altstack.
 */
#include "zdtm.h"

#include <pthread.h>

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

#define NT 3

static stack_t want[NT];
static __thread volatile uintptr_t handler_sp;
static volatile int ready;

static void on_usr2(int sig)
{
	volatile char here;

	(void)sig;
	handler_sp = (uintptr_t)&here;
}

static void set_stack(int i)
{
	static const size_t size[NT] = {65536, 32768, 0};

	if (!size[i]) {
		sigaltstack(NULL, &want[i]);
		return;
	}
	want[i].ss_sp =
		mmap(NULL, size[i], PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (want[i].ss_sp == MAP_FAILED)
		test_fatal("mmap");
	want[i].ss_size = size[i];
	want[i].ss_flags = i == 1 ? SS_AUTODISARM : 0;
	if (sigaltstack(&want[i], NULL))
		test_fatal("sigaltstack");
	sigaltstack(NULL, &want[i]);
}

static void check(int i)
{
	stack_t cur;
	uintptr_t lo = (uintptr_t)want[i].ss_sp;

	sigaltstack(NULL, &cur);
	CHECK(cur.ss_sp == want[i].ss_sp && cur.ss_size == want[i].ss_size &&
		      cur.ss_flags == want[i].ss_flags,
	      "thread %d: altstack %p+%zu flags %#x, was %p+%zu flags %#x", i, cur.ss_sp,
	      cur.ss_size, cur.ss_flags, want[i].ss_sp, want[i].ss_size, want[i].ss_flags);
	handler_sp = 0;
	syscall(SYS_tgkill, getpid(), xgettid(), SIGUSR2);
	if (want[i].ss_flags & SS_DISABLE)
		CHECK(handler_sp && (handler_sp < lo || handler_sp >= lo + want[i].ss_size),
		      "thread %d: handler not on the normal stack", i);
	else
		CHECK(handler_sp >= lo && handler_sp < lo + want[i].ss_size,
		      "thread %d: handler ran at %#lx, not on the alternate stack", i,
		      (unsigned long)handler_sp);
}

static void *run(void *arg)
{
	long i = (long)arg;

	set_stack(i);
	__atomic_fetch_add(&ready, 1, __ATOMIC_SEQ_CST);
	test_wait_go();
	check(i);
	return NULL;
}

int main(void)
{
	struct sigaction sa = {.sa_handler = on_usr2, .sa_flags = SA_ONSTACK};
	pthread_t th[NT];

	sigaction(SIGUSR2, &sa, NULL);
	set_stack(0);
	for (long i = 1; i < NT; i++)
		if (pthread_create(&th[i], NULL, run, (void *)i))
			test_fatal("pthread_create");
	while (ready < NT - 1)
		msleep(1);
	test_ready();
	test_wait_go();
	check(0);
	for (int i = 1; i < NT; i++)
		pthread_join(th[i], NULL);
	test_done();
}
