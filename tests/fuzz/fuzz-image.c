// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The image loader (image_load: every record kind's checks) and `cr info`'s
 * describer over one image.cr. Built with CR_FUZZ, the per-record checksums
 * are not checked (image.c), so that mutations reach the parsers; a page
 * file the image names is absent, as a user could make it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cr.h"
#include "image-load.h"

static char dir[64];

static void cleanup(void)
{
	char path[96];

	snprintf(path, sizeof(path), "%s/" CR_IMG_NAME, dir);
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/dev/shm/cr-fuzz-image.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	cr_log_setup(-1, CR_LOG_ERROR); /* the loader's refusals are expected */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[96], *json = NULL;
	struct rst_image img;
	int fd;

	snprintf(path, sizeof(path), "%s/" CR_IMG_NAME, dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (!image_load(dir, NULL, &img))
		image_free(&img);
	if (!cr_image_describe(dir, &json))
		free(json);
	return 0;
}
