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
#include "image-load.h"
#include "internal.h"
#include "log.h"
#include "shmem.h"

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

/* The data extents of the object: only they are saved, holes stay holes. */
static int find_extents(int fd, uint64_t size, struct cr_extent **out, uint32_t *n)
{
	struct cr_extent *e = NULL;
	off_t data, hole = 0;
	uint32_t cnt = 0;

	*n = 0;
	while ((uint64_t)hole < size) {
		struct cr_extent *ne;

		data = lseek(fd, hole, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break;
		hole = data < 0 ? -1 : lseek(fd, data, SEEK_HOLE);
		if (data < 0 || hole < 0) {
			free(e);
			return -errno;
		}
		ne = realloc(e, (cnt + 1) * sizeof(*e));
		if (!ne) {
			free(e);
			return -ENOMEM;
		}
		e = ne;
		e[cnt++] = (struct cr_extent){data, hole - data};
	}
	*out = e;
	*n = cnt;
	return 0;
}

static int copy_contents(struct cr_img *img, int fd, struct cr_shmem_rec *rec,
			 const struct cr_extent *ext, char *buf)
{
	struct cr_datafile df;
	char name[64];
	int ret;

	snprintf(name, sizeof(name), "shmem-%llu.img", (unsigned long long)rec->id);
	ret = cr_datafile_create(&df, img->dirfd, name);
	for (uint32_t i = 0; !ret && i < rec->nextents; i++) {
		for (uint64_t done = 0; !ret && done < ext[i].len; done += COPY_CHUNK) {
			size_t n = ext[i].len - done < COPY_CHUNK ? ext[i].len - done : COPY_CHUNK;

			if (pread(fd, buf, n, ext[i].off + done) != (ssize_t)n) {
				pr_perror("Can't read %s %s", kind_names[rec->kind], rec->path);
				ret = -EIO;
			} else {
				ret = cr_datafile_write(&df, buf, n);
			}
		}
	}
	if (!ret)
		ret = cr_datafile_finish(&df, img);
	else
		cr_datafile_abort(&df);
	return ret;
}

/*
 * Save the object behind @open_path (a map_files or fd link) once; *id is
 * its number in the image.
 */
int dump_shmem_object(struct cr_img *img, struct dump_ctx *ctx, const char *open_path,
		      uint32_t kind, const char *path, uint64_t *id)
{
	struct cr_extent *ext = NULL;
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
		if (kind == CR_SHMEM_MEMFD) {
			int seals = fcntl(fd, F_GET_SEALS);

			rec->seals = seals < 0 ? F_SEAL_SEAL : (uint32_t)seals;
		}
		snprintf(rec->path, sizeof(rec->path), "%s", path);
		ret = find_extents(fd, rec->size, &ext, &rec->nextents);
		if (ret)
			pr_err("Can't find the data of %s %s\n", kind_names[kind], path);
	}
	if (!ret)
		ret = copy_contents(img, fd, rec, ext, buf);
	if (!ret)
		ret = cr_img_write2(img, CR_REC_SHMEM, rec, sizeof(*rec), ext,
				    rec->nextents * sizeof(*ext));
	free(ext);
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
		fd = memfd_create(
			name, MFD_CLOEXEC | (rec->seals == F_SEAL_SEAL ? 0 : MFD_ALLOW_SEALING));
		return fd < 0 ? -errno : fd;
	case CR_SHMEM_DELETED:
		bare_name(rec->path, 0, name, sizeof(name));
		snprintf(dir, sizeof(dir), "%s", dirname(name));
		fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, rec->mode & 07777);
		return fd < 0 ? -errno : fd;
	}
	return -EINVAL;
}

static int fill_object(struct rst_image *img, const struct rst_img_shmem *s, int fd)
{
	const struct cr_shmem_rec *rec = &s->rec;
	char name[64], *buf = malloc(COPY_CHUNK);
	XXH64_state_t *h = XXH64_createState();
	struct img_reader rd = {.fd = -1};
	int ret = buf && h ? 0 : -ENOMEM;
	uint64_t in = 0;

	snprintf(name, sizeof(name), "shmem-%llu.img", (unsigned long long)rec->id);
	if (!ret)
		ret = imgr_open(&rd, img->dirfd, name, img->digests);
	if (!ret && ftruncate(fd, rec->size) < 0)
		ret = -errno;
	if (h)
		XXH64_reset(h, 0);
	for (uint32_t i = 0; !ret && i < rec->nextents; i++) {
		const struct cr_extent *e = &s->extents[i];

		for (uint64_t done = 0; !ret && done < e->len; done += COPY_CHUNK) {
			size_t n = e->len - done < COPY_CHUNK ? e->len - done : COPY_CHUNK;
			int got = e->off + done + n > rec->size ? -ENODATA : imgr_read(&rd, buf, n);

			if (got == -EBADMSG || got == -EIO) {
				ret = got; /* logged */
			} else if (got || pwrite(fd, buf, n, e->off + done) != (ssize_t)n) {
				pr_perror("Can't refill %s from %s", rec->path, name);
				ret = got ? -EBADMSG : -EIO;
			} else {
				XXH64_update(h, buf, n);
				in += n;
			}
		}
	}
	if (!ret)
		ret = imgr_check_all_read(&rd);
	if (!ret)
		ret = image_check_datafile(img, name, in, h);
	imgr_close(&rd);
	XXH64_freeState(h);
	free(buf);
	return ret;
}

/* In the restarter, before anything forks: every object, once, as a service fd. */
int prepare_shmem(struct rst_image *img)
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
		ret = fill_object(img, s, fd);
		/* seals last: they may forbid the writes that refilled it */
		if (!ret && s->rec.kind == CR_SHMEM_MEMFD && s->rec.seals != F_SEAL_SEAL &&
		    s->rec.seals && fcntl(fd, F_ADD_SEALS, s->rec.seals) < 0) {
			pr_perror("Can't seal memfd %s with %#x", s->rec.path, s->rec.seals);
			ret = -errno;
		}
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

void close_shmem_service(struct rst_image *img)
{
	for (size_t i = 0; i < img->nshmem; i++)
		if (img->shmem[i].svc_fd >= 0) {
			close(img->shmem[i].svc_fd);
			img->shmem[i].svc_fd = -1;
		}
}
