// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Objects whose contents must travel in the image because no path leads to
 * them: shared anonymous memory, memfds, and files unlinked while open or
 * mapped. Each is saved once, whoever maps or opens it; restore makes each
 * once in the restarter (a shmem file, a memfd, an O_TMPFILE in the old
 * directory) and every mapping and fd of every task refers to that.
 */
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#undef LOG_PREFIX
#define LOG_PREFIX "shmem: "
#include "log.h"
#include "internal.h"
#include "restore.h"

#define COPY_CHUNK (4UL << 20)

static const char *const kind_names[] = {
	[CR_SHMEM_ANON] = "shared memory",
	[CR_SHMEM_MEMFD] = "memfd",
	[CR_SHMEM_DELETED] = "deleted file",
};

/* What kind of object a mapping's or fd's path names, or 0 for a plain path. */
uint32_t shmem_kind_of(const char *path, bool anon_shared)
{
	if (anon_shared || !strcmp(path, "/dev/zero (deleted)"))
		return CR_SHMEM_ANON;
	if (!strncmp(path, "/memfd:", 7))
		return CR_SHMEM_MEMFD;
	if (path[0] == '/' && strncmp(path, "/SYSV", 5)) {
		size_t n = strlen(path);

		if (n > 10 && !strcmp(path + n - 10, " (deleted)"))
			return CR_SHMEM_DELETED;
	}
	return 0;
}

static int copy_contents(struct cr_img *img, int fd, struct cr_shmem_rec *rec, char *buf)
{
	struct cr_datafile df;
	char name[64];
	int ret;

	snprintf(name, sizeof(name), "shmem-%llu.img", (unsigned long long)rec->id);
	ret = cr_datafile_create(&df, img->dirfd, name);
	for (uint64_t off = 0; !ret && off < rec->size; off += COPY_CHUNK) {
		size_t n = rec->size - off < COPY_CHUNK ? rec->size - off : COPY_CHUNK;

		if (pread(fd, buf, n, off) != (ssize_t)n) {
			pr_perror("Can't read %s %s", kind_names[rec->kind], rec->path);
			ret = -EIO;
		} else {
			ret = cr_datafile_write(&df, buf, n);
		}
	}
	if (!ret)
		ret = cr_datafile_finish(&df, img);
	else if (df.fd >= 0)
		close(df.fd);
	return ret;
}

/*
 * Save the object behind @open_path (a map_files or fd link) once; *id is
 * its number in the image.
 */
int shmem_dump_object(struct cr_img *img, struct dump_ctx *ctx, const char *open_path,
		      uint32_t kind, const char *path, uint64_t *id)
{
	struct cr_shmem_rec *rec;
	struct dump_shmem *ns;
	struct stat st;
	char *buf;
	int fd, ret;

	fd = open(open_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		pr_perror("Can't open %s (%s)", open_path, path);
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	for (size_t i = 0; i < ctx->nshmem; i++)
		if (ctx->shmem[i].dev == st.st_dev && ctx->shmem[i].ino == st.st_ino) {
			*id = ctx->shmem[i].id;
			close(fd);
			return 0;
		}
	rec = calloc(1, sizeof(*rec));
	buf = malloc(COPY_CHUNK);
	ns = realloc(ctx->shmem, (ctx->nshmem + 1) * sizeof(*ns));
	ret = rec && buf && ns ? 0 : -ENOMEM;
	if (ns)
		ctx->shmem = ns;
	if (!ret) {
		rec->id = ctx->nshmem + 1;
		rec->size = st.st_size;
		rec->kind = kind;
		rec->mode = st.st_mode;
		rec->dev = st.st_dev;
		rec->ino = st.st_ino;
		snprintf(rec->path, sizeof(rec->path), "%s", path);
		ret = copy_contents(img, fd, rec, buf);
	}
	if (!ret)
		ret = cr_img_write(img, CR_REC_SHMEM, rec, sizeof(*rec));
	if (!ret) {
		ctx->shmem[ctx->nshmem++] = (struct dump_shmem){st.st_dev, st.st_ino, rec->id};
		*id = rec->id;
	}
	close(fd);
	free(buf);
	free(rec);
	return ret;
}

/* ---- restore ---- */

/* The name without "/memfd:" and " (deleted)". */
static void bare_name(const char *path, size_t skip, char *out, size_t len)
{
	size_t n;

	snprintf(out, len, "%s", path + skip);
	n = strlen(out);
	if (n > 10 && !strcmp(out + n - 10, " (deleted)"))
		out[n - 10] = '\0';
}

static int make_object(const struct cr_shmem_rec *rec)
{
	char name[CR_PATH_LEN], dir[CR_PATH_LEN], path[64];
	void *p;
	int fd;

	switch (rec->kind) {
	case CR_SHMEM_ANON:
		/* a real shmem object, as MAP_SHARED|MAP_ANONYMOUS makes, reached by fd */
		p = mmap(NULL, rec->size ? rec->size : PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)p,
			 (unsigned long)p + (rec->size ? rec->size : PAGE_SIZE));
		fd = open(path, O_RDWR | O_CLOEXEC);
		munmap(p, rec->size ? rec->size : PAGE_SIZE);
		return fd < 0 ? -errno : fd;
	case CR_SHMEM_MEMFD:
		bare_name(rec->path, 7, name, sizeof(name));
		fd = memfd_create(name, MFD_CLOEXEC);
		return fd < 0 ? -errno : fd;
	case CR_SHMEM_DELETED:
		bare_name(rec->path, 0, name, sizeof(name));
		snprintf(dir, sizeof(dir), "%s", dirname(name));
		fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, rec->mode & 07777);
		return fd < 0 ? -errno : fd;
	}
	return -EINVAL;
}

static int fill_object(struct rst_image *img, const struct cr_shmem_rec *rec, int fd)
{
	char name[64], *buf = malloc(COPY_CHUNK);
	XXH64_state_t *h = XXH64_createState();
	int src, ret = buf && h ? 0 : -ENOMEM;

	snprintf(name, sizeof(name), "shmem-%llu.img", (unsigned long long)rec->id);
	src = ret ? -1 : openat(img->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (!ret && src < 0) {
		pr_perror("Can't open %s of the image", name);
		ret = errno == ENOENT ? -EBADMSG : -errno;
	}
	if (!ret && ftruncate(fd, rec->size) < 0)
		ret = -errno;
	if (h)
		XXH64_reset(h, 0);
	for (uint64_t off = 0; !ret && off < rec->size; off += COPY_CHUNK) {
		size_t n = rec->size - off < COPY_CHUNK ? rec->size - off : COPY_CHUNK;

		ssize_t got = pread(src, buf, n, off);

		if (got != (ssize_t)n || pwrite(fd, buf, n, off) != (ssize_t)n) {
			pr_perror("Can't refill %s from %s", rec->path, name);
			ret = got >= 0 && got < (ssize_t)n ? -EBADMSG : -EIO;
		} else {
			XXH64_update(h, buf, n);
		}
	}
	if (!ret)
		ret = image_check_datafile(img, name, rec->size, h);
	if (src >= 0)
		close(src);
	XXH64_freeState(h);
	free(buf);
	return ret;
}

/* In the restarter, before anything forks: every object, once, as a service fd. */
int shmem_prepare(struct rst_image *img)
{
	int base = img->max_fd + 16;

	for (size_t i = 0; i < img->nshmem; i++) {
		struct rst_img_shmem *s = &img->shmem[i];
		int fd, ret;

		s->svc_fd = -1;
		fd = make_object(&s->rec);
		if (fd < 0) {
			errno = -fd;
			pr_perror("Can't recreate %s %s", kind_names[s->rec.kind % 4], s->rec.path);
			return fd;
		}
		if (s->rec.kind != CR_SHMEM_ANON)
			fchmod(fd, s->rec.mode & 07777);
		ret = fill_object(img, &s->rec, fd);
		if (!ret) {
			s->svc_fd = fcntl(fd, F_DUPFD_CLOEXEC, base);
			if (s->svc_fd < 0)
				ret = -EMFILE;
		}
		close(fd);
		if (ret)
			return ret;
	}
	return 0;
}

int shmem_fd(struct rst_image *img, uint64_t id)
{
	for (size_t i = 0; i < img->nshmem; i++)
		if (img->shmem[i].rec.id == id)
			return img->shmem[i].svc_fd;
	return -1;
}

void shmem_close_service(struct rst_image *img)
{
	for (size_t i = 0; i < img->nshmem; i++)
		if (img->shmem[i].svc_fd >= 0) {
			close(img->shmem[i].svc_fd);
			img->shmem[i].svc_fd = -1;
		}
}
