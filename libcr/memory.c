// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Memory: the mm fields, every mapping, the private pages of each task and
 * shared anonymous objects (once each). Restore: premap_memory() builds every
 * mapping of a task in a scratch area of the restoring process, filled with
 * its pages; the restorer then moves each into place with mremap.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>

#undef LOG_PREFIX
#define LOG_PREFIX "memory: "
#include "fsident.h"
#include "image-load.h"
#include "internal.h"
#include "ipc.h"
#include "log.h"
#include "memory.h"
#include "restorer/restorer.h"
#include "shmem.h"

#define PME_PRESENT   (1ULL << 63)
#define PME_SWAP      (1ULL << 62)
#define PME_FILE      (1ULL << 61)
#define PME_PFN_MASK  ((1ULL << 55) - 1)
#define COPY_CHUNK    (4UL << 20)
#define SHMEM_PENDING UINT64_MAX /* saved as a shmem object once dumped */

/* The PFN of the shared zero page: present pages mapping it need no saving. */
int find_zero_pfn(uint64_t *pfn)
{
	volatile char *p = mmap(NULL, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t pme = 0;
	int fd, ret = 0;

	if (p == MAP_FAILED)
		return -errno;
	(void)*p;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, &pme, sizeof(pme), (uintptr_t)p / PAGE_SIZE * 8) != sizeof(pme))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	munmap((void *)p, PAGE_SIZE);
	*pfn = (pme & PME_PRESENT) ? (pme & PME_PFN_MASK) : 0;
	return ret;
}

struct maps_line {
	uint64_t start, end, pgoff, ino;
	char perms[5];
	char path[CR_PATH_LEN];
};

static int parse_maps_line(const char *line, struct maps_line *m)
{
	unsigned long long start, end, pgoff, ino;
	unsigned int maj, min;
	int n = 0;

	if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &start, &end, m->perms, &pgoff, &maj,
		   &min, &ino, &n) < 7)
		return -EINVAL;
	m->start = start;
	m->end = end;
	m->pgoff = pgoff;
	m->ino = ino;
	snprintf(m->path, sizeof(m->path), "%s", line + n);
	return 0;
}

/* Classify a mapping; 0 with rec filled, or -ENOTSUP with a message. */
static int classify_vma(pid_t pid, const struct maps_line *m, struct cr_vma_rec *v)
{
	bool shared = m->perms[3] == 's';
	const char *p = m->path;

	memset(v, 0, sizeof(*v));
	v->pid = pid;
	v->start = m->start;
	v->end = m->end;
	v->pgoff = m->pgoff;
	v->prot = (m->perms[0] == 'r' ? PROT_READ : 0) | (m->perms[1] == 'w' ? PROT_WRITE : 0) |
		  (m->perms[2] == 'x' ? PROT_EXEC : 0);
	v->flags = shared ? MAP_SHARED : MAP_PRIVATE;
	snprintf(v->path, sizeof(v->path), "%s", p);
	if (!strcmp(p, "[vdso]"))
		v->kind = CR_VMA_VDSO;
	else if (!strcmp(p, "[vvar]"))
		v->kind = CR_VMA_VVAR;
	else if (!strcmp(p, "[vvar_vclock]"))
		v->kind = CR_VMA_VVAR_VCLOCK;
	else if (shmem_kind_of(p, shared && (!*p || !strncmp(p, "[anon:", 6))) == CR_SHMEM_ANON) {
		v->kind = CR_VMA_SHMEM;
		v->shmem_id = SHMEM_PENDING;
	} else if (!*p || !strcmp(p, "[heap]") || !strcmp(p, "[stack]") ||
		   !strncmp(p, "[anon:", 6)) {
		v->kind = CR_VMA_ANON;
	} else if (*p == '/' && strncmp(p, "/SYSV", 5)) {
		v->kind = shared ? CR_VMA_FILE_SHARED : CR_VMA_FILE_PRIVATE;
		v->file_flags = shared && (v->prot & PROT_WRITE) ? O_RDWR : O_RDONLY;
		if (shmem_kind_of(p, false))
			v->shmem_id = SHMEM_PENDING; /* memfd or deleted: saved whole */
	} else if (!strncmp(p, "/SYSV", 5) && shared) {
		v->kind = CR_VMA_SYSVSHM; /* the inode number is the shmid (ipc-shm.c) */
		v->shmem_id = m->ino;
		v->file_flags = O_RDONLY; /* until VmFlags says "mw" */
	} else {
		pr_err("Task %d: mapping %#llx-%#llx (%s) is not supported yet\n", pid,
		       (unsigned long long)m->start, (unsigned long long)m->end, *p ? p : "?");
		return -ENOTSUP;
	}
	return 0;
}

struct page_dump {
	pid_t pid;
	int pagemap_fd, mem_fd;
	struct cr_datafile df;
	struct cr_page_run *runs;
	size_t nruns;
	char *buf;
	uint64_t zero_pfn;
};

static int add_run(struct page_dump *pd, uint64_t vaddr, uint64_t npages)
{
	struct cr_page_run *nr;

	if (pd->nruns &&
	    pd->runs[pd->nruns - 1].vaddr + pd->runs[pd->nruns - 1].npages * PAGE_SIZE == vaddr) {
		pd->runs[pd->nruns - 1].npages += npages;
		return 0;
	}
	nr = realloc(pd->runs, (pd->nruns + 1) * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	pd->runs = nr;
	pd->runs[pd->nruns].vaddr = vaddr;
	pd->runs[pd->nruns++].npages = npages;
	return 0;
}

static int copy_pages(struct page_dump *pd, uint64_t addr, uint64_t len)
{
	while (len) {
		size_t n = len < COPY_CHUNK ? len : COPY_CHUNK;
		struct iovec local = {pd->buf, n}, remote = {(void *)addr, n};
		/* one copy less than /proc/PID/mem; that one still reads what
		 * process_vm_readv cannot (PROT_NONE pages) */
		ssize_t got = process_vm_readv(pd->pid, &local, 1, &remote, 1, 0);
		int ret;

		if (got < 0)
			got = 0;
		if (got < (ssize_t)n) {
			ssize_t more = pread(pd->mem_fd, pd->buf + got, n - got, addr + got);

			got = more < 0 ? -1 : got + more;
		}
		if (got != (ssize_t)n) {
			pr_perror("Can't read memory of task %d at %#llx", pd->pid,
				  (unsigned long long)addr);
			return -EIO;
		}
		ret = cr_datafile_write(&pd->df, pd->buf, n);
		if (ret)
			return ret;
		ret = add_run(pd, addr, n / PAGE_SIZE);
		if (ret)
			return ret;
		addr += n;
		len -= n;
	}
	return 0;
}

/* Save the pages of one private mapping that are not what a fresh map would show. */
static int dump_vma_pages(struct page_dump *pd, const struct cr_vma_rec *v)
{
	uint64_t npages = (v->end - v->start) / PAGE_SIZE, batch = 4096;
	uint64_t *pme = malloc(batch * sizeof(*pme));
	uint64_t run_start = 0, run_len = 0;
	int ret = 0;

	if (!pme)
		return -ENOMEM;
	for (uint64_t i = 0; i < npages && !ret; i += batch) {
		uint64_t n = npages - i < batch ? npages - i : batch;
		ssize_t got = pread(pd->pagemap_fd, pme, n * 8, (v->start / PAGE_SIZE + i) * 8);

		if (got != (ssize_t)(n * 8)) {
			pr_perror("Can't read pagemap of task %d", pd->pid);
			ret = -EIO;
			break;
		}
		for (uint64_t k = 0; k < n && !ret; k++) {
			uint64_t e = pme[k], addr = v->start + (i + k) * PAGE_SIZE;
			bool want = (e & (PME_PRESENT | PME_SWAP)) && !(e & PME_FILE);

			if (want && (e & PME_PRESENT) && pd->zero_pfn &&
			    (e & PME_PFN_MASK) == pd->zero_pfn)
				want = false;
			if (want && run_len && run_start + run_len == addr) {
				run_len += PAGE_SIZE;
				continue;
			}
			if (run_len)
				ret = copy_pages(pd, run_start, run_len);
			run_len = want ? PAGE_SIZE : 0;
			run_start = addr;
		}
	}
	if (!ret && run_len)
		ret = copy_pages(pd, run_start, run_len);
	free(pme);
	return ret;
}

/* The executable: a path that must lead back to it (fsident.c), unless it was deleted. */
static int dump_exe(pid_t root, struct cr_task *t, struct cr_mm_rec *mm)
{
	size_t n = strlen(mm->exe), k = strlen(" (deleted)");
	char link[64];
	struct stat st;

	/* a deleted executable's text is saved by content (shmem.c); its name is lost */
	if (n > k && !strcmp(mm->exe + n - k, " (deleted)"))
		return 0;
	snprintf(link, sizeof(link), "/proc/%d/exe", t->pid);
	if (stat(link, &st) < 0) {
		pr_perror("Can't stat the executable of task %d", t->pid);
		return -errno;
	}
	return fident_dump(root, t->pid, "executable", mm->exe, &st, CR_FIDENT_COPY_OK,
			   &mm->exe_id);
}

static int dump_mm(struct cr_img *img, pid_t root, struct cr_task *t)
{
	struct cr_mm_rec *mm = calloc(1, sizeof(*mm));
	long args[6] = {0}, brk = 0;
	struct proc_stat st;
	char *auxv = NULL;
	int ret, fd;
	ssize_t n;

	if (!mm)
		return -ENOMEM;
	mm->pid = t->ns_pid;
	ret = proc_read_stat(t->pid, &st);
	if (!ret)
		ret = infect_syscall(t->pid, t->inject_ip, SYS_brk, args, &brk);
	if (!ret)
		ret = proc_readlink(mm->exe, sizeof(mm->exe), "/proc/%d/exe", t->pid);
	if (!ret)
		ret = dump_exe(root, t, mm);
	if (ret == -ENOTSUP)
		goto out;
	if (ret) {
		pr_err("Can't read the mm of task %d\n", t->pid);
		goto out;
	}
	mm->start_code = st.start_code;
	mm->end_code = st.end_code;
	mm->start_data = st.start_data;
	mm->end_data = st.end_data;
	mm->start_brk = st.start_brk;
	mm->brk = brk;
	mm->start_stack = st.start_stack;
	mm->arg_start = st.arg_start;
	mm->arg_end = st.arg_end;
	mm->env_start = st.env_start;
	mm->env_end = st.env_end;
	auxv = malloc(4096);
	snprintf(auxv, 64, "/proc/%d/auxv", t->pid);
	fd = open(auxv, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, auxv, 4096);
	if (fd >= 0)
		close(fd);
	if (n <= 0 || n % 8) {
		pr_perror("Can't read auxv of task %d", t->pid);
		ret = -EIO;
		goto out;
	}
	mm->nauxv = n / 8;
	ret = cr_img_write2(img, CR_REC_MM, mm, sizeof(*mm), auxv, n);
out:
	free(auxv);
	free(mm);
	return ret;
}

static int open_task_files(struct page_dump *pd, struct cr_img *img, pid_t pid, pid_t ns_pid)
{
	char name[64];

	snprintf(name, sizeof(name), "/proc/%d/pagemap", pid);
	pd->pagemap_fd = open(name, O_RDONLY | O_CLOEXEC);
	snprintf(name, sizeof(name), "/proc/%d/mem", pid);
	pd->mem_fd = open(name, O_RDONLY | O_CLOEXEC);
	if (pd->pagemap_fd < 0 || pd->mem_fd < 0) {
		pr_perror("Can't open the memory of task %d", pid);
		return -errno;
	}
	snprintf(name, sizeof(name), "pages-%d.img", ns_pid);
	return cr_datafile_create(&pd->df, img->dirfd, name);
}

static int collect_vmas(pid_t pid, struct cr_vma_rec **out, size_t *nout);

/* A file mapping's path must lead back to the mapped file (fsident.c). */
static int dump_vma_ident(pid_t root, pid_t pid, struct cr_vma_rec *v)
{
	char link[64], what[64];
	struct stat st;

	snprintf(link, sizeof(link), "/proc/%d/map_files/%llx-%llx", pid,
		 (unsigned long long)v->start, (unsigned long long)v->end);
	if (stat(link, &st) < 0) {
		pr_perror("Can't stat mapping %#llx-%#llx (%s) of task %d",
			  (unsigned long long)v->start, (unsigned long long)v->end, v->path, pid);
		return -errno;
	}
	snprintf(what, sizeof(what), "mapping %#llx-%#llx of", (unsigned long long)v->start,
		 (unsigned long long)v->end);
	return fident_dump(root, pid, what, v->path, &st,
			   v->file_flags == O_RDWR ? CR_FIDENT_WRITTEN : CR_FIDENT_COPY_OK,
			   &v->ident);
}

static int dump_vmas(struct cr_img *img, struct dump_ctx *ctx, struct page_dump *pd, pid_t ns_pid)
{
	struct cr_vma_rec *vmas;
	size_t n;
	int ret = collect_vmas(pd->pid, &vmas, &n);

	if (ret)
		return ret;
	for (size_t i = 0; i < n && !ret; i++) {
		struct cr_vma_rec *v = &vmas[i];

		if (v->shmem_id == SHMEM_PENDING) {
			char link[64];

			snprintf(link, sizeof(link), "/proc/%d/map_files/%llx-%llx", pd->pid,
				 (unsigned long long)v->start, (unsigned long long)v->end);
			ret = dump_shmem_object(img, ctx, link,
						shmem_kind_of(v->path, v->kind == CR_VMA_SHMEM),
						v->path, &v->shmem_id);
		} else if (v->kind == CR_VMA_FILE_PRIVATE || v->kind == CR_VMA_FILE_SHARED)
			ret = dump_vma_ident(ctx->root, pd->pid, v);
		if (!ret && (v->kind == CR_VMA_ANON || v->kind == CR_VMA_FILE_PRIVATE))
			ret = dump_vma_pages(pd, v);
		v->pid = ns_pid;
		if (!ret)
			ret = cr_img_write(img, CR_REC_VMA, v, sizeof(*v));
	}
	free(vmas);
	return ret;
}

static const struct {
	const char *flag;
	uint32_t madv;
} vm_advice[] = {
	{"dc", CR_MADV_DONTFORK},   {"wf", CR_MADV_WIPEONFORK}, {"hg", CR_MADV_HUGEPAGE},
	{"nh", CR_MADV_NOHUGEPAGE}, {"dd", CR_MADV_DONTDUMP},
};

/* Apply one "VmFlags:" line of smaps to the mapping it follows. */
static int apply_vmflags(pid_t pid, const char *line, struct cr_vma_rec *v)
{
	char buf[256], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", line + 8);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (!strcmp(tok, "gd"))
			v->flags |= MAP_GROWSDOWN;
		if (!strcmp(tok, "mw") && v->kind == CR_VMA_SYSVSHM)
			v->file_flags = O_RDWR; /* not attached SHM_RDONLY */
		if (!strcmp(tok, "lo")) {
			pr_err("Task %d: mapping %#llx-%#llx is mlock()ed: not supported yet\n",
			       pid, (unsigned long long)v->start, (unsigned long long)v->end);
			return -ENOTSUP;
		}
		for (size_t i = 0; i < ARRAY_SIZE(vm_advice); i++)
			if (!strcmp(tok, vm_advice[i].flag))
				v->madv |= vm_advice[i].madv;
	}
	return 0;
}

/* Every mapping of a task, classified, from /proc/PID/smaps. */
static int collect_vmas(pid_t pid, struct cr_vma_rec **out, size_t *nout)
{
	char *smaps = proc_read_file("/proc/%d/smaps", pid), *line, *save = NULL;
	struct maps_line *m = malloc(sizeof(*m));
	struct cr_vma_rec *v = NULL, *cur = NULL;
	size_t n = 0;
	int ret = smaps && m ? 0 : -ENOMEM;

	for (line = smaps ? strtok_r(smaps, "\n", &save) : NULL; line && !ret;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "VmFlags:", 8)) {
			if (cur)
				ret = apply_vmflags(pid, line, cur);
			continue;
		}
		if (parse_maps_line(line, m))
			continue; /* a "Key: value" line of the mapping above */
		cur = NULL;
		if (!strcmp(m->path, "[vsyscall]"))
			continue;
		cur = realloc(v, (n + 1) * sizeof(*v));
		if (!cur) {
			ret = -ENOMEM;
			break;
		}
		v = cur;
		cur = &v[n++];
		ret = classify_vma(pid, m, cur);
	}
	free(smaps);
	free(m);
	if (ret) {
		free(v);
		return ret;
	}
	*out = v;
	*nout = n;
	return 0;
}

/* A NUMA memory policy other than the default is not restored yet. */
static int check_mempolicy(pid_t pid)
{
	char *s = proc_read_file("/proc/%d/numa_maps", pid), *line, *save = NULL;
	int ret = 0;

	for (line = s ? strtok_r(s, "\n", &save) : NULL; line && !ret;
	     line = strtok_r(NULL, "\n", &save)) {
		char *pol = strchr(line, ' ');

		if (pol && strncmp(pol + 1, "default", 7) == 0 && (!pol[8] || pol[8] == ' '))
			continue;
		if (pol) {
			pr_err("Task %d: mapping at %.*s has a memory policy (%.*s): not "
			       "supported yet\n",
			       pid, (int)(pol - line), line, (int)strcspn(pol + 1, " "), pol + 1);
			ret = -ENOTSUP;
		}
	}
	free(s);
	return ret;
}

/* Before anything is written: every mapping must be one we can restore. */
int check_memory(struct cr_task *t)
{
	struct cr_vma_rec *v;
	size_t n;
	int ret = collect_vmas(t->pid, &v, &n);

	if (!ret)
		free(v);
	return ret ? ret : check_mempolicy(t->pid);
}

int dump_memory(struct cr_img *img, struct dump_ctx *ctx, struct cr_task *t)
{
	struct page_dump pd = {.pid = t->pid, .pagemap_fd = -1, .mem_fd = -1, .df.fd = -1};
	struct cr_pagemap_rec pm = {.pid = t->ns_pid};
	int ret;

	pd.zero_pfn = ctx->zero_pfn;
	pd.buf = malloc(COPY_CHUNK);
	if (!pd.buf) {
		ret = -ENOMEM;
		goto out;
	}
	ret = dump_mm(img, ctx->root, t);
	if (!ret)
		ret = open_task_files(&pd, img, t->pid, t->ns_pid);
	if (!ret)
		ret = dump_vmas(img, ctx, &pd, t->ns_pid);
	if (!ret)
		ret = cr_datafile_finish(&pd.df, img);
	pm.nruns = pd.nruns;
	if (!ret)
		ret = cr_img_write2(img, CR_REC_PAGEMAP, &pm, sizeof(pm), pd.runs,
				    pd.nruns * sizeof(*pd.runs));
out:
	cr_datafile_abort(&pd.df); /* a dump that failed before cr_datafile_finish */
	if (pd.pagemap_fd >= 0)
		close(pd.pagemap_fd);
	if (pd.mem_fd >= 0)
		close(pd.mem_fd);
	free(pd.runs);
	free(pd.buf);
	return ret;
}

/* ---- restore ---- */

static bool vma_premapped(const struct cr_vma_rec *v)
{
	return v->kind == CR_VMA_ANON || v->kind == CR_VMA_FILE_PRIVATE ||
	       v->kind == CR_VMA_FILE_SHARED || v->kind == CR_VMA_SHMEM ||
	       v->kind == CR_VMA_SYSVSHM;
}

uint64_t premap_size_of(const struct rst_img_task *t)
{
	uint64_t size = 0;

	for (size_t i = 0; i < t->nvmas; i++)
		if (vma_premapped(t->vmas[i]))
			size += t->vmas[i]->end - t->vmas[i]->start;
	return size;
}

/* @len bytes of page data through the image reader, into the task's memory. */
static int read_pages(struct img_reader *rd, void *dst, size_t len, XXH64_state_t *hash)
{
	int ret = imgr_read(rd, dst, len);

	if (ret == -ENODATA) {
		pr_err("Can't read %s at offset %llu: file too short\n", rd->name,
		       (unsigned long long)(rd->off - (rd->buf_len - rd->buf_pos)));
		return -EBADMSG; /* short: the image is damaged */
	}
	if (!ret)
		XXH64_update(hash, dst, len);
	return ret;
}

static int premap_one(struct rst_image *img, const struct cr_vma_rec *v, uint64_t at)
{
	uint64_t len = v->end - v->start;
	int fd = -1, prot = PROT_READ | PROT_WRITE, flags = MAP_FIXED;
	void *p;

	switch (v->kind) {
	case CR_VMA_ANON:
		flags |= MAP_PRIVATE | MAP_ANONYMOUS | (v->flags & MAP_GROWSDOWN);
		break;
	case CR_VMA_FILE_PRIVATE:
	case CR_VMA_FILE_SHARED:
		fd = v->shmem_id ? dup(shmem_fd(img, v->shmem_id))
				 : open(v->path, v->file_flags | O_CLOEXEC);
		if (fd < 0) {
			pr_perror("Task %d: can't open %s to map it", v->pid, v->path);
			return -errno;
		}
		flags |= v->kind == CR_VMA_FILE_SHARED ? MAP_SHARED : MAP_PRIVATE;
		if (v->kind == CR_VMA_FILE_SHARED && v->file_flags == O_RDONLY)
			prot = PROT_READ;
		break;
	case CR_VMA_SHMEM:
		fd = shmem_fd(img, v->shmem_id);
		if (fd < 0) {
			pr_err("Task %d: shared memory %llu is missing from the image\n", v->pid,
			       (unsigned long long)v->shmem_id);
			return -EINVAL;
		}
		flags |= MAP_SHARED;
		break;
	case CR_VMA_SYSVSHM:
		return ipc_shm_premap(v, at);
	default:
		return 0;
	}
	p = mmap((void *)at, len, prot, flags, fd, v->kind == CR_VMA_ANON ? 0 : v->pgoff);
	if (fd >= 0 && v->kind != CR_VMA_SHMEM)
		close(fd);
	if (p == MAP_FAILED) {
		pr_perror("Task %d: can't premap %#llx-%#llx (%s)", v->pid,
			  (unsigned long long)v->start, (unsigned long long)v->end, v->path);
		return -errno;
	}
	return 0;
}

static int fill_pages(struct rst_image *img, struct rst_img_task *t, const uint64_t *at)
{
	XXH64_state_t *hash = XXH64_createState();
	struct img_reader rd;
	char name[64];
	uint64_t off = 0;
	int ret = 0;

	if (!hash)
		return -ENOMEM;
	XXH64_reset(hash, 0);
	snprintf(name, sizeof(name), "pages-%d.img", t->rec->pid);
	ret = imgr_open(&rd, img->dirfd, name, img->digests);
	if (ret) {
		XXH64_freeState(hash);
		return ret;
	}
	for (size_t r = 0; r < t->pagemap->nruns && !ret; r++) {
		uint64_t addr = t->runs[r].vaddr, left = t->runs[r].npages * PAGE_SIZE;

		while (left && !ret) {
			size_t i;
			uint64_t n;

			for (i = 0; i < t->nvmas; i++)
				if (addr >= t->vmas[i]->start && addr < t->vmas[i]->end &&
				    vma_premapped(t->vmas[i]))
					break;
			if (i == t->nvmas) {
				pr_err("%s: page %#llx lies in no mapping of task %d\n", name,
				       (unsigned long long)addr, t->rec->pid);
				ret = -EINVAL;
				break;
			}
			n = t->vmas[i]->end - addr < left ? t->vmas[i]->end - addr : left;
			ret = read_pages(&rd, (void *)(at[i] + addr - t->vmas[i]->start), n, hash);
			addr += n;
			off += n;
			left -= n;
		}
	}
	if (!ret)
		ret = imgr_check_all_read(&rd);
	imgr_close(&rd);
	if (!ret)
		ret = image_check_datafile(img, name, off, hash);
	XXH64_freeState(hash);
	return ret;
}

int premap_memory(struct rst_image *img, struct rst_img_task *t, uint64_t premap, uint64_t len,
		  void *moves)
{
	struct rst_vma *mv = moves;
	uint64_t *at = calloc(t->nvmas + 1, sizeof(*at)), cur = premap;
	int n = 0, ret = 0;

	if (!at)
		return -ENOMEM;
	for (size_t i = 0; i < t->nvmas && !ret; i++) {
		const struct cr_vma_rec *v = t->vmas[i];

		if (!vma_premapped(v))
			continue;
		if (cur + (v->end - v->start) > premap + len) {
			ret = -ENOSPC;
			break;
		}
		ret = premap_one(img, v, cur);
		at[i] = cur;
		mv[n].premap = cur;
		mv[n].start = v->start;
		mv[n].len = v->end - v->start;
		mv[n].prot = v->prot;
		mv[n].madv = v->madv;
		n++;
		cur += v->end - v->start;
	}
	if (!ret && !(img->skip & CR_SKIP_MEMORY))
		ret = fill_pages(img, t, at);
	free(at);
	return ret ? ret : n;
}

/* The mm fields and auxv, for PR_SET_MM_MAP in the restorer. */
int fill_mm(struct rst_img_task *t, struct rst_task *rt, struct arg_area *a, int exe_fd)
{
	const struct cr_mm_rec *mm = t->mm;
	uint64_t *auxv = area_take(a, mm->nauxv * 8, 8);

	if (!auxv)
		return -ENOSPC;
	memcpy(auxv, t->auxv, mm->nauxv * 8);
	rt->mm_map[0] = mm->start_code;
	rt->mm_map[1] = mm->end_code;
	rt->mm_map[2] = mm->start_data;
	rt->mm_map[3] = mm->end_data;
	rt->mm_map[4] = mm->start_brk;
	rt->mm_map[5] = mm->brk;
	rt->mm_map[6] = mm->start_stack;
	rt->mm_map[7] = mm->arg_start;
	rt->mm_map[8] = mm->arg_end;
	rt->mm_map[9] = mm->env_start;
	rt->mm_map[10] = mm->env_end;
	rt->mm_map[11] = (uint64_t)auxv;
	rt->mm_map[12] = (uint64_t)(mm->nauxv * 8) | ((uint64_t)(uint32_t)exe_fd << 32);
	rt->exe_fd = exe_fd;
	return 0;
}

int fill_vdso(const struct rst_range vdso_rt[3], struct rst_img_task *t, struct rst_task *rt,
	      uint64_t tmp)
{
	static const uint32_t kinds[3] = {CR_VMA_VVAR, CR_VMA_VVAR_VCLOCK, CR_VMA_VDSO};

	memcpy(rt->vdso_rt, vdso_rt, sizeof(rt->vdso_rt));
	rt->vdso_tmp = tmp;
	for (int i = 0; i < 3; i++) {
		const struct cr_vma_rec *v = NULL;
		uint64_t want = vdso_rt[i].end - vdso_rt[i].start;

		for (size_t k = 0; k < t->nvmas; k++)
			if (t->vmas[k]->kind == kinds[i])
				v = t->vmas[k];
		if ((v ? v->end - v->start : 0) != want) {
			pr_err("Task %d: its %s was %llu bytes, this kernel's is %llu: can't "
			       "restore "
			       "on this kernel\n",
			       t->rec->pid,
			       i == 2 ? "[vdso]"
			       : i    ? "[vvar_vclock]"
				      : "[vvar]",
			       (unsigned long long)(v ? v->end - v->start : 0),
			       (unsigned long long)want);
			return -ENOEXEC;
		}
		if (v)
			rt->vdso_img[i] = (struct rst_range){v->start, v->end};
	}
	return 0;
}
