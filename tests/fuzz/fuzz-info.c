// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `cr info`'s describer (cr_image_describe) over one image.cr: an image the
 * loader takes must be described, as JSON that parses back and lists every
 * task and file of it. Names come from the dumped tasks (comm, paths), so
 * they are whatever bytes the job chose. Built with CR_FUZZ, record
 * checksums are not checked (image.c), so that mutations reach the parsers.
 */
#include <fcntl.h>
#include <jansson.h>
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
	snprintf(dir, sizeof(dir), "/dev/shm/cr-fuzz-info.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	cr_log_setup(-1, CR_LOG_ERROR); /* the loader's refusals are expected */
	return 0;
}

/* The description of an image the loader took: whole, and parsable. */
static void check(const struct rst_image *img)
{
	char *text = NULL;
	json_t *d;

	if (cr_image_describe(dir, &text) || !text)
		abort(); /* loaded, yet not described */
	d = json_loads(text, 0, NULL);
	if (!d || json_array_size(json_object_get(d, "tasks")) != img->ntasks ||
	    json_array_size(json_object_get(d, "files")) != img->nfiles ||
	    json_integer_value(json_object_get(d, "root")) != img->hdr.root_pid)
		abort(); /* not JSON, or a task or file left out */
	json_decref(d);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[96];
	struct rst_image img;
	int fd;

	snprintf(path, sizeof(path), "%s/" CR_IMG_NAME, dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (image_load(dir, NULL, &img))
		return 0;
	check(&img);
	image_free(&img);
	return 0;
}
