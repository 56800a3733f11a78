/*
 * rlimits: resource limits lowered, soft and hard (never raised: no
 * CAP_SYS_RESOURCE needed): in the main process NOFILE 200/300, CORE 0/0,
 * CPU 1000/2000 s, FSIZE 1/2 GiB, DATA and AS 64/128 GiB, STACK soft 4 MiB,
 * MEMLOCK 32/64 KiB, LOCKS 500/1000, SIGPENDING 900/1000, MSGQUEUE 4/8 KiB,
 * RTTIME 1/2 s, NPROC 5000/6000 (each at most its current hard limit); in
 * a child other values for a few.
 * Checks: after the restart getrlimit() reads back every one of the 16
 * limits of each process exactly as it was before the checkpoint.
 * Skip proof: misc.
 */
#include "zdtm.h"

#include <sys/resource.h>

#define NLIM 16

static const struct {
	int res;
	rlim_t soft, hard;
} lower[] = {
	{RLIMIT_NOFILE, 200, 300},
	{RLIMIT_CORE, 0, 0},
	{RLIMIT_CPU, 1000, 2000},
	{RLIMIT_FSIZE, 1UL << 30, 2UL << 30},
	{RLIMIT_DATA, 64UL << 30, 128UL << 30},
	{RLIMIT_AS, 64UL << 30, 128UL << 30},
	{RLIMIT_STACK, 4 << 20, RLIM_INFINITY},
	{RLIMIT_MEMLOCK, 32 << 10, 64 << 10},
	{RLIMIT_LOCKS, 500, 1000},
	{RLIMIT_SIGPENDING, 900, 1000},
	{RLIMIT_MSGQUEUE, 4096, 8192},
	{RLIMIT_RTTIME, 1000000, 2000000},
	{RLIMIT_NPROC, 5000, 6000},
};

static const struct {
	int res;
	rlim_t soft, hard;
} child_lim[] = {
	{RLIMIT_NOFILE, 64, 128},
	{RLIMIT_CPU, 500, 600},
	{RLIMIT_STACK, 2 << 20, 16 << 20},
};

/* Lower @res to at most @soft/@hard. */
static void lower_to(int res, rlim_t soft, rlim_t hard)
{
	struct rlimit r;

	getrlimit(res, &r);
	if (hard < r.rlim_max)
		r.rlim_max = hard;
	r.rlim_cur = soft < r.rlim_max ? soft : r.rlim_max;
	if (setrlimit(res, &r))
		test_fatal("setrlimit %d", res);
}

static void get_all(struct rlimit r[NLIM])
{
	for (int i = 0; i < NLIM; i++)
		getrlimit(i, &r[i]);
}

static void check(const char *who, const struct rlimit want[NLIM])
{
	struct rlimit cur[NLIM];

	get_all(cur);
	for (int i = 0; i < NLIM; i++)
		CHECK(cur[i].rlim_cur == want[i].rlim_cur && cur[i].rlim_max == want[i].rlim_max,
		      "%s: rlimit %d is %llu/%llu, was %llu/%llu", who, i,
		      (unsigned long long)cur[i].rlim_cur, (unsigned long long)cur[i].rlim_max,
		      (unsigned long long)want[i].rlim_cur, (unsigned long long)want[i].rlim_max);
}

int main(void)
{
	struct rlimit want[NLIM];
	struct barrier b;
	pid_t pid;

	for (size_t i = 0; i < ARRAY_SIZE(lower); i++)
		lower_to(lower[i].res, lower[i].soft, lower[i].hard);
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		test_fatal("fork");
	if (!pid) {
		for (size_t i = 0; i < ARRAY_SIZE(child_lim); i++)
			lower_to(child_lim[i].res, child_lim[i].soft, child_lim[i].hard);
		get_all(want);
		barrier_signal(&b);
		test_wait_go();
		check("child", want);
		test_child_done();
	}
	get_all(want);
	barrier_wait(&b, 1);
	test_ready();
	test_wait_go();
	check("main", want);
	reap_child(pid, "child");
	test_done();
}
