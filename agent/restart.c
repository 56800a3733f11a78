// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * crctl restart: a new job, described as the ended one was, that resumes from
 * its newest checkpoint that verifies (the new job's prolog is told which).
 */
#include <slurm/slurm.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "interval.h"
#include "log.h"
#include "proto.h"
#include "restart.h"
#include "store.h"
#include "userfs.h"

/* The environment of the new job: the spank plugin's and the batch step's. */
struct restart_env {
	char ckpt[64], dir[PATH_MAX + 32], restart[64], of[64];
	char *spank[3], *job[4];
};

static char *_join_nodes(json_t *slots)
{
	size_t i, len = 1, at = 0;
	json_t *sl;
	char *s;

	json_array_foreach(slots, i, sl) len +=
		strlen(json_string_value(json_object_get(sl, "node")) ?: "") + 1;
	s = calloc(1, len);
	if (!s)
		return NULL;
	json_array_foreach(slots, i, sl)
	{
		const char *node = json_string_value(json_object_get(sl, "node")) ?: "";
		size_t n = strlen(node);

		if (i)
			s[at++] = ',';
		memcpy(s + at, node, n + 1);
		at += n;
	}
	return s;
}

static void _env(struct restart_env *e, json_t *man, uint32_t jobid, const char *ckdir)
{
	char ival[32];

	cr_interval_format(json_integer_value(json_object_get(man, "interval")), ival,
			   sizeof(ival));
	snprintf(e->ckpt, sizeof(e->ckpt), "SLURM_CHECKPOINT=%s", ival);
	snprintf(e->dir, sizeof(e->dir), "SLURM_CHECKPOINT_DIR=%s", ckdir);
	snprintf(e->restart, sizeof(e->restart), "SLURM_CHECKPOINT_RESTART=%u", jobid);
	snprintf(e->of, sizeof(e->of), "SLURM_CR_RESTART_OF=%u", jobid);
	e->spank[0] = e->ckpt;
	e->spank[1] = e->dir;
	e->spank[2] = e->restart;
	/* The batch step sees the job's environment, the prolog the spank one. */
	e->job[0] = e->of;
	e->job[1] = e->ckpt;
	e->job[2] = e->dir;
	e->job[3] = NULL;
}

/* The job description from the manifest; strings point into man. */
static void _describe(job_desc_msg_t *d, json_t *man, struct restart_env *e)
{
	json_t *job = json_object_get(man, "job");
	json_int_t limit = json_integer_value(json_object_get(job, "time_limit"));
	json_int_t cpt = json_integer_value(json_object_get(job, "cpus_per_task"));
	json_int_t ntasks = json_integer_value(json_object_get(job, "ntasks"));
	json_t *shared = json_object_get(job, "shared");
	json_int_t cpus = json_integer_value(json_object_get(job, "cpus"));
	const char *s;

	slurm_init_job_desc_msg(d);
	d->name = (char *)(json_string_value(json_object_get(job, "name")) ?: "restart");
	s = json_string_value(json_object_get(job, "partition"));
	if (s && *s)
		d->partition = (char *)s;
	s = json_string_value(json_object_get(job, "account"));
	if (s && *s)
		d->account = (char *)s;
	d->min_nodes = d->max_nodes = json_array_size(json_object_get(man, "slots"));
	/* as many CPUs as the job had: its pinned threads need as many (topo.h) */
	if (cpt > 0 && cpt < NO_VAL16)
		d->cpus_per_task = (uint16_t)cpt;
	if (ntasks > 0 && ntasks < NO_VAL)
		d->num_tasks = (uint32_t)ntasks;
	if (json_is_integer(shared) && json_integer_value(shared) >= 0 &&
	    json_integer_value(shared) < NO_VAL16)
		d->shared = (uint16_t)json_integer_value(shared);
	/* more tasks than CPUs (sbatch -O): Slurm refuses them unless overcommitted again */
	if (ntasks > 0 && cpus > 0 && ntasks * (cpt > 0 ? cpt : 1) > cpus)
		d->overcommit = 1;
	if (limit > 0 && limit < INFINITE)
		d->time_limit = limit;
	d->work_dir = (char *)(json_string_value(json_object_get(job, "work_dir")) ?: "/");
	d->std_out =
		(char *)json_string_value(json_object_get(json_object_get(man, "stdout"), "path"));
	d->std_err =
		(char *)json_string_value(json_object_get(json_object_get(man, "stderr"), "path"));
	d->user_id = json_integer_value(json_object_get(man, "uid"));
	d->group_id = json_integer_value(json_object_get(man, "gid"));
	d->requeue = 1;
	d->script = "#!/bin/sh\n"
		    "# slurm-cr: this job resumes an ended job from its checkpoint; this script\n"
		    "# runs only if that fails.\n"
		    "echo \"slurm-cr: could not resume from the checkpoint\" >&2\nexit 1\n";
	d->spank_job_env = e->spank;
	d->spank_job_env_size = 3;
	d->environment = e->job;
	d->env_size = 3;
}

/* The newest checkpoint that verifies and is the user's, read as the user; NULL: answered on fd. */
static json_t *_newest(const struct crd_ctx *ctx, int fd, int jobfd, uint32_t jobid,
		       const struct job_user *u, uint32_t *seq)
{
	struct store_binding b = {.uid = u->uid, .jobid = jobid, .slot = -1};
	uint8_t key[STORE_KEY_LEN];
	json_t *man = NULL;
	struct stat sb;
	char err[512];

	if (store_key_load(ctx->conf.key_file, key, err, sizeof(err))) {
		cr_send_err(fd, CR_E_FAILED, "%s", err);
		return NULL;
	}
	if (user_fs_enter(u, err, sizeof(err)) || store_load_newest(jobfd, key, &b, seq, &man))
		man = NULL;
	user_fs_leave();
	sodium_memzero(key, sizeof(key));
	if (!man) {
		cr_send_err(fd, CR_E_FAILED, "job %u has no checkpoint that verifies", jobid);
		return NULL;
	}
	/* The new job runs as the checkpoint's user: the directory must be theirs. */
	if (fstat(jobfd, &sb) < 0 || sb.st_uid != json_integer_value(json_object_get(man, "uid"))) {
		cr_send_err(fd, CR_E_PERM,
			    "job %u: the checkpoint's user does not own its directory", jobid);
		json_decref(man);
		return NULL;
	}
	return man;
}

/*
 * --nodes=N: the job's slots on N nodes, several on one where it must
 * (MaxSlotsPerNode); they run as many tasks as before on fewer CPUs. 0, or
 * -1 when refused on fd.
 */
static int _fewer_nodes(const struct crd_ctx *ctx, int fd, job_desc_msg_t *d, json_t *nodes)
{
	uint32_t nslots = d->min_nodes, per = ctx->conf.max_slots_per_node;
	json_int_t n = json_integer_value(nodes);

	if (!nodes)
		return 0;
	if (n < 1 || n > nslots) {
		cr_send_err(fd, CR_E_FAILED,
			    "--nodes=%lld: its checkpoint has %u node slot(s): 1 to %u nodes",
			    (long long)n, nslots, nslots);
		return -1;
	}
	if (n * (per ? per : 1) < nslots) {
		cr_send_err(fd, CR_E_FAILED,
			    "%u node slots do not fit on %lld nodes: a node takes %u "
			    "(MaxSlotsPerNode in cr.conf)",
			    nslots, (long long)n, per ? per : 1);
		return -1;
	}
	if (d->req_nodes && n != nslots) {
		cr_send_err(fd, CR_E_FAILED, "StickToNodes asks for %u nodes, --nodes for %lld",
			    nslots, (long long)n);
		return -1;
	}
	d->min_nodes = d->max_nodes = (uint32_t)n;
	if (n < nslots)
		d->overcommit = 1;
	return 0;
}

void restart_job(const struct crd_ctx *ctx, int fd, int jobfd, uint32_t jobid, const char *ckdir,
		 const struct job_user *u, json_t *opts)
{
	submit_response_msg_t *resp = NULL;
	struct restart_env e;
	job_desc_msg_t d;
	char *nodes = NULL, text[256];
	const char *s;
	uint32_t seq = 0;
	json_t *man;

	man = _newest(ctx, fd, jobfd, jobid, u, &seq);
	if (!man)
		return;
	_env(&e, man, jobid, ckdir);
	_describe(&d, man, &e);
	s = json_string_value(json_object_get(opts, "exclude"));
	if (s && *s)
		d.exc_nodes = (char *)s;
	if (json_is_true(json_object_get(opts, "StickToNodes")))
		d.req_nodes = nodes = _join_nodes(json_object_get(man, "slots"));
	if (_fewer_nodes(ctx, fd, &d, json_object_get(opts, "nodes"))) {
		free(nodes);
		json_decref(man);
		return;
	}
	if (slurm_submit_batch_job(&d, &resp) != 0 || !resp) {
		cr_send_err(fd, CR_E_FAILED, "cannot submit the restart of job %u: %s", jobid,
			    slurm_strerror(slurm_get_errno()));
	} else {
		log_info("job %u: restarted as job %u from checkpoint %u", jobid, resp->job_id,
			 seq);
		snprintf(text, sizeof(text), "{\"jobid\":%u,\"restarted_from\":%u,\"seq\":%u}",
			 resp->job_id, jobid, seq);
		cr_send_ok(fd, text);
	}
	if (resp)
		slurm_free_submit_response_response_msg(resp);
	free(nodes);
	json_decref(man);
}
