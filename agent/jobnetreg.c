// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The job network's block registry (jobnetreg.h). Files appear whole (written
 * under a temporary name, then link()ed, which fails on an existing name on
 * local file systems and NFS alike): a reader never sees half a claim.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jobnetreg.h"
#include "log.h"

#define REC_MAX (PATH_MAX + 128)

struct jrec {
	uint32_t first, count;
	uid_t uid;
	gid_t gid;
	char dir[PATH_MAX];
};

uint32_t jnr_blocks(uint32_t prefix)
{
	return prefix >= 26 || prefix < 1 ? 0 : (uint32_t)((1ull << (32 - prefix)) / JNR_BLOCK);
}

int jnr_open(struct jnr *r, const char *path, uint32_t nblocks, char *err, size_t errlen)
{
	r->dirfd = -1;
	r->nblocks = nblocks;
	if (!nblocks) {
		snprintf(err, errlen, "JobNetwork holds no block of %d addresses", JNR_BLOCK);
		return -EINVAL;
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "job network registry %s: mkdir: %s", path, strerror(errno));
		return -errno;
	}
	r->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r->dirfd < 0) {
		snprintf(err, errlen, "job network registry %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

void jnr_close(struct jnr *r)
{
	if (r->dirfd >= 0)
		close(r->dirfd);
	r->dirfd = -1;
}

/* @name holding @text, or -EEXIST when it is there already (whatever it holds). */
static int _link_file(int dirfd, const char *name, const char *text)
{
	char tmp[HOST_NAME_MAX + 64], host[HOST_NAME_MAX + 1] = "";
	size_t len = strlen(text);
	struct timespec ts;
	int fd = -1, ret = 0;

	/* unique among the nodes sharing the directory: host, pid, time */
	gethostname(host, sizeof(host) - 1);
	for (int i = 0; fd < 0 && i < 8; i++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(tmp, sizeof(tmp), ".t%s-%d-%lld.%ld-%d", host, (int)getpid(),
			 (long long)ts.tv_sec, ts.tv_nsec, i);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST)
			return -errno;
	}
	if (fd < 0)
		return -EAGAIN;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		ret = errno ? -errno : -EIO;
	close(fd);
	if (!ret && linkat(dirfd, tmp, dirfd, name, 0) < 0)
		ret = -errno;
	unlinkat(dirfd, tmp, 0);
	return ret;
}

static int _read_file(int dirfd, const char *name, char *buf, size_t len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int _job_read(const struct jnr *r, uint32_t jobid, struct jrec *j)
{
	char name[16], buf[REC_MAX];
	unsigned int uid, gid;
	int ret;

	snprintf(name, sizeof(name), "j%u", jobid);
	ret = _read_file(r->dirfd, name, buf, sizeof(buf));
	if (ret)
		return ret;
	if (sscanf(buf, "%u %u %u %u %4095[^\n]", &j->first, &j->count, &uid, &gid, j->dir) != 5 ||
	    !j->count || j->first >= r->nblocks || j->count > r->nblocks - j->first)
		return -EBADMSG;
	j->uid = uid;
	j->gid = gid;
	return 0;
}

static int _job_write(const struct jnr *r, const struct jnr_job *j, uint32_t first, uint32_t count)
{
	char name[16], buf[REC_MAX];

	snprintf(name, sizeof(name), "j%u", j->jobid);
	snprintf(buf, sizeof(buf), "%u %u %u %u %s\n", first, count, (unsigned int)j->uid,
		 (unsigned int)j->gid, j->userdir ? j->userdir : "");
	return _link_file(r->dirfd, name, buf);
}

/* Are blocks first..first+count-1 all claimed? */
static int _blocks_there(const struct jnr *r, uint32_t first, uint32_t count)
{
	char name[16];
	struct stat st;

	for (uint32_t x = first; x < first + count; x++) {
		snprintf(name, sizeof(name), "b%u", x);
		if (fstatat(r->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return 0;
	}
	return 1;
}

static void _unlink_block(const struct jnr *r, uint32_t x)
{
	char name[16];

	snprintf(name, sizeof(name), "b%u", x);
	unlinkat(r->dirfd, name, 0);
}

/*
 * For each job file naming block @x: @fn(r, jobid, rec, arg); a non-zero
 * return stops the walk and is returned. *holders: how many were seen.
 */
static int _each_holder(const struct jnr *r, uint32_t x,
			int (*fn)(const struct jnr *, uint32_t, const struct jrec *, void *),
			void *arg, int *holders)
{
	int fd = dup(r->dirfd), ret = 0;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	struct jrec j;
	char *end;
	unsigned long id;

	*holders = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	rewinddir(d);
	while (!ret && (de = readdir(d))) {
		if (de->d_name[0] != 'j')
			continue;
		id = strtoul(de->d_name + 1, &end, 10);
		if (*end || id > UINT32_MAX || _job_read(r, (uint32_t)id, &j) || x < j.first ||
		    x >= j.first + j.count)
			continue;
		(*holders)++;
		ret = fn(r, (uint32_t)id, &j, arg);
	}
	closedir(d);
	return ret;
}

static int _holder_in_use(const struct jnr *r, uint32_t jobid, const struct jrec *j, void *arg)
{
	(void)arg;
	return r->in_use(r->arg, jobid, j->uid, j->gid, j->dir) ? 1 : 0;
}

static int _holder_drop(const struct jnr *r, uint32_t jobid, const struct jrec *j, void *arg)
{
	char name[16];

	(void)j;
	(void)arg;
	snprintf(name, sizeof(name), "j%u", jobid);
	unlinkat(r->dirfd, name, 0);
	return 0;
}

/* Is block @x stale: no job naming it needs it (none at all: claimed long enough ago)? */
static int _stale(const struct jnr *r, uint32_t x)
{
	char name[16];
	struct stat st;
	int holders, ret;

	ret = _each_holder(r, x, _holder_in_use, NULL, &holders);
	if (ret || holders)
		return ret == 0;
	snprintf(name, sizeof(name), "b%u", x);
	return fstatat(r->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       st.st_mtime + r->grace < time(NULL);
}

/* Take over stale block @x: its jobs' files go (their other blocks go stale in turn), then it. */
static void _reclaim(const struct jnr *r, uint32_t x)
{
	int holders;

	_each_holder(r, x, _holder_drop, NULL, &holders);
	_unlink_block(r, x);
	log_info("job network: block %u taken back (no job needs it: ended, checkpoints gone)", x);
}

/* Claim blocks i..i+k-1 for @j (stale ones taken back when @reclaim), all or none. */
static int _take_run(const struct jnr *r, const struct jnr_job *j, uint32_t i, uint32_t k,
		     int reclaim)
{
	char name[16], text[300];
	uint32_t x;
	int ret = 0;

	snprintf(text, sizeof(text), "%u %s\n", j->jobid, j->node ? j->node : "");
	for (x = i; !ret && x < i + k; x++) {
		snprintf(name, sizeof(name), "b%u", x);
		ret = _link_file(r->dirfd, name, text);
		if (ret == -EEXIST && reclaim && _stale(r, x)) {
			_reclaim(r, x);
			ret = _link_file(r->dirfd, name, text);
		}
	}
	if (ret)
		for (uint32_t y = i; y + 1 < x; y++)
			_unlink_block(r, y);
	return ret;
}

/* Fresh blocks for @j: free ones probed from a hash of its id, then stale ones. */
static int _claim_fresh(const struct jnr *r, const struct jnr_job *j, uint32_t k, uint32_t *first)
{
	uint32_t h = (uint32_t)(j->jobid * 2654435761u) % r->nblocks;
	int ret = -ENOSPC;

	for (int reclaim = 0; reclaim < 2 && ret; reclaim++)
		for (uint32_t off = 0; off < r->nblocks && ret; off++) {
			*first = (h + off) % r->nblocks;
			if (*first + k > r->nblocks)
				continue;
			ret = _take_run(r, j, *first, k, reclaim);
			if (ret && ret != -EEXIST)
				return ret;
			if (ret)
				ret = -ENOSPC;
		}
	return ret;
}

/* @j's (or its restart_from's) claim, if there is one with its blocks: 0, else -ENOENT. */
static int _claim_known(const struct jnr *r, const struct jnr_job *j, uint32_t *first)
{
	struct jrec rec;
	char name[16];
	int ret;

	if (!_job_read(r, j->jobid, &rec)) {
		if (_blocks_there(r, rec.first, rec.count)) {
			*first = rec.first;
			return 0;
		}
		/* taken back while the job was away (its files had gone): claim afresh */
		snprintf(name, sizeof(name), "j%u", j->jobid);
		unlinkat(r->dirfd, name, 0);
	}
	if (!j->restart_from || _job_read(r, j->restart_from, &rec) ||
	    !_blocks_there(r, rec.first, rec.count))
		return -ENOENT;
	ret = _job_write(r, j, rec.first, rec.count);
	if (ret == -EEXIST)
		ret = _job_read(r, j->jobid, &rec);
	if (!ret)
		*first = rec.first;
	return ret;
}

int jnr_claim(struct jnr *r, const struct jnr_job *j, uint32_t *first, char *err, size_t errlen)
{
	uint32_t k = j->nslots ? (j->nslots + JNR_SLOTS - 1) / JNR_SLOTS : 1;
	struct jrec won;
	int ret;

	if (!_claim_known(r, j, first))
		return 0;
	ret = _claim_fresh(r, j, k, first);
	if (ret == -ENOSPC) {
		snprintf(err, errlen,
			 "job network: no %u free block(s) of %d addresses in JobNetwork (%u "
			 "blocks, "
			 "each held by a job running, queued or with checkpoints)",
			 k, JNR_BLOCK, r->nblocks);
		return ret;
	}
	if (!ret)
		ret = _job_write(r, j, *first, k);
	if (ret == -EEXIST) {
		/* another node of the job was first: its blocks, ours given back */
		for (uint32_t x = *first; x < *first + k; x++)
			_unlink_block(r, x);
		ret = _job_read(r, j->jobid, &won);
		if (!ret)
			*first = won.first;
	}
	if (ret)
		snprintf(err, errlen, "job network registry: job %u: %s", j->jobid, strerror(-ret));
	return ret;
}

static int _no_holder(const struct jnr *r, uint32_t jobid, const struct jrec *j, void *arg)
{
	(void)r;
	(void)jobid;
	(void)j;
	(void)arg;
	return 1;
}

int jnr_release(struct jnr *r, uint32_t jobid, uint32_t restart_from)
{
	uint32_t ids[2] = {jobid, restart_from};
	struct jrec rec[2];
	char name[16];
	int has[2], holders;

	for (int i = 0; i < 2; i++) {
		has[i] = ids[i] && !_job_read(r, ids[i], &rec[i]);
		snprintf(name, sizeof(name), "j%u", ids[i]);
		if (has[i])
			unlinkat(r->dirfd, name, 0);
	}
	for (int i = 0; i < 2; i++)
		for (uint32_t x = has[i] ? rec[i].first : 0;
		     has[i] && x < rec[i].first + rec[i].count; x++)
			if (!_each_holder(r, x, _no_holder, NULL, &holders))
				_unlink_block(r, x);
	return has[0] || has[1] ? 0 : -ENOENT;
}
