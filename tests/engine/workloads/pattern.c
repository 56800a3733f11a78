// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pattern DIR: holds 4 MiB of memory in a pattern that depends on its
 * generation (1 at start), and says whether its memory is still that
 * pattern; the digest tests (verify.sh) restore it from images changed
 * behind the restorer's back. Every 20 ms:
 *   DIR/bump exists:   removed; generation 2, the pattern rewritten;
 *   DIR/report exists: removed; prints "report gen G ok|corrupt", exits 0.
 * Page P starts with "CRVPAT:G:P:" so a test can find it in a page file.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NPAGES 1024
#define PAGE   4096

static unsigned char *buf;
static int gen = 1;

static unsigned char byte_at(int p, int i)
{
	return (unsigned char)(p * 131 + i * 7 + gen * 29);
}

/* Fill (@check 0) or compare (@check 1, returns the pages that differ). */
static int pattern(int check)
{
	int bad = 0;

	for (int p = 0; p < NPAGES; p++) {
		unsigned char *pg = buf + (size_t)p * PAGE;
		char head[32];
		int n = snprintf(head, sizeof(head), "CRVPAT:%d:%d:", gen, p);

		if (!check) {
			memcpy(pg, head, n);
			for (int i = n; i < PAGE; i++)
				pg[i] = byte_at(p, i);
			continue;
		}
		for (int i = n; i < PAGE && !memcmp(pg, head, n); i++)
			if (pg[i] != byte_at(p, i)) {
				bad++;
				break;
			}
		bad += memcmp(pg, head, n) != 0;
	}
	return bad;
}

static int take(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return unlink(path) == 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: pattern DIR\n");
		return 2;
	}
	buf = mmap(NULL, (size_t)NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (buf == MAP_FAILED)
		return 1;
	pattern(0);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		usleep(20000);
		if (take(argv[1], "bump")) {
			gen = 2;
			pattern(0);
			printf("gen %d\n", gen);
			fflush(stdout);
		}
		if (take(argv[1], "report")) {
			printf("report gen %d %s\n", gen, pattern(1) ? "corrupt" : "ok");
			return 0;
		}
	}
}
