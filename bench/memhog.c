// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Benchmark workload: NPROC processes (the root and NPROC-1 children), each
 * with MIB MiB of anonymous private memory filled with non-repeating data
 * (splitmix64 of a per-process counter: no zero page, no two equal pages).
 *
 *   memhog MIB NPROC
 *   memhog touch MIB
 *
 * The root prints "ready MIB NPROC" once every process has touched all its
 * memory, then sleeps. On SIGUSR1 the root re-reads its own memory and
 * prints "verified MIB" or "CORRUPT at OFFSET" (used after a restart, outside
 * the timed part). The children close their stdio and only sleep.
 *
 * "touch" writes MIB MiB of fresh anonymous memory once and exits, printing
 * how long that took. The benchmark runs it just before each timed step, to
 * prime the machine: on this VM the host backs guest memory lazily and takes
 * freed memory back (free page reporting), so a first write to a page can
 * cost more than the copy itself. Memory written and freed just before a step
 * is still backed, so the measured thing and its limit both start warm.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t want_verify;

static inline uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t *fill(size_t bytes, uint64_t seed)
{
	uint64_t *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("memhog: mmap");
		exit(1);
	}
	for (size_t i = 0; i < bytes / 8; i++)
		p[i] = splitmix64((seed << 40) + i);
	return p;
}

static void on_usr1(int sig)
{
	(void)sig;
	want_verify = 1;
}

int main(int argc, char **argv)
{
	size_t mib, bytes;
	int nproc, pfd[2];
	uint64_t *mem;
	char c = 'r';

	if (argc == 3 && !strcmp(argv[1], "touch")) {
		struct timespec a, b;

		bytes = strtoul(argv[2], NULL, 10) << 20;
		clock_gettime(CLOCK_MONOTONIC, &a);
		mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED) {
			perror("memhog: mmap");
			return 1;
		}
		memset(mem, 1, bytes);
		clock_gettime(CLOCK_MONOTONIC, &b);
		printf("%.3f\n", b.tv_sec - a.tv_sec + (b.tv_nsec - a.tv_nsec) / 1e9);
		return 0;
	}
	if (argc != 3 || (mib = strtoul(argv[1], NULL, 10)) == 0 || (nproc = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: memhog MIB NPROC | memhog touch MIB\n");
		return 2;
	}
	bytes = mib << 20;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pipe(pfd) < 0) {
		perror("memhog: pipe");
		return 1;
	}
	for (int i = 1; i < nproc; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("memhog: fork");
			return 1;
		}
		if (pid == 0) {
			close(pfd[0]);
			close(0);
			close(1);
			close(2);
			mem = fill(bytes, (uint64_t)i + 1);
			if (write(pfd[1], &c, 1) != 1)
				_exit(1);
			close(pfd[1]);
			for (;;)
				pause();
		}
	}
	close(pfd[1]);
	for (int i = 1; i < nproc; i++)
		if (read(pfd[0], &c, 1) != 1) {
			fprintf(stderr, "memhog: a child died\n");
			return 1;
		}
	close(pfd[0]);
	mem = fill(bytes, 1);
	signal(SIGUSR1, on_usr1);
	printf("ready %zu %d\n", mib, nproc);
	for (;;) {
		pause();
		if (!want_verify)
			continue;
		want_verify = 0;
		size_t bad = SIZE_MAX;

		for (size_t i = 0; i < bytes / 8 && bad == SIZE_MAX; i++)
			if (mem[i] != splitmix64((1ULL << 40) + i))
				bad = i * 8;
		if (bad == SIZE_MAX)
			printf("verified %zu\n", mib);
		else
			printf("CORRUPT at %zu\n", bad);
	}
}
