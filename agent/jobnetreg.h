/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The job network's address blocks, claimed in a registry directory on
 * storage every node shares (JobNetworkRegistry, by default
 * <CheckpointDir>/.jobnet, root's). JobNetwork is cut into blocks of 64
 * addresses (the first of each unused: the range's own network address is
 * one), so a block holds JNR_SLOTS slots; a job of more slots takes
 * consecutive blocks. Two files make a claim:
 *
 *   b<N>  block N is taken (created with link(): whole or absent), naming
 *         the job that took it;
 *   j<J>  job J uses blocks FIRST..FIRST+COUNT-1: "FIRST COUNT UID GID DIR"
 *         (DIR: where J's checkpoints are, as J's user reaches them).
 *
 * Every node of a job asks with the same job id: the first to link j<J>
 * decides, the others read it (no round trip between them). A job that
 * resumes another (crctl restart, restart_from) takes that job's blocks:
 * its checkpoints carry those addresses. A requeued job finds its own j<J>.
 * A block is in use while any job naming it is queued, running or has a
 * checkpoint directory (in_use below); a claim past that is stale and is
 * taken over when no free block is left. jnr_release drops a job's claim
 * when its checkpoints are removed.
 */
#ifndef CR_JOBNETREG_H
#define CR_JOBNETREG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define JNR_BLOCK 64		  /* addresses a block */
#define JNR_SLOTS (JNR_BLOCK - 1) /* slots a block: its first address is never one */

struct jnr_job {
	uint32_t jobid;
	uint32_t restart_from; /* the job whose checkpoints it resumes; 0: none */
	uint32_t nslots;
	uid_t uid;
	gid_t gid;
	const char *userdir; /* the job's checkpoint directory's parent (jobdir.h) */
	const char *node;    /* who claims, for the record */
};

/* 1 if job @jobid still needs its blocks (queued, running, checkpoints in @userdir), else 0. */
typedef int (*jnr_in_use_fn)(void *arg, uint32_t jobid, uid_t uid, gid_t gid, const char *userdir);

struct jnr {
	int dirfd;
	uint32_t nblocks;
	jnr_in_use_fn in_use;
	void *arg;
	time_t grace; /* a block no job file names yet is a claim under way until this old */
};

/* The blocks of JobNetwork's @prefix (host bits 32 - prefix). */
uint32_t jnr_blocks(uint32_t prefix);
/* The registry at @path (made 0755 when missing, its parent must exist), for @nblocks. */
int jnr_open(struct jnr *r, const char *path, uint32_t nblocks, char *err, size_t errlen);
void jnr_close(struct jnr *r);
/*
 * The first block of @j's (its own, its restart_from's, or claimed now):
 * 0, -ENOSPC (every block in use, err says so), or another -errno.
 */
int jnr_claim(struct jnr *r, const struct jnr_job *j, uint32_t *first, char *err, size_t errlen);
/* Drop @jobid's claim and @restart_from's, and the blocks no other job names. */
int jnr_release(struct jnr *r, uint32_t jobid, uint32_t restart_from);

#endif /* CR_JOBNETREG_H */
