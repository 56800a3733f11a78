// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * img-edit: hand-edit a field of an image's header and fix its checksum, as
 * someone moving an image to an incompatible machine would; the restore
 * must refuse it by what the header says, not by a checksum.
 *
 *   img-edit DIR xfeatures|xsave_size|kernel|version|arch VALUE
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "image.h"

int main(int argc, char **argv)
{
	struct cr_header_rec hr;
	struct cr_rec_hdr h;
	char path[4096];
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: img-edit DIR FIELD VALUE\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/%s", argv[1], CR_IMG_NAME);
	f = fopen(path, "r+");
	if (!f || fread(&h, sizeof(h), 1, f) != 1 || h.type != CR_REC_HEADER ||
	    h.len != sizeof(hr) || fread(&hr, sizeof(hr), 1, f) != 1) {
		fprintf(stderr, "img-edit: %s has no header record\n", path);
		return 1;
	}
	if (!strcmp(argv[2], "xfeatures"))
		hr.xfeatures = strtoull(argv[3], NULL, 0);
	else if (!strcmp(argv[2], "xsave_size"))
		hr.xsave_size = strtoul(argv[3], NULL, 0);
	else if (!strcmp(argv[2], "kernel"))
		snprintf(hr.kernel, sizeof(hr.kernel), "%s", argv[3]);
	else if (!strcmp(argv[2], "version"))
		hr.version = strtoul(argv[3], NULL, 0);
	else if (!strcmp(argv[2], "arch"))
		snprintf(hr.arch, sizeof(hr.arch), "%s", argv[3]);
	else {
		fprintf(stderr, "img-edit: unknown field %s\n", argv[2]);
		return 2;
	}
	h.csum = XXH64(&hr, sizeof(hr), h.type);
	rewind(f);
	if (fwrite(&h, sizeof(h), 1, f) != 1 || fwrite(&hr, sizeof(hr), 1, f) != 1 || fclose(f)) {
		perror("img-edit: write");
		return 1;
	}
	return 0;
}
