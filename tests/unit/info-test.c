// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `cr info`'s describer (libcr/info.c) on a real image (the fuzz seed
 * tests/fuzz/corpus/info/one-task, a one-task image of a tiny static
 * program) whose names are not UTF-8, as a job may make them (prctl
 * PR_SET_NAME, Latin-1 file names): the image is described whole, those
 * bytes as \xNN. Found by fuzz-info: the task was left out of "tasks", or
 * the whole description failed with ENOMEM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "cr.h"
#include "image.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/cr-info-test.XXXXXX");
	cr_log_setup(-1, CR_LOG_ERROR);
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char path[96];

	(void)state;
	snprintf(path, sizeof(path), "%s/" CR_IMG_NAME, dir);
	unlink(path);
	return rmdir(dir);
}

static uint8_t *read_seed(size_t *len)
{
	FILE *f = fopen(INFO_SEED, "rb");
	uint8_t *buf = malloc(1 << 16);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 16, f);
	assert_true(*len > 0 && *len < (1 << 16));
	fclose(f);
	return buf;
}

/* The seed with its task's comm and the header's kernel release ending in non-UTF-8 bytes. */
static void write_image(void)
{
	struct cr_rec_hdr *h;
	char path[96];
	size_t len, off;
	uint8_t *img = read_seed(&len);
	int fd, tasks = 0;

	for (off = 0; off + sizeof(*h) <= len; off += sizeof(*h) + h->len) {
		uint8_t *p = img + off + sizeof(*h);

		h = (struct cr_rec_hdr *)(img + off);
		assert_true(off + sizeof(*h) + h->len <= len);
		if (h->type == CR_REC_HEADER) {
			struct cr_header_rec *r = (struct cr_header_rec *)p;

			strcat(r->kernel, "\xff");
		} else if (h->type == CR_REC_TASK) {
			struct cr_task_rec *r = (struct cr_task_rec *)p;

			strcpy(r->comm, "caf\xe9");
			tasks++;
		}
		h->csum = XXH64(p, h->len, h->type);
	}
	assert_int_equal(tasks, 1);
	snprintf(path, sizeof(path), "%s/" CR_IMG_NAME, dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, img, len), (ssize_t)len);
	close(fd);
	free(img);
}

static void test_not_utf8(void **state)
{
	char *text = NULL;
	json_t *d, *task;

	(void)state;
	write_image();
	assert_int_equal(cr_image_describe(dir, &text), 0);
	d = json_loads(text, 0, NULL);
	assert_non_null(d);
	assert_int_equal(json_array_size(json_object_get(d, "tasks")), 1);
	task = json_array_get(json_object_get(d, "tasks"), 0);
	assert_string_equal(json_string_value(json_object_get(task, "comm")), "caf\\xe9");
	assert_string_equal(json_string_value(json_object_get(d, "kernel")),
			    "6.18.44-fc-v1272\\xff");
	json_decref(d);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_utf8),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
