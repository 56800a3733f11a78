// SPDX-License-Identifier: LGPL-2.1-or-later
/* The image record stream: round trip, and every kind of damage refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cr.h"
#include "image.h"

struct fixture {
	char dir[64];
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/cr-image-test.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	strcat(fx->dir, "/img");
	*state = fx;
	cr_log_setup(-1, CR_LOG_ERROR);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %.*s", (int)(strlen(fx->dir) - 4), fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* header, two records with payloads, end */
static void write_image(const char *dir)
{
	struct cr_img img;
	uint64_t a = 0x1122334455667788ULL;
	char b[100];

	memset(b, 'x', sizeof(b));
	assert_int_equal(cr_img_create(&img, dir), 0);
	assert_int_equal(cr_img_write(&img, CR_REC_TASK, &a, sizeof(a)), 0);
	assert_int_equal(cr_img_write2(&img, CR_REC_PIPE, &a, sizeof(a), b, sizeof(b)), 0);
	assert_int_equal(cr_img_write(&img, CR_REC_END, NULL, 0), 0);
	cr_img_close(&img);
}

/* Read every record; returns the last cr_img_read() result. */
static int read_all(const char *dir, int *nrec)
{
	struct cr_rec_hdr h;
	struct cr_img img;
	void *p;
	int ret;

	*nrec = 0;
	ret = cr_img_open(&img, dir, NULL);
	if (ret)
		return ret;
	while ((ret = cr_img_read(&img, &h, &p)) == 1) {
		(*nrec)++;
		free(p);
	}
	cr_img_close(&img);
	return ret;
}

static void image_path(const struct fixture *fx, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", fx->dir, CR_IMG_NAME);
}

static void test_round_trip(void **state)
{
	struct fixture *fx = *state;
	int n;

	write_image(fx->dir);
	assert_int_equal(read_all(fx->dir, &n), 0);
	assert_int_equal(n, 2);
}

static void test_existing_dir_refused(void **state)
{
	struct fixture *fx = *state;
	struct cr_img img;

	write_image(fx->dir);
	assert_int_equal(cr_img_create(&img, fx->dir), -EEXIST);
}

static void test_every_flipped_bit_refused(void **state)
{
	struct fixture *fx = *state;
	char path[128];
	struct stat st;
	int fd, n;

	write_image(fx->dir);
	image_path(fx, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	for (off_t off = 0; off < st.st_size; off++) {
		for (int bit = 0; bit < 8; bit += 3) {
			unsigned char c;

			fd = open(path, O_RDWR);
			assert_true(pread(fd, &c, 1, off) == 1);
			c ^= 1u << bit;
			assert_true(pwrite(fd, &c, 1, off) == 1);
			assert_int_not_equal(read_all(fx->dir, &n), 0);
			c ^= 1u << bit;
			assert_true(pwrite(fd, &c, 1, off) == 1);
			close(fd);
		}
	}
	assert_int_equal(read_all(fx->dir, &n), 0);
}

static void test_every_truncation_refused(void **state)
{
	struct fixture *fx = *state;
	char path[128];
	struct stat st;
	int n;

	write_image(fx->dir);
	image_path(fx, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	for (off_t len = 0; len < st.st_size; len++) {
		char cmd[160];

		assert_int_equal(truncate(path, len), 0);
		assert_int_equal(read_all(fx->dir, &n), -EBADMSG);
		snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
		assert_int_equal(system(cmd), 0);
		write_image(fx->dir);
	}
}

static void test_datafile_checksum(void **state)
{
	struct fixture *fx = *state;
	struct cr_datafile df;
	struct cr_rec_hdr h;
	struct cr_img img;
	char buf[8192];
	void *p;

	memset(buf, 7, sizeof(buf));
	assert_int_equal(cr_img_create(&img, fx->dir), 0);
	assert_int_equal(cr_datafile_create(&df, img.dirfd, "pages-1.img"), 0);
	assert_int_equal(cr_datafile_write(&df, buf, sizeof(buf)), 0);
	assert_int_equal(cr_datafile_finish(&df, &img), 0);
	assert_int_equal(cr_img_write(&img, CR_REC_END, NULL, 0), 0);
	cr_img_close(&img);

	assert_int_equal(cr_img_open(&img, fx->dir, NULL), 0);
	assert_int_equal(cr_img_read(&img, &h, &p), 1);
	assert_int_equal(h.type, CR_REC_PAGEFILE);
	assert_int_equal(((struct cr_pagefile_rec *)p)->size, sizeof(buf));
	assert_string_equal(((struct cr_pagefile_rec *)p)->name, "pages-1.img");
	free(p);
	cr_img_close(&img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_existing_dir_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_flipped_bit_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_truncation_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_datafile_checksum, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
