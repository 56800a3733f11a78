// SPDX-License-Identifier: LGPL-2.1-or-later
/* A job's block of job network addresses (jobaddr.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <slurm/slurm.h>

#include "jobaddr.h"
#include "jobdir.h"
#include "jobnetreg.h"
#include "jobpeers.h"
#include "log.h"
#include "slurmjob.h"
#include "userfs.h"

/* A claim no job file names yet, older than this, was left by a claimer that died. */
#define CLAIM_GRACE 300

/* Does job @jobid still need its addresses? When unsure (no answer): yes. */
static int _in_use(void *arg, uint32_t jobid, uid_t uid, gid_t gid, const char *userdir)
{
	const struct crd_ctx *ctx = arg;
	struct slurmjob sj;
	struct job_user u;
	int ret, fd;

	ret = ctx->slurm_ok ? slurmjob_get(jobid, &sj) : -EIO;
	if (ret && ret != -ENOENT)
		return 1;
	if (!ret &&
	    (sj.state == JOB_PENDING || sj.state == JOB_RUNNING || sj.state == JOB_SUSPENDED))
		return 1;
	if (!*userdir)
		return 0;
	/* its checkpoints, looked for as its user (root may not read there) */
	if (user_lookup(uid, gid, &u, NULL, 0) || user_fs_enter(&u, NULL, 0)) {
		user_fs_leave();
		return 1;
	}
	fd = store_job_open(userdir, jobid, 0, NULL, 0);
	user_fs_leave();
	if (fd >= 0)
		close(fd);
	return fd != -ENOENT;
}

static int _open(const struct crd_ctx *ctx, struct jnr *r, char *err, size_t errlen)
{
	char path[PATH_MAX + 16];

	if (ctx->conf.job_net_registry[0])
		snprintf(path, sizeof(path), "%s", ctx->conf.job_net_registry);
	else
		snprintf(path, sizeof(path), "%s/.jobnet", ctx->conf.checkpoint_dir);
	r->in_use = _in_use;
	r->arg = (void *)ctx;
	r->grace = CLAIM_GRACE;
	return jnr_open(r, path, jnr_blocks(ctx->conf.job_net_prefix), err, errlen);
}

static uint32_t _nslots(const char *nodelist)
{
	hostlist_t hl = slurm_hostlist_create(nodelist);
	int n = hl ? slurm_hostlist_count(hl) : 0;

	if (hl)
		slurm_hostlist_destroy(hl);
	return n > 0 ? (uint32_t)n : 1;
}

int jobaddr_claim(const struct crd_ctx *ctx, struct cr_job *ji, uint32_t *block, char *err,
		  size_t errlen)
{
	struct jnr_job j = {.jobid = ji->jobid,
			    .restart_from = ji->restart_from,
			    .nslots = _nslots(ji->nodelist),
			    .uid = ji->uid,
			    .gid = ji->gid,
			    .userdir = ji->ckpt_dir,
			    .node = ctx->conf.node_name};
	struct jnr r;
	int ret = _open(ctx, &r, err, errlen);

	if (!ret)
		ret = jnr_claim(&r, &j, block, err, errlen);
	jnr_close(&r);
	if (!ret)
		ji->addr = jobpeers_slot_addr(&ctx->conf, *block, ji->slot);
	return ret;
}

void jobaddr_release(const struct crd_ctx *ctx, uint32_t jobid, uint32_t restart_from)
{
	char err[512];
	struct jnr r;

	if (_open(ctx, &r, err, sizeof(err)))
		log_warnx("job %u: cannot give its job network addresses back: %s", jobid, err);
	else if (!jnr_release(&r, jobid, restart_from))
		log_info("job %u: its job network addresses given back", jobid);
	jnr_close(&r);
}
