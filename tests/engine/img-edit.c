// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * img-edit: hand-edit a field of an image and fix the record's checksum, as
 * someone moving an image to an incompatible machine would, or as a user
 * editing their own image to gain what they did not have; the restore must
 * refuse it by what the record says, not by a checksum.
 *
 *   img-edit DIR xfeatures|xsave_size|kernel|version|arch VALUE
 *   img-edit DIR task PID FIELD VALUE
 *   img-edit DIR pagefile NAME
 *
 * Task fields: uid0..uid3 and gid0..gid3 (real, effective, saved, fs),
 * group (appends a supplementary group), cap_inh, cap_prm, cap_eff, cap_amb,
 * cap_bnd, securebits, nnp, rlim_cur.N and rlim_max.N (RLIMIT_* number N),
 * root, cwd. Numbers in C notation.
 *
 * pagefile NAME makes the record describing data file NAME (size, XXH64)
 * match the file as it is now, as someone editing a page file would.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "image.h"

static int edit_header(struct cr_header_rec *hr, const char *field, const char *val)
{
	if (!strcmp(field, "xfeatures"))
		hr->xfeatures = strtoull(val, NULL, 0);
	else if (!strcmp(field, "xsave_size"))
		hr->xsave_size = strtoul(val, NULL, 0);
	else if (!strcmp(field, "kernel"))
		snprintf(hr->kernel, sizeof(hr->kernel), "%s", val);
	else if (!strcmp(field, "version"))
		hr->version = strtoul(val, NULL, 0);
	else if (!strcmp(field, "arch"))
		snprintf(hr->arch, sizeof(hr->arch), "%s", val);
	else
		return -1;
	return 0;
}

static int edit_caps(struct cr_task_rec *t, const char *field, uint64_t v)
{
	static const char *const names[] = {"cap_inh", "cap_prm", "cap_eff", "cap_amb", "cap_bnd"};
	uint64_t *sets[] = {&t->cap_inh, &t->cap_prm, &t->cap_eff, &t->cap_amb, &t->cap_bnd};

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (!strcmp(field, names[i])) {
			*sets[i] = v;
			return 0;
		}
	return -1;
}

static int edit_task(struct cr_task_rec *t, const char *field, const char *val)
{
	uint64_t v = strtoull(val, NULL, 0);
	unsigned int n;

	if (sscanf(field, "uid%u", &n) == 1 && n < 4)
		t->uid[n] = v;
	else if (sscanf(field, "gid%u", &n) == 1 && n < 4)
		t->gid[n] = v;
	else if (!strcmp(field, "group") && t->ngroups < CR_MAX_GROUPS)
		t->groups[t->ngroups++] = v;
	else if (sscanf(field, "rlim_cur.%u", &n) == 1 && n < CR_NRLIMITS)
		t->rlim[n].cur = v;
	else if (sscanf(field, "rlim_max.%u", &n) == 1 && n < CR_NRLIMITS)
		t->rlim[n].max = v;
	else if (!strcmp(field, "securebits"))
		t->securebits = v;
	else if (!strcmp(field, "nnp"))
		t->no_new_privs = v;
	else if (!strcmp(field, "root"))
		snprintf(t->root, sizeof(t->root), "%s", val);
	else if (!strcmp(field, "cwd"))
		snprintf(t->cwd, sizeof(t->cwd), "%s", val);
	else
		return edit_caps(t, field, v);
	return 0;
}

/* Find the record (the header, or task @pid), edit it, rewrite it with its checksum. */
static int edit(FILE *f, long pid, const char *field, const char *val)
{
	struct cr_rec_hdr h;
	long off = 0;

	while (fread(&h, sizeof(h), 1, f) == 1 && h.type != CR_REC_END) {
		union {
			struct cr_header_rec hr;
			struct cr_task_rec t;
		} u;
		int bad = -2;

		if ((h.type == CR_REC_HEADER && pid < 0 && h.len == sizeof(u.hr)) ||
		    (h.type == CR_REC_TASK && pid >= 0 && h.len == sizeof(u.t))) {
			if (fread(&u, h.len, 1, f) != 1)
				return -1;
			if (h.type == CR_REC_TASK && u.t.pid != pid)
				goto next;
			bad = h.type == CR_REC_HEADER ? edit_header(&u.hr, field, val)
						      : edit_task(&u.t, field, val);
			if (bad)
				return bad;
			h.csum = XXH64(&u, h.len, h.type);
			if (fseek(f, off, SEEK_SET) || fwrite(&h, sizeof(h), 1, f) != 1 ||
			    fwrite(&u, h.len, 1, f) != 1)
				return -1;
			return 0;
		}
next:
		off += sizeof(h) + h.len;
		if (fseek(f, off, SEEK_SET))
			return -1;
	}
	return -3;
}

/* XXH64 and size of DIR/NAME into its CR_REC_PAGEFILE record, checksum fixed. */
static int fix_pagefile(FILE *f, const char *dir, const char *name)
{
	struct cr_pagefile_rec pf;
	struct cr_rec_hdr h;
	char path[4096], buf[65536];
	XXH64_state_t *st = XXH64_createState();
	uint64_t size = 0;
	size_t n;
	FILE *d;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!st || !(d = fopen(path, "r"))) {
		perror(path);
		return 1;
	}
	XXH64_reset(st, 0);
	while ((n = fread(buf, 1, sizeof(buf), d)) > 0) {
		XXH64_update(st, buf, n);
		size += n;
	}
	fclose(d);
	while (fread(&h, sizeof(h), 1, f) == 1) {
		long at = ftell(f);

		if (h.type == CR_REC_PAGEFILE && h.len == sizeof(pf) &&
		    fread(&pf, sizeof(pf), 1, f) == 1 && !strcmp(pf.name, name)) {
			pf.size = size;
			pf.csum = XXH64_digest(st);
			h.csum = XXH64(&pf, sizeof(pf), h.type);
			XXH64_freeState(st);
			if (fseek(f, at - (long)sizeof(h), SEEK_SET) ||
			    fwrite(&h, sizeof(h), 1, f) != 1 ||
			    fwrite(&pf, sizeof(pf), 1, f) != 1) {
				perror("img-edit: write");
				return 1;
			}
			return 0;
		}
		if (fseek(f, at + h.len, SEEK_SET))
			break;
	}
	XXH64_freeState(st);
	fprintf(stderr, "img-edit: no record describes %s\n", name);
	return 1;
}

int main(int argc, char **argv)
{
	bool task = argc == 6 && !strcmp(argv[2], "task");
	char path[4096];
	FILE *f;
	int ret;

	if (argc != 4 && !task) {
		fprintf(stderr, "usage: img-edit DIR FIELD VALUE | img-edit DIR task PID FIELD "
				"VALUE\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/%s", argv[1], CR_IMG_NAME);
	f = fopen(path, "r+");
	if (!f) {
		perror("img-edit: open");
		return 1;
	}
	if (argc == 4 && !strcmp(argv[2], "pagefile")) {
		ret = fix_pagefile(f, argv[1], argv[3]);
		return fclose(f) || ret ? 1 : 0;
	}
	ret = task ? edit(f, atol(argv[3]), argv[4], argv[5]) : edit(f, -1, argv[2], argv[3]);
	if (fclose(f) && !ret)
		ret = -1;
	if (ret == -2)
		fprintf(stderr, "img-edit: unknown field %s\n", argv[task ? 4 : 2]);
	else if (ret == -3)
		fprintf(stderr, "img-edit: %s has no such record\n", path);
	else if (ret)
		perror("img-edit: write");
	return ret == -2 ? 2 : ret ? 1 : 0;
}
