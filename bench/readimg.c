// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The restart limit: read files into freshly mapped anonymous memory, as a
 * restore must (each page is faulted in as it is filled; dd to /dev/null
 * reuses one buffer and faults nothing).
 *
 *   readimg CHUNK_KIB FILE...
 *
 * For each file: mmap an anonymous private area of its size, read() it in
 * CHUNK_KIB pieces straight into that area. Prints "BYTES SECONDS": the time
 * from the first open to the last read, without the final unmap (a restore
 * leaves the memory mapped in the restored tasks, so its restarter does not
 * pay for freeing it either).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	size_t chunk, total = 0;
	double t0, t1;

	if (argc < 3 || (chunk = strtoul(argv[1], NULL, 10) << 10) == 0) {
		fprintf(stderr, "usage: readimg CHUNK_KIB FILE...\n");
		return 2;
	}
	t0 = now();
	for (int i = 2; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
		struct stat st;
		char *p;
		size_t off = 0;

		if (fd < 0 || fstat(fd, &st) < 0) {
			perror(argv[i]);
			return 1;
		}
		if (st.st_size == 0) {
			close(fd);
			continue;
		}
		p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			 0);
		if (p == MAP_FAILED) {
			perror("readimg: mmap");
			return 1;
		}
		while (off < (size_t)st.st_size) {
			size_t want = st.st_size - off < chunk ? st.st_size - off : chunk;
			ssize_t n = read(fd, p + off, want);

			if (n <= 0) {
				perror(argv[i]);
				return 1;
			}
			off += n;
		}
		total += off;
		close(fd);
	}
	t1 = now();
	printf("%zu %.6f\n", total, t1 - t0);
	return 0;
}
