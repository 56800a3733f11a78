// SPDX-License-Identifier: LGPL-2.1-or-later
/* Chunk digests of image files: computed while writing, as a list, as JSON. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#undef LOG_PREFIX
#define LOG_PREFIX "digests: "
#include "img-digest.h"
#include "log.h"

struct img_digester {
	crypto_generichash_state st; /* first: aligned as libsodium wants */
	uint64_t size;
	size_t in_chunk; /* bytes of the current chunk hashed so far */
	size_t nchunks;
	uint8_t (*chunk)[CR_DIGEST_LEN];
	int err;
};

struct img_digester *imgd_new(void)
{
	struct img_digester *d;

	if (sodium_init() < 0)
		return NULL;
	d = aligned_alloc(64, (sizeof(*d) + 63) & ~(size_t)63);
	if (!d)
		return NULL;
	memset(d, 0, sizeof(*d));
	crypto_generichash_init(&d->st, NULL, 0, CR_DIGEST_LEN);
	return d;
}

/* Close the current chunk: its digest goes to the list, a new one starts. */
static void close_chunk(struct img_digester *d)
{
	uint8_t(*c)[CR_DIGEST_LEN] = realloc(d->chunk, (d->nchunks + 1) * CR_DIGEST_LEN);

	if (!c) {
		d->err = -ENOMEM;
		return;
	}
	d->chunk = c;
	crypto_generichash_final(&d->st, c[d->nchunks++], CR_DIGEST_LEN);
	crypto_generichash_init(&d->st, NULL, 0, CR_DIGEST_LEN);
	d->in_chunk = 0;
}

void imgd_update(struct img_digester *d, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len && !d->err) {
		size_t n =
			CR_DIGEST_CHUNK - d->in_chunk < len ? CR_DIGEST_CHUNK - d->in_chunk : len;

		crypto_generichash_update(&d->st, p, n);
		d->in_chunk += n;
		d->size += n;
		p += n;
		len -= n;
		if (d->in_chunk == CR_DIGEST_CHUNK)
			close_chunk(d);
	}
}

void imgd_free(struct img_digester *d)
{
	if (d)
		free(d->chunk);
	free(d);
}

int imgd_finish(struct img_digester *d, const char *name, struct cr_digests *list)
{
	struct cr_file_digest *f;
	int ret;

	if (d->in_chunk)
		close_chunk(d);
	ret = d->err;
	f = ret ? NULL : realloc(list->files, (list->nfiles + 1) * sizeof(*f));
	if (!ret && !f)
		ret = -ENOMEM;
	if (ret) {
		imgd_free(d);
		return ret;
	}
	list->files = f;
	f += list->nfiles++;
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->size = d->size;
	f->nchunks = d->nchunks;
	f->chunk = d->chunk;
	free(d);
	return 0;
}

int imgd_hash(const void *buf, size_t len, uint8_t out[CR_DIGEST_LEN])
{
	if (sodium_init() < 0)
		return -EIO;
	return crypto_generichash(out, CR_DIGEST_LEN, buf, len, NULL, 0) ? -EIO : 0;
}

const struct cr_file_digest *imgd_find(const struct cr_digests *list, const char *name)
{
	for (size_t i = 0; i < list->nfiles; i++)
		if (!strcmp(list->files[i].name, name))
			return &list->files[i];
	return NULL;
}

int imgd_check_list(const struct cr_digests *list)
{
	for (size_t i = 0; i < list->nfiles; i++) {
		const struct cr_file_digest *f = &list->files[i];

		if (!memchr(f->name, '\0', sizeof(f->name)) || !f->name[0] ||
		    strchr(f->name, '/') || !strcmp(f->name, ".") || !strcmp(f->name, "..") ||
		    imgd_find(list, f->name) != f) {
			pr_err("entry %zu: bad or repeated file name\n", i);
			return -EINVAL;
		}
		if (f->nchunks != (f->size + CR_DIGEST_CHUNK - 1) / CR_DIGEST_CHUNK ||
		    (f->nchunks && !f->chunk)) {
			pr_err("%s: %zu chunk digests for %llu bytes\n", f->name, f->nchunks,
			       (unsigned long long)f->size);
			return -EINVAL;
		}
	}
	return 0;
}

void cr_digests_free(struct cr_digests *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nfiles; i++)
		free(d->files[i].chunk);
	free(d->files);
	free(d);
}

static json_t *file_json(const struct cr_file_digest *f)
{
	json_t *chunks = json_array(), *o;
	char hex[2 * CR_DIGEST_LEN + 1];

	for (size_t k = 0; chunks && k < f->nchunks; k++) {
		sodium_bin2hex(hex, sizeof(hex), f->chunk[k], CR_DIGEST_LEN);
		if (json_array_append_new(chunks, json_string(hex))) {
			json_decref(chunks);
			return NULL;
		}
	}
	o = json_pack("{s:s, s:I, s:o}", "name", f->name, "size", (json_int_t)f->size, "chunks",
		      chunks);
	return o;
}

int cr_digests_to_json(const struct cr_digests *d, char **json)
{
	json_t *files = json_array(), *root;

	*json = NULL;
	for (size_t i = 0; files && i < d->nfiles; i++)
		if (json_array_append_new(files, file_json(&d->files[i]))) {
			json_decref(files);
			return -ENOMEM;
		}
	root = json_pack("{s:s, s:I, s:o}", "algorithm", "blake2b-256", "chunk_size",
			 (json_int_t)CR_DIGEST_CHUNK, "files", files);
	if (root)
		*json = json_dumps(root, JSON_INDENT(1));
	json_decref(root);
	return *json ? 0 : -ENOMEM;
}

static int file_from_json(json_t *o, struct cr_file_digest *f)
{
	json_t *chunks;
	const char *name;
	json_int_t size;
	size_t k;

	if (json_unpack(o, "{s:s, s:I, s:o}", "name", &name, "size", &size, "chunks", &chunks) ||
	    !json_is_array(chunks) || strlen(name) >= sizeof(f->name) || size < 0)
		return -EINVAL;
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->size = size;
	f->nchunks = json_array_size(chunks);
	f->chunk = calloc(f->nchunks + 1, CR_DIGEST_LEN);
	if (!f->chunk)
		return -ENOMEM;
	for (k = 0; k < f->nchunks; k++) {
		const char *hex = json_string_value(json_array_get(chunks, k));
		size_t n = 0;

		if (!hex || strlen(hex) != 2 * CR_DIGEST_LEN ||
		    sodium_hex2bin(f->chunk[k], CR_DIGEST_LEN, hex, strlen(hex), NULL, &n, NULL) ||
		    n != CR_DIGEST_LEN)
			return -EINVAL;
	}
	return 0;
}

int cr_digests_from_json(const char *json, struct cr_digests **out)
{
	json_t *root = json_loads(json, 0, NULL), *files = NULL;
	struct cr_digests *d = calloc(1, sizeof(*d));
	const char *alg = "";
	json_int_t chunk = 0;
	int ret = !d ? -ENOMEM : !root ? -EINVAL : 0;
	size_t i;

	*out = NULL;
	if (!ret &&
	    (json_unpack(root, "{s:s, s:I, s:o}", "algorithm", &alg, "chunk_size", &chunk, "files",
			 &files) ||
	     strcmp(alg, "blake2b-256") || chunk != CR_DIGEST_CHUNK || !json_is_array(files)))
		ret = -EINVAL;
	if (!ret && !(d->files = calloc(json_array_size(files) + 1, sizeof(*d->files))))
		ret = -ENOMEM;
	for (i = 0; !ret && i < json_array_size(files); i++) {
		d->nfiles = i + 1;
		ret = file_from_json(json_array_get(files, i), &d->files[i]);
	}
	if (ret == -EINVAL)
		pr_err("not a digest list (blake2b-256, chunks of %u bytes): entry %zu\n",
		       CR_DIGEST_CHUNK, d->nfiles);
	if (!ret)
		ret = imgd_check_list(d);
	json_decref(root);
	if (ret)
		cr_digests_free(d);
	else
		*out = d;
	return ret;
}
