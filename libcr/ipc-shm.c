// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * SysV shm segments (ipc.h): id, key, owner, mode, size and the non-zero
 * pages, read through a read-only attachment in the helper. A task's
 * attachments are mappings (memory.c, CR_VMA_SYSVSHM): premapped by shmat
 * and mremap of the attached range. A segment marked removed but still
 * attached is made under IPC_PRIVATE and marked removed once every task
 * has attached it (finish).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>
#include <xxhash.h>

#undef LOG_PREFIX
#define LOG_PREFIX "ipc-shm: "
#include "image-load.h"
#include "internal.h"
#include "ipc.h"
#include "log.h"

static void perm_of(struct cr_ipc_perm *p, int id, const struct ipc_perm *k)
{
	*p = (struct cr_ipc_perm){.id = id,
				  .key = k->__key,
				  .uid = k->uid,
				  .gid = k->gid,
				  .cuid = k->cuid,
				  .cgid = k->cgid,
				  .mode = k->mode};
}

/* The runs of non-zero pages of @len bytes at @p: zero pages are left as holes. */
static struct cr_extent *scan_extents(const char *p, uint64_t len, uint32_t *n)
{
	struct cr_extent *e = NULL, *ne;
	static const char zero[PAGE_SIZE];

	*n = 0;
	for (uint64_t off = 0; off < len; off += PAGE_SIZE) {
		uint64_t sz = len - off < PAGE_SIZE ? len - off : PAGE_SIZE;

		if (!memcmp(p + off, zero, sz))
			continue;
		if (*n && e[*n - 1].off + e[*n - 1].len == off) {
			e[*n - 1].len += sz;
			continue;
		}
		ne = realloc(e, (*n + 1) * sizeof(*e));
		if (!ne) {
			free(e);
			return NULL;
		}
		e = ne;
		e[(*n)++] = (struct cr_extent){off, sz};
	}
	return e ? e : malloc(1);
}

static int send_segment(int out, int id, const struct shmid_ds *ds)
{
	struct cr_ipc_shm_rec *rec;
	struct cr_extent *ext;
	uint32_t n;
	char *p = shmat(id, NULL, SHM_RDONLY);
	int ret;

	if (p == (void *)-1) {
		pr_perror("Can't attach SysV shm id %d", id);
		return -errno;
	}
	ext = scan_extents(p, ds->shm_segsz, &n);
	rec = ext ? malloc(sizeof(*rec) + n * sizeof(*ext)) : NULL;
	ret = rec ? 0 : -ENOMEM;
	if (rec) {
		memset(rec, 0, sizeof(*rec));
		perm_of(&rec->perm, id, &ds->shm_perm);
		rec->size = ds->shm_segsz;
		rec->nextents = n;
		memcpy(rec + 1, ext, n * sizeof(*ext));
		ret = ipc_send(out, CR_REC_IPC_SHM, rec, sizeof(*rec) + n * sizeof(*ext));
	}
	for (uint32_t i = 0; i < n && !ret; i++)
		ret = ipc_write_full(out, p + ext[i].off, ext[i].len);
	free(rec);
	free(ext);
	shmdt(p);
	return ret;
}

static int dump_shm(int out)
{
	struct shm_info info;
	int max = shmctl(0, SHM_INFO, (struct shmid_ds *)&info), ret = 0;

	if (max < 0) {
		pr_perror("shmctl(SHM_INFO)");
		return -errno;
	}
	for (int idx = 0; idx <= max && !ret; idx++) {
		struct shmid_ds ds = {0};
		int id = shmctl(idx, SHM_STAT, &ds);

		if (id >= 0)
			ret = send_segment(out, id, &ds);
	}
	return ret;
}

/* Here: the record, then its pages into sysvshm-<id>.img. */
static int save_shm(struct cr_img *img, const void *r, uint32_t len, int in)
{
	const struct cr_ipc_shm_rec *rec = r;
	const struct cr_extent *ext = (const void *)(rec + 1);
	struct cr_datafile df = {.fd = -1};
	char name[64], *buf = malloc(1 << 20);
	int ret = buf ? cr_img_write(img, CR_REC_IPC_SHM, r, len) : -ENOMEM;

	snprintf(name, sizeof(name), "sysvshm-%d.img", rec->perm.id);
	if (!ret)
		ret = cr_datafile_create(&df, img->dirfd, name);
	for (uint32_t i = 0; i < rec->nextents && !ret; i++)
		for (uint64_t done = 0; done < ext[i].len && !ret;) {
			size_t n = ext[i].len - done < (1 << 20) ? ext[i].len - done : (1 << 20);

			ret = ipc_read_full(in, buf, n);
			if (!ret)
				ret = cr_datafile_write(&df, buf, n);
			done += n;
		}
	if (!ret)
		ret = cr_datafile_finish(&df, img);
	cr_datafile_abort(&df);
	free(buf);
	return ret;
}

static int check_shm(const void *r, uint32_t len)
{
	const struct cr_ipc_shm_rec *rec = r;

	if (len < sizeof(*rec) || len != sizeof(*rec) + (uint64_t)rec->nextents * 16)
		return -EBADMSG;
	for (uint32_t i = 0; i < rec->nextents; i++) {
		const struct cr_extent *e = (const struct cr_extent *)(rec + 1) + i;

		if (e->off > rec->size || e->len > rec->size - e->off)
			return -EBADMSG;
	}
	return 0;
}

/* The pages of sysvshm-<id>.img, written through an attachment. */
static int fill_shm(struct rst_image *img, const struct cr_ipc_shm_rec *rec, char *p)
{
	const struct cr_extent *ext = (const void *)(rec + 1);
	XXH64_state_t *h = XXH64_createState();
	struct img_reader rd = {.fd = -1};
	uint64_t in = 0;
	char name[64];
	int ret = h ? 0 : -ENOMEM;

	snprintf(name, sizeof(name), "sysvshm-%d.img", rec->perm.id);
	if (!ret)
		ret = imgr_open(&rd, img->dirfd, name, img->digests);
	if (h)
		XXH64_reset(h, 0);
	for (uint32_t i = 0; i < rec->nextents && !ret; i++) {
		ret = imgr_read(&rd, p + ext[i].off, ext[i].len);
		if (ret == -ENODATA) {
			pr_err("%s: file too short\n", name);
			ret = -EBADMSG;
		}
		if (!ret)
			XXH64_update(h, p + ext[i].off, ext[i].len);
		in += ext[i].len;
	}
	if (!ret)
		ret = imgr_check_all_read(&rd);
	if (!ret)
		ret = image_check_datafile(img, name, in, h);
	imgr_close(&rd);
	XXH64_freeState(h);
	return ret;
}

static int make_shm(struct rst_image *img, const struct cr_owner *ow, const void *r)
{
	const struct cr_ipc_shm_rec *rec = r;
	const struct cr_ipc_perm *pm = &rec->perm;
	struct shmid_ds ds = {0};
	char *p;
	int id, ret;

	/* 0600 until filled (as root: the image is the restarter's to read) */
	id = ipc_create(ow, CR_REC_IPC_SHM, pm->key, rec->size);
	ret = ipc_check_made("shm", pm, id);
	if (ret)
		return ret;
	ipc_perm_from(&ds.shm_perm, pm);
	p = shmat(id, NULL, 0);
	if (p == (void *)-1) {
		pr_perror("Can't attach SysV shm id %d", id);
		ret = -errno;
	} else {
		ret = fill_shm(img, rec, p);
		shmdt(p);
	}
	if (!ret && shmctl(id, IPC_SET, &ds) < 0) {
		pr_perror("Can't set up SysV shm id %d", id);
		ret = -errno;
	}
	if (ret)
		shmctl(id, IPC_RMID, NULL);
	return ret;
}

/* Every task attached it: a segment marked removed at dump is marked again. */
static int finish_shm(const void *r)
{
	const struct cr_ipc_shm_rec *rec = r;

	if (!(rec->perm.mode & SHM_DEST))
		return 0;
	if (shmctl(rec->perm.id, IPC_RMID, NULL) < 0) {
		pr_perror("Can't mark SysV shm id %d removed", rec->perm.id);
		return -errno;
	}
	return 0;
}

static int remove_shm(int id)
{
	return shmctl(id, IPC_RMID, NULL) < 0 ? -errno : 0;
}

/* In a restoring task: the attached range of @v at @at, to be moved in place. */
int ipc_shm_premap(const struct cr_vma_rec *v, uint64_t at)
{
	int id = (int)v->shmem_id, ro = v->file_flags == O_RDONLY ? SHM_RDONLY : 0;
	uint64_t len = v->end - v->start, off = v->pgoff /* bytes */, seg;
	struct shmid_ds ds;
	char *p = shmat(id, NULL, ro);
	void *q;

	if (p == (void *)-1 || shmctl(id, IPC_STAT, &ds) < 0) {
		pr_perror("Task %d: can't attach SysV shm id %d", v->pid, id);
		return -errno;
	}
	/* the attached range may be part of the segment: move just that part */
	q = mremap(p + off, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)at);
	if (q == MAP_FAILED) {
		pr_perror("Task %d: can't move SysV shm id %d to %#llx", v->pid, id,
			  (unsigned long long)v->start);
		shmdt(p);
		return -errno;
	}
	if (off)
		munmap(p, off);
	seg = (ds.shm_segsz + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	if (off + len < seg)
		munmap(p + off + len, seg - off - len);
	return 0;
}

const struct ipc_kind ipc_shm_kind = {
	.name = "shm",
	.rec = CR_REC_IPC_SHM,
	.dump = dump_shm,
	.save = save_shm,
	.check = check_shm,
	.make = make_shm,
	.finish = finish_shm,
	.remove = remove_shm,
};
