/*
 * vdso: the vDSO and its data pages. The test notes where [vdso] and
 * [vvar] (and [vvar_vclock]) are mapped and AT_SYSINFO_EHDR, and calls the
 * vDSO (clock_gettime, gettimeofday, time, getcpu) before the checkpoint.
 * Checks: after the restart they are mapped at the same addresses with the
 * same sizes and permissions, AT_SYSINFO_EHDR still points at [vdso], and
 * the vDSO calls work and agree with the raw syscalls (CLOCK_MONOTONIC and
 * CLOCK_REALTIME within 1 s, getcpu the CPU the thread is bound to).
 * Skip proof: memory.
 */
#include "zdtm.h"

#include <sched.h>
#include <sys/auxv.h>
#include <sys/time.h>

struct special {
	char name[32];
	char line[128];
};

static int find_specials(struct special *s, int max)
{
	static char buf[1 << 16];
	char *line, *save = NULL;
	int n = 0;

	if (read_text("/proc/self/maps", buf, sizeof(buf)) < 0)
		return 0;
	for (line = strtok_r(buf, "\n", &save); line && n < max;
	     line = strtok_r(NULL, "\n", &save)) {
		char *name = strrchr(line, ' ');
		unsigned long a, e;
		char perms[8];

		if (!name || name[1] != '[' || !strcmp(name + 1, "[stack]") ||
		    !strcmp(name + 1, "[heap]") || !strcmp(name + 1, "[vsyscall]"))
			continue;
		if (sscanf(line, "%lx-%lx %7s", &a, &e, perms) != 3)
			continue;
		snprintf(s[n].name, sizeof(s[n].name), "%s", name + 1);
		snprintf(s[n].line, sizeof(s[n].line), "%lx-%lx %s", a, e, perms);
		n++;
	}
	return n;
}

static long long diff_ms(clockid_t clk)
{
	struct timespec v, k;

	clock_gettime(clk, &v);
	syscall(SYS_clock_gettime, clk, &k);
	return llabs((k.tv_sec - v.tv_sec) * 1000LL + (k.tv_nsec - v.tv_nsec) / 1000000);
}

int main(void)
{
	struct special before[8], after[8];
	unsigned long ehdr = getauxval(AT_SYSINFO_EHDR);
	unsigned int cpu = 99, node;
	struct timeval tv;
	cpu_set_t one;
	int n, m;

	CPU_ZERO(&one);
	CPU_SET(1, &one);
	sched_setaffinity(0, sizeof(one), &one);
	n = find_specials(before, 8);
	if (!ehdr || n < 2)
		test_fatal("no vDSO");
	diff_ms(CLOCK_MONOTONIC);
	gettimeofday(&tv, NULL);
	test_ready();
	test_wait_go();

	m = find_specials(after, 8);
	CHECK(m == n, "%d special mappings, were %d", m, n);
	for (int i = 0; i < n && i < m; i++)
		CHECK(!strcmp(before[i].name, after[i].name) &&
			      !strcmp(before[i].line, after[i].line),
		      "%s at %s, was %s at %s", after[i].name, after[i].line, before[i].name,
		      before[i].line);
	CHECK(getauxval(AT_SYSINFO_EHDR) == ehdr, "AT_SYSINFO_EHDR moved");
	for (int i = 0; i < m; i++)
		if (!strcmp(after[i].name, "[vdso]"))
			CHECK(strtoul(after[i].line, NULL, 16) == ehdr,
			      "[vdso] is not at AT_SYSINFO_EHDR %#lx", ehdr);
	CHECK(diff_ms(CLOCK_MONOTONIC) < 1000, "vDSO CLOCK_MONOTONIC is off");
	CHECK(diff_ms(CLOCK_REALTIME) < 1000, "vDSO CLOCK_REALTIME is off");
	CHECK(gettimeofday(&tv, NULL) == 0 && llabs(tv.tv_sec - time(NULL)) <= 1,
	      "gettimeofday/time disagree");
	CHECK(getcpu(&cpu, &node) == 0 && cpu == 1, "getcpu says CPU %u on CPU 1", cpu);
	test_done();
}
