// SPDX-License-Identifier: LGPL-2.1-or-later
/* The one reader of image files at restore: whole chunks, checked, then used. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#undef LOG_PREFIX
#define LOG_PREFIX "image: "
#include "img-digest.h"
#include "img-read.h"
#include "log.h"

#ifdef CR_TEST_HOOKS
/*
 * Test builds only: CR_TEST_PAUSE_AFTER_VERIFY=NAME:CTL makes the reader stop
 * once chunk 0 of NAME has been read (and checked, with digests), before any
 * of it is used: it creates CTL.paused and waits up to 60 s for CTL.go, so a
 * test can change the image in between.
 */
static void test_pause(const struct img_reader *r)
{
	const char *env = getenv("CR_TEST_PAUSE_AFTER_VERIFY"), *colon;
	char path[4096];
	int fd;

	if (!env || !(colon = strchr(env, ':')) || r->chunk != 0 ||
	    strncmp(env, r->name, colon - env) || r->name[colon - env])
		return;
	snprintf(path, sizeof(path), "%s.paused", colon + 1);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s.go", colon + 1);
	for (int i = 0; i < 6000 && access(path, F_OK); i++)
		nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
}
#else
static void test_pause(const struct img_reader *r)
{
	(void)r;
}
#endif

int imgr_open(struct img_reader *r, int dirfd, const char *name, const struct cr_digests *list)
{
	struct stat st;

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->fd = -1;
	if (list && !(r->want = imgd_find(list, name))) {
		pr_err("%s is not in the image's digest list: not read\n", name);
		return -EBADMSG;
	}
	/* never a symlink out of the directory with digests, never a FIFO to hang on */
	r->fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (list ? O_NOFOLLOW : 0));
	if (r->fd < 0) {
		int err = errno == ENOENT || errno == ELOOP ? -EBADMSG : -errno;

		pr_perror("Can't open %s of the image", name);
		return err;
	}
	if (fstat(r->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		pr_err("%s of the image is not a regular file\n", name);
		imgr_close(r);
		return -EBADMSG;
	}
	r->buf = malloc(CR_DIGEST_CHUNK);
	if (!r->buf) {
		imgr_close(r);
		return -ENOMEM;
	}
	return 0;
}

/* Bytes in the next chunk: with digests, what they say; without, up to a chunk. */
static size_t next_len(const struct img_reader *r)
{
	uint64_t left;

	if (!r->want)
		return r->eof ? 0 : CR_DIGEST_CHUNK;
	if (r->chunk >= r->want->nchunks)
		return 0;
	left = r->want->size - r->off;
	return left < CR_DIGEST_CHUNK ? left : CR_DIGEST_CHUNK;
}

/* The next chunk, whole, into @dst, checked: bytes read or -errno (logged). */
static ssize_t read_chunk(struct img_reader *r, uint8_t *dst)
{
	size_t len = next_len(r), got = 0;
	uint8_t md[CR_DIGEST_LEN];

	while (got < len) {
		ssize_t n = pread(r->fd, dst + got, len - got, r->off + got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			pr_perror("Can't read %s at offset %llu", r->name,
				  (unsigned long long)(r->off + got));
			return -EIO;
		}
		if (!n)
			break;
		got += n;
	}
	if (r->want && (got != len || imgd_hash(dst, len, md) ||
			memcmp(md, r->want->chunk[r->chunk], CR_DIGEST_LEN))) {
		pr_err("%s: chunk %llu (bytes %llu-%llu) does not match its digest%s\n", r->name,
		       (unsigned long long)r->chunk, (unsigned long long)r->off,
		       (unsigned long long)(r->off + len - 1),
		       got != len ? " (file too short)" : "");
		return -EBADMSG;
	}
	test_pause(r);
	if (got < len)
		r->eof = 1;
	r->off += got;
	r->chunk++;
	return got;
}

int imgr_read(struct img_reader *r, void *dst, size_t len)
{
	uint8_t *p = dst;

	while (len) {
		size_t next, n;
		ssize_t got;

		if (r->buf_pos == r->buf_len) {
			next = next_len(r);
			if (!next)
				return -ENODATA;
			/* a whole chunk: checked where it is used, no copy */
			got = read_chunk(r, len >= next ? p : r->buf);
			if (got < 0)
				return got;
			if (len >= next) {
				if ((size_t)got < next)
					return -ENODATA;
				p += got;
				len -= got;
				continue;
			}
			r->buf_len = got;
			r->buf_pos = 0;
			if (!got)
				return -ENODATA;
		}
		n = r->buf_len - r->buf_pos < len ? r->buf_len - r->buf_pos : len;
		memcpy(p, r->buf + r->buf_pos, n);
		r->buf_pos += n;
		p += n;
		len -= n;
	}
	return 0;
}

int imgr_check_all_read(struct img_reader *r)
{
	if (!r->want || (r->chunk == r->want->nchunks && r->buf_pos == r->buf_len))
		return 0;
	pr_err("%s: the image uses %llu of the %llu bytes its digests cover\n", r->name,
	       (unsigned long long)(r->off - (r->buf_len - r->buf_pos)),
	       (unsigned long long)r->want->size);
	return -EBADMSG;
}

void imgr_close(struct img_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	free(r->buf);
	r->buf = NULL;
}
