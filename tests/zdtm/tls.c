/*
 * tls: thread pointers and thread-local storage: each of three threads has
 * its own __thread values and errno, fs_base (= its pthread_self()) and a
 * gs_base set with arch_prctl(ARCH_SET_GS) to a per-thread value.
 * Checks: after the restart each thread reads the same fs_base and gs_base,
 * its own __thread values at the same addresses, and its own errno.
 * Skip proof: memory (the thread-local data and stacks are lost).
 */
#include "zdtm.h"

#include <asm/prctl.h>
#include <pthread.h>

#define NT 3

static __thread unsigned long tval = 1;
static __thread char tbuf[64];

struct tstate {
	unsigned long fs, gs;
	void *tval_addr;
	pthread_t self;
};
static struct tstate before[NT];

static unsigned long get_base(int code)
{
	unsigned long v = 0;

	if (syscall(SYS_arch_prctl, code, &v))
		return ~0UL;
	return v;
}

static void *run(void *arg)
{
	long i = (long)arg;
	struct tstate *b = &before[i];
	unsigned long gs = 0x100000000UL + (unsigned long)i * 0x10000000UL;

	if (syscall(SYS_arch_prctl, ARCH_SET_GS, gs))
		test_fatal("ARCH_SET_GS");
	tval = 0xabc000 + i;
	snprintf(tbuf, sizeof(tbuf), "thread %ld", i);
	errno = 1000 + i;
	b->fs = get_base(ARCH_GET_FS);
	b->gs = get_base(ARCH_GET_GS);
	b->tval_addr = &tval;
	b->self = pthread_self();
	errno = 1000 + i;
	if (i)
		test_wait_go();
	else {
		test_ready();
		test_wait_go();
	}
	errno = 1000 + i; /* the wait may have set it */
	{
		char want[64];
		unsigned long fs = get_base(ARCH_GET_FS), gs_now = get_base(ARCH_GET_GS);

		snprintf(want, sizeof(want), "thread %ld", i);
		CHECK(fs == b->fs, "thread %ld: fs_base %#lx, was %#lx", i, fs, b->fs);
		CHECK(fs == (unsigned long)pthread_self(),
		      "thread %ld: fs_base is not pthread_self", i);
		CHECK(gs_now == b->gs, "thread %ld: gs_base %#lx, was %#lx", i, gs_now, b->gs);
		CHECK(tval == 0xabc000UL + i, "thread %ld: __thread value %#lx", i, tval);
		CHECK((void *)&tval == b->tval_addr, "thread %ld: __thread address moved", i);
		CHECK(!strcmp(tbuf, want), "thread %ld: __thread buffer \"%.20s\"", i, tbuf);
	}
	return NULL;
}

static volatile int started;

static void *run_sub(void *arg)
{
	started++;
	return run(arg);
}

int main(void)
{
	pthread_t th[NT];

	for (long i = 1; i < NT; i++)
		if (pthread_create(&th[i], NULL, run_sub, (void *)i))
			test_fatal("pthread_create");
	while (started < NT - 1)
		msleep(1);
	msleep(5); /* the threads record their state before the main one says READY */
	run((void *)0);
	for (int i = 1; i < NT; i++)
		pthread_join(th[i], NULL);
	CHECK(errno == 1000, "main errno is %d", errno);
	test_done();
}
