// SPDX-License-Identifier: LGPL-2.1-or-later
/* The image record stream and checksummed data files. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#undef LOG_PREFIX
#define LOG_PREFIX "image: "
#include "log.h"
#include "image.h"
#include "img-digest.h"

#define CR_REC_MAX_LEN (64u << 20)

int cr_img_create(struct cr_img *img, const char *dir)
{
	int fd;

	memset(img, 0, sizeof(*img));
	if (mkdir(dir, 0700) < 0) {
		pr_perror("Can't create image directory %s", dir);
		return -errno;
	}
	img->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (img->dirfd < 0) {
		pr_perror("Can't open image directory %s", dir);
		return -errno;
	}
	fd = openat(img->dirfd, CR_IMG_NAME, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || !(img->f = fdopen(fd, "w"))) {
		pr_perror("Can't create %s/%s", dir, CR_IMG_NAME);
		if (fd >= 0)
			close(fd);
		close(img->dirfd);
		return -EIO;
	}
	img->writing = 1;
	img->rd.fd = -1;
	snprintf(img->path, sizeof(img->path), "%s/%s", dir, CR_IMG_NAME);
	img->dg = imgd_new();
	img->digests = calloc(1, sizeof(*img->digests));
	if (!img->dg || !img->digests) {
		cr_img_close(img);
		return -ENOMEM;
	}
	return 0;
}

int cr_img_open(struct cr_img *img, const char *dir, const struct cr_digests *list)
{
	int ret;

	memset(img, 0, sizeof(*img));
	img->rd.fd = -1;
	img->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (img->dirfd < 0) {
		pr_perror("Can't open image directory %s", dir);
		return -errno;
	}
	snprintf(img->path, sizeof(img->path), "%s/%s", dir, CR_IMG_NAME);
	ret = imgr_open(&img->rd, img->dirfd, CR_IMG_NAME, list);
	if (ret) {
		close(img->dirfd);
		img->dirfd = -1;
	}
	return ret;
}

int cr_img_take_digests(struct cr_img *img, struct cr_digests **out)
{
	int ret = imgd_finish(img->dg, CR_IMG_NAME, img->digests);

	img->dg = NULL;
	if (ret)
		return ret;
	*out = img->digests;
	img->digests = NULL;
	return 0;
}

void cr_img_close(struct cr_img *img)
{
	imgr_close(&img->rd);
	imgd_free(img->dg);
	img->dg = NULL;
	cr_digests_free(img->digests);
	img->digests = NULL;
	if (img->f) {
		if (img->writing) {
			fflush(img->f);
			fsync(fileno(img->f));
		}
		fclose(img->f);
		img->f = NULL;
	}
	if (img->dirfd >= 0)
		close(img->dirfd);
	img->dirfd = -1;
}

int cr_img_write2(struct cr_img *img, uint32_t type, const void *a, uint32_t alen, const void *b,
		  uint32_t blen)
{
	struct cr_rec_hdr hdr = {.type = type, .len = alen + blen};
	XXH64_state_t *st = XXH64_createState();

	if (!st)
		return -ENOMEM;
	XXH64_reset(st, type);
	XXH64_update(st, a, alen);
	if (blen)
		XXH64_update(st, b, blen);
	hdr.csum = XXH64_digest(st);
	XXH64_freeState(st);

	if (fwrite(&hdr, sizeof(hdr), 1, img->f) != 1 ||
	    (alen && fwrite(a, alen, 1, img->f) != 1) ||
	    (blen && fwrite(b, blen, 1, img->f) != 1)) {
		pr_perror("Can't write record %u to %s", type, img->path);
		return -EIO;
	}
	imgd_update(img->dg, &hdr, sizeof(hdr));
	imgd_update(img->dg, a, alen);
	imgd_update(img->dg, b, blen);
	img->off += sizeof(hdr) + alen + blen;
	return 0;
}

int cr_img_write(struct cr_img *img, uint32_t type, const void *payload, uint32_t len)
{
	return cr_img_write2(img, type, payload, len, NULL, 0);
}

int cr_img_read(struct cr_img *img, struct cr_rec_hdr *hdr, void **payload)
{
	void *buf;

	int ret;

	*payload = NULL;
	ret = imgr_read(&img->rd, hdr, sizeof(*hdr));
	if (ret == -ENODATA)
		pr_err("%s: truncated at offset %llu (no end record)\n", img->path,
		       (unsigned long long)img->off);
	if (ret)
		return ret == -ENODATA ? -EBADMSG : ret;
	if (hdr->type == 0 || hdr->type >= CR_REC_MAX || hdr->len > CR_REC_MAX_LEN) {
		pr_err("%s: bad record header at offset %llu (type %u, length %u)\n", img->path,
		       (unsigned long long)img->off, hdr->type, hdr->len);
		return -EBADMSG;
	}
	buf = malloc(hdr->len ? hdr->len : 1);
	if (!buf)
		return -ENOMEM;
	ret = hdr->len ? imgr_read(&img->rd, buf, hdr->len) : 0;
	if (ret) {
		if (ret == -ENODATA)
			pr_err("%s: record at offset %llu truncated\n", img->path,
			       (unsigned long long)img->off);
		free(buf);
		return ret == -ENODATA ? -EBADMSG : ret;
	}
#ifndef CR_FUZZING /* fuzzing builds: mutated records must reach the parsers */
	if (XXH64(buf, hdr->len, hdr->type) != hdr->csum) {
		pr_err("%s: checksum mismatch in record type %u at offset %llu\n", img->path,
		       hdr->type, (unsigned long long)img->off);
		free(buf);
		return -EBADMSG;
	}
#endif
	img->off += sizeof(*hdr) + hdr->len;
	if (hdr->type == CR_REC_END) {
		free(buf);
		return imgr_check_all_read(&img->rd);
	}
	*payload = buf;
	return 1;
}

void cr_datafile_abort(struct cr_datafile *df)
{
	if (df->fd >= 0)
		close(df->fd);
	df->fd = -1;
	XXH64_freeState(df->hash);
	df->hash = NULL;
	imgd_free(df->dg);
	df->dg = NULL;
}

int cr_datafile_create(struct cr_datafile *df, int dirfd, const char *name)
{
	memset(df, 0, sizeof(*df));
	snprintf(df->name, sizeof(df->name), "%s", name);
	df->fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (df->fd < 0) {
		pr_perror("Can't create %s", name);
		return -errno;
	}
	df->hash = XXH64_createState();
	df->dg = imgd_new();
	if (!df->hash || !df->dg) {
		cr_datafile_abort(df);
		return -ENOMEM;
	}
	XXH64_reset(df->hash, 0);
	return 0;
}

int cr_datafile_write(struct cr_datafile *df, const void *buf, size_t len)
{
	const char *p = buf;
	size_t left = len;

	XXH64_update(df->hash, buf, len);
	imgd_update(df->dg, buf, len);
	while (left) {
		ssize_t n = write(df->fd, p, left);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_perror("Can't write %zu bytes to %s", left, df->name);
			return -errno;
		}
		p += n;
		left -= n;
	}
	df->size += len;
	return 0;
}

int cr_datafile_finish(struct cr_datafile *df, struct cr_img *img)
{
	struct cr_pagefile_rec rec = {.size = df->size};
	int ret = 0;

	rec.csum = XXH64_digest(df->hash);
	XXH64_freeState(df->hash);
	df->hash = NULL;
	snprintf(rec.name, sizeof(rec.name), "%s", df->name);
	if (fdatasync(df->fd) < 0) {
		pr_perror("Can't sync %s", df->name);
		ret = -errno;
	}
	close(df->fd);
	df->fd = -1;
	if (!ret)
		ret = imgd_finish(df->dg, df->name, img->digests);
	else
		imgd_free(df->dg);
	df->dg = NULL;
	if (!ret)
		ret = cr_img_write(img, CR_REC_PAGEFILE, &rec, sizeof(rec));
	return ret;
}

int image_check_len(const struct cr_img *img, const struct cr_rec_hdr *h, size_t fixed, size_t tail)
{
	if (h->len != fixed + tail) {
		pr_err("%s: record type %u at offset %llu has length %u, expected %zu\n", img->path,
		       h->type, (unsigned long long)img->off, h->len, fixed + tail);
		return -EBADMSG;
	}
	return 0;
}
