// SPDX-License-Identifier: LGPL-2.1-or-later
/* cr_image_describe: an image as JSON, for `cr info` and scripts. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#undef LOG_PREFIX
#define LOG_PREFIX "info: "
#include "files.h"
#include "image-load.h"
#include "log.h"

static const char *const vma_kinds[] = {
	[CR_VMA_ANON] = "anon",
	[CR_VMA_FILE_PRIVATE] = "file-private",
	[CR_VMA_FILE_SHARED] = "file-shared",
	[CR_VMA_SHMEM] = "shmem",
	[CR_VMA_VDSO] = "vdso",
	[CR_VMA_VVAR] = "vvar",
	[CR_VMA_VVAR_VCLOCK] = "vvar_vclock",
};

/*
 * s as a JSON string. Names in an image are the bytes the job used (comm,
 * paths), not always UTF-8, which JSON strings must be: a byte that does
 * not start a valid sequence is written as the four characters \xNN
 * (jansson decides what is valid).
 * NULL: out of memory.
 */
static json_t *str_json(const char *s)
{
	json_t *j = json_string(s), *seq;
	size_t n = 0, len, k;
	unsigned char c;
	char *out;

	if (j)
		return j;
	out = malloc(4 * strlen(s) + 1);
	if (!out)
		return NULL;
	for (; *s; s += len) {
		c = (unsigned char)*s;
		len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		for (k = 1; k < len && s[k]; k++)
			;
		seq = k == len && c >= 0x80 ? json_stringn(s, len) : NULL;
		if (c < 0x80 || seq) {
			memcpy(out + n, s, len);
			n += len;
		} else {
			n += (size_t)sprintf(out + n, "\\x%02x", c);
			len = 1;
		}
		json_decref(seq);
	}
	out[n] = '\0';
	j = json_stringn(out, n);
	free(out);
	return j;
}

static json_t *describe_vmas(const struct rst_img_task *t)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < t->nvmas; i++) {
		const struct cr_vma_rec *v = t->vmas[i];
		char prot[4] = {v->prot & 1 ? 'r' : '-', v->prot & 2 ? 'w' : '-',
				v->prot & 4 ? 'x' : '-', 0};

		if (json_array_append_new(
			    arr, json_pack("{s:I,s:I,s:s,s:s,s:o}", "start", (json_int_t)v->start,
					   "end", (json_int_t)v->end, "prot", prot, "kind",
					   v->kind < sizeof(vma_kinds) / sizeof(*vma_kinds) &&
							   vma_kinds[v->kind]
						   ? vma_kinds[v->kind]
						   : "?",
					   "path", str_json(v->path)))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *describe_task(const struct rst_img_task *t)
{
	const struct cr_task_rec *r = t->rec;
	json_t *fds = json_array(), *threads = json_array();
	uint64_t pages = 0;

	for (size_t i = 0; t->pagemap && i < t->pagemap->nruns; i++)
		pages += t->runs[i].npages;
	for (size_t i = 0; i < t->nthreads; i++)
		json_array_append_new(threads, json_integer(t->threads[i]->tid));
	for (size_t i = 0; i < t->nfds; i++)
		json_array_append_new(fds, json_pack("{s:i,s:i}", "fd", t->fds[i].fd, "file",
						     (int)t->fds[i].file_id));
	return json_pack("{s:i,s:i,s:i,s:i,s:b,s:o,s:o,s:o,s:I,s:o,s:o}", "pid", r->pid, "ppid",
			 r->ppid, "pgid", r->pgid, "sid", r->sid, "zombie",
			 !!(r->flags & CR_TASK_ZOMBIE), "comm", str_json(r->comm), "exe",
			 str_json(t->mm ? t->mm->exe : ""), "threads", threads, "pages_bytes",
			 (json_int_t)pages * (json_int_t)PAGE_SIZE, "mappings", describe_vmas(t),
			 "fds", fds);
}

static json_t *describe_files(const struct rst_image *img)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < img->nfiles; i++) {
		const struct cr_file_rec *f = img->files[i].rec;

		if (json_array_append_new(
			    arr, json_pack("{s:i,s:s,s:o,s:I,s:i}", "id", (int)f->id, "kind",
					   file_kind_name(f->kind), "path", str_json(f->path),
					   "pos", (json_int_t)f->pos, "flags", (int)f->flags))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

int cr_image_describe(const char *dir, char **json)
{
	struct rst_image img;
	json_t *root, *tasks, *data = json_array();
	uint64_t total = 0;
	int ret;

	*json = NULL;
	ret = image_load(dir, NULL, &img);
	if (ret) {
		json_decref(data);
		return ret;
	}
	tasks = json_array();
	for (size_t i = 0; i < img.ntasks && tasks; i++)
		if (json_array_append_new(tasks, describe_task(&img.tasks[i]))) {
			json_decref(tasks);
			tasks = NULL; /* a task left out would be a lie: fail whole */
		}
	for (size_t i = 0; i < img.npagefiles; i++) {
		total += img.pagefiles[i].size;
		if (data &&
		    json_array_append_new(data, json_pack("{s:o,s:I}", "name",
							  str_json(img.pagefiles[i].name), "bytes",
							  (json_int_t)img.pagefiles[i].size))) {
			json_decref(data);
			data = NULL;
		}
	}
	root = json_pack("{s:i,s:o,s:o,s:I,s:I,s:i,s:i,s:b,s:o,s:o,s:o,s:I}", "version",
			 (int)img.hdr.version, "arch", str_json(img.hdr.arch), "kernel",
			 str_json(img.hdr.kernel), "xfeatures", (json_int_t)img.hdr.xfeatures,
			 "time_ns", (json_int_t)img.hdr.time_ns, "root", img.hdr.root_pid, "ntasks",
			 (int)img.hdr.ntasks, "root_was_init", img.hdr.root_is_init, "tasks", tasks,
			 "files", describe_files(&img), "data_files", data, "data_bytes",
			 (json_int_t)total);
	image_free(&img);
	if (!root) {
		pr_err("can't describe the image in %s: out of memory\n", dir);
		return -ENOMEM;
	}
	*json = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	return *json ? 0 : -ENOMEM;
}
