// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The image loader and `cr info`'s describer (libcr/image-load.c, info.c)
 * on a real image (the fuzz seed tests/fuzz/corpus/info/one-task, a
 * one-task image of a tiny static program) with hostile bytes, each case
 * found by fuzz-info:
 *  - names that are not UTF-8, as a job may make them (prctl PR_SET_NAME,
 *    Latin-1 file names): described whole, those bytes as \xNN (the task
 *    was left out of "tasks", or the description failed with ENOMEM);
 *  - a kernel release that is not terminated: refused as a bad header (it
 *    was parsed and logged, read past the record's end);
 *  - a kernel release whose major number overflows an int: refused as
 *    newer (4294968 * 1000 wrapped around to an older kernel's number).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "cr.h"
#include "image-load.h"
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

/*
 * The seed, its header's kernel release set to klen bytes of kernel (the
 * rest zero) and, unless NULL, its task's comm to comm; checksums made again.
 */
static void write_image(const char *kernel, size_t klen, const char *comm)
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

			assert_true(klen <= sizeof(r->kernel));
			memset(r->kernel, 0, sizeof(r->kernel));
			memcpy(r->kernel, kernel, klen);
		} else if (h->type == CR_REC_TASK && ++tasks && comm) {
			struct cr_task_rec *r = (struct cr_task_rec *)p;

			snprintf(r->comm, sizeof(r->comm), "%s", comm);
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

/* "3.0": older than any kernel the tests run on. The seed loads. */
static void test_seed_loads(void **state)
{
	struct rst_image img;

	(void)state;
	write_image("3.0", 3, NULL);
	assert_int_equal(image_load(dir, NULL, &img), 0);
	image_free(&img);
}

/* The task's comm and the header's kernel release end in bytes that are not UTF-8. */
static void test_not_utf8(void **state)
{
	char *text = NULL;
	json_t *d, *task;

	(void)state;
	write_image("3.0\xff", 4, "caf\xe9");
	assert_int_equal(cr_image_describe(dir, &text), 0);
	d = json_loads(text, 0, NULL);
	assert_non_null(d);
	assert_int_equal(json_array_size(json_object_get(d, "tasks")), 1);
	task = json_array_get(json_object_get(d, "tasks"), 0);
	assert_string_equal(json_string_value(json_object_get(task, "comm")), "caf\\xe9");
	assert_string_equal(json_string_value(json_object_get(d, "kernel")), "3.0\\xff");
	json_decref(d);
	free(text);
}

static void test_kernel_unterminated(void **state)
{
	char k[sizeof(((struct cr_header_rec *)0)->kernel)];
	struct rst_image img;

	(void)state;
	memset(k, '6', sizeof(k));
	write_image(k, sizeof(k), NULL);
	assert_int_equal(image_load(dir, NULL, &img), -EBADMSG);
}

static void test_kernel_overflow(void **state)
{
	struct rst_image img;

	(void)state;
	write_image("4294968.0", 9, NULL);
	assert_int_equal(image_load(dir, NULL, &img), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_loads),
		cmocka_unit_test(test_not_utf8),
		cmocka_unit_test(test_kernel_unterminated),
		cmocka_unit_test(test_kernel_overflow),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
