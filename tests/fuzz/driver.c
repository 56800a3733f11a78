// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Runs a libFuzzer harness without libFuzzer (gcc builds, the sanitized
 * pass): each file named, or each file in each directory named, is one
 * input. A regression run over the corpus, not fuzzing: bench/fuzz.sh fuzzes.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;

	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
	    !(buf = malloc(len ? len : 1)) || fread(buf, 1, len, f) != (size_t)len) {
		fprintf(stderr, "fuzz driver: can't read %s\n", path);
		if (f)
			fclose(f);
		free(buf);
		return 1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int run_path(const char *path, int *n)
{
	struct dirent **ents;
	struct stat st;
	char sub[4096];
	int k, bad = 0;

	if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
		(*n)++;
		return run_file(path);
	}
	k = scandir(path, &ents, NULL, alphasort);
	for (int i = 0; i < k; i++) {
		if (ents[i]->d_name[0] != '.') {
			snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name);
			bad |= run_path(sub, n);
		}
		free(ents[i]);
	}
	free(ents);
	return k < 0 || bad;
}

int main(int argc, char **argv)
{
	int bad = 0, n = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		bad |= run_path(argv[i], &n);
	printf("%d inputs run%s\n", n, bad ? ", some unreadable" : "");
	return bad || !n;
}
