// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The coordinator of a job-wide checkpoint or restore: runs on the job's
 * batch host, in a crd worker (crctl) or a child of the job's monitor
 * (periodic checkpoints, restore at start), and talks to every node's crd
 * (node.c), itself included, over one connection per node (coordio.c):
 *
 *	checkpoint: PREPARE all -> DUMP all -> COMMIT (manifest, rename,
 *	            latest) -> RELEASE(RESUME, or KILL for vacate/requeue)
 *	restore:    newest checkpoint first: RESTORE all -> RELEASE(READY:
 *	            roll the files back) all -> RELEASE(RESUME) all; a failure
 *	            that may pass is tried again, one that does not verify is
 *	            set aside, and the next older one tried, unless files were
 *	            rolled back already
 *
 * Any failure or timeout aborts: every node lets its part go as it was and
 * the temporary directory is removed; what was committed is never touched.
 * What becomes of a job none of whose checkpoints can be restored is the
 * caller's (slurmjob_restore_failed): it is never started from the top.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <slurm/slurm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cr.h>

#include "coord.h"
#include "coordio.h"
#include "errmsg.h"
#include "glue.h"
#include "log.h"
#include "placement.h"
#include "proto.h"
#include "slurmjob.h"
#include "store.h"
#include "userfs.h"

/* Failures are kept with the checkpoints, for `crctl error` from any node. */
static void _record_error(int jobfd, uint32_t jobid, const char *op, const char *msg)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:I}", "jobid", (json_int_t)jobid, "op", op, "error",
			      msg, "time", (json_int_t)time(NULL));
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	int fd;

	log_warnx("job %u: %s: %s", jobid, op, msg);
	if (s && jobfd >= 0) {
		fd = openat(jobfd, "error.json.tmp",
			    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			if (write(fd, s, strlen(s)) == (ssize_t)strlen(s) &&
			    write(fd, "\n", 1) == 1)
				renameat(jobfd, "error.json.tmp", jobfd, "error.json");
			close(fd);
		}
	}
	free(s);
	json_decref(o);
}

void coord_record_error(const struct cr_job *ji, const char *op, const char *msg)
{
	struct job_user u;
	char err[512];
	int fd = -1;

	if (!user_lookup(ji->uid, ji->gid, &u, err, sizeof(err)) &&
	    !user_fs_enter(&u, err, sizeof(err)))
		fd = store_job_open(ji->ckpt_dir, ji->jobid, 1, err, sizeof(err));
	if (fd < 0)
		log_warnx("job %u: cannot record the error for crctl error: %s", ji->jobid, err);
	_record_error(fd, ji->jobid, op, msg);
	if (fd >= 0)
		close(fd);
	user_fs_leave();
}

/* The job as Slurm knows it, kept in the manifest for `crctl restart`. */
static json_t *_job_desc(uint32_t jobid)
{
	job_info_msg_t *jm = NULL;
	job_info_t *j;
	json_t *o;

	if (slurm_load_job(&jm, jobid, SHOW_ALL) || !jm || jm->record_count != 1) {
		if (jm)
			slurm_free_job_info_msg(jm);
		return json_object();
	}
	j = &jm->job_array[0];
	o = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:s, s:s, s:s, s:i}", "name",
		      j->name ? j->name : "", "partition", j->partition ? j->partition : "",
		      "nodes", (int)j->num_nodes, "ntasks", (int)j->num_tasks, "cpus_per_task",
		      (int)j->cpus_per_task, "time_limit", (int)j->time_limit, "work_dir",
		      j->work_dir ? j->work_dir : "", "account", j->account ? j->account : "",
		      "std_in", j->std_in ? j->std_in : "", "shared", (int)j->shared);
	if (o)
		json_object_set_new(o, "cpus", json_integer(j->num_cpus));
	slurm_free_job_info_msg(jm);
	return o ? o : json_object();
}

/*
 * The protocol is a table of steps run by one loop (_run_steps): the first
 * step that fails ends the run and the table's one abort path undoes it.
 * A step that needs a new exchange with the nodes (locking the job's
 * network, routing it) is one more function and one more row.
 */
struct coord_step {
	const char *name; /* the phase, in the result's "phases" */
	int (*run)(struct coord *c, void *arg);
};

/* Each step's time into phase[] (from start); on failure abort(c, arg) once. */
static int _run_steps(struct coord *c, const struct coord_step *steps, size_t n, void *arg,
		      void (*abort)(struct coord *c, void *arg), double start, double *phase)
{
	double t = start, now;
	int ret;

	for (size_t i = 0; i < n; i++) {
		ret = steps[i].run(c, arg);
		now = coordio_now();
		if (phase)
			phase[i] = now - t;
		t = now;
		if (ret) {
			abort(c, arg);
			return ret;
		}
	}
	return 0;
}

struct ckpt_args {
	uint32_t seq;
	const char *ckdir;
	json_t *prev;
	int maxwait;
};

/* One job-wide checkpoint in progress. */
/* Attempts at a checkpoint whose tree a node found in a passing state. */
#define CKPT_ATTEMPTS 3

struct ckpt {
	struct coord c;
	const struct job_status *st;
	const struct coord_opts *o;
	struct ckpt_args a;
	uint8_t key[STORE_KEY_LEN];
	struct job_user u;
	char ckdir[PATH_MAX];
	uint32_t prev_seq;
	json_t *lineage; /* the jobs this one resumes (store_lineage) */
	int jobfd;
	int begun; /* the temporary directory exists (and is not committed) */
	uint64_t bytes;
	double netlock; /* the longest network lock of the nodes' freezes */
	int passing;	/* the dump failed on a tree in a passing state: try again */
};

static json_t *_prepare_args(struct peer *p, void *arg)
{
	struct ckpt_args *a = arg;

	return json_pack("{s:I, s:i, s:i}", "seq", (json_int_t)a->seq, "slot", (int)p->slot,
			 "maxwait", a->maxwait);
}

static json_int_t _committed(json_t *prev, const char *name)
{
	json_t *o = json_object_get(prev, name);

	return o && !json_object_get(o, "same") ? json_integer_value(json_object_get(o, "len")) : 0;
}

static int _lock(const struct crd_ctx *ctx, uint32_t jobid, char *err, size_t errlen)
{
	char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/job%u.lock", ctx->conf.state_dir, jobid);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		fd = -errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(-fd));
		return fd;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		snprintf(err, errlen, "a checkpoint or restore of job %u is in progress", jobid);
		return -EBUSY;
	}
	return fd;
}

static const char *const op_names[] = {[COORD_CREATE] = "create",
				       [COORD_VACATE] = "vacate",
				       [COORD_REQUEUE] = "requeue",
				       [COORD_PERIODIC] = "periodic"};

/* Step: every node freezes its part of the job and holds it (PREPARE). */
static int _step_freeze(struct coord *c, void *arg)
{
	struct ckpt *k = arg;
	int ret;

	coordio_progress(c, "checkpoint %u: freezing %zu node%s", k->a.seq, c->npeers,
			 c->npeers > 1 ? "s" : "");
	ret = coordio_start_all(c, CR_NODE_PREPARE, _prepare_args, &k->a);
	return ret ? ret : coordio_collect(c, c->maxwait);
}

/* Step: every node writes its image, tmpfs and output into the temporary directory. */
/* A node found its tree in a passing state (a connection to outside the job, a connection not yet
 * accepted). */
static int _passing(const struct coord *c)
{
	for (size_t i = 0; i < c->npeers; i++)
		if (c->peers[i].code == CR_E_BUSY)
			return 1;
	return 0;
}

static int _step_dump(struct coord *c, void *arg)
{
	struct ckpt *k = arg;
	json_t *dargs;
	struct cr_buf b;
	char tmp[32], *text;
	int ret;

	coordio_progress(c, "checkpoint %u: dumping", k->a.seq);
	snprintf(tmp, sizeof(tmp), ".tmp-%u", k->a.seq);
	dargs = json_pack("{s:s, s:s, s:I, s:I}", "tmp", tmp, "ckdir", k->ckdir, "stdout",
			  _committed(k->a.prev, "stdout"), "stderr",
			  _committed(k->a.prev, "stderr"));
	text = dargs ? json_dumps(dargs, JSON_COMPACT) : NULL;
	json_decref(dargs);
	cr_buf_init(&b);
	cr_pack_str(&b, text ? text : "{}");
	free(text);
	coordio_send_all(c, CR_MSG_DUMP, &b);
	cr_buf_free(&b);
	ret = coordio_collect(c, c->maxwait);
	k->passing = ret == -EAGAIN && _passing(c);
	return ret;
}

/* The manifest: every slot's files and what the job was. */
static json_t *_manifest(struct ckpt *k)
{
	struct coord *c = &k->c;
	json_t *slots = json_array(), *r0 = c->peers[0].reply, *man;

	for (size_t i = 0; i < c->npeers; i++) {
		json_t *r = c->peers[i].reply;
		k->bytes += json_integer_value(json_object_get(r, "bytes"));
		if (json_real_value(json_object_get(r, "netlock")) > k->netlock)
			k->netlock = json_real_value(json_object_get(r, "netlock"));
		json_array_append_new(
			slots,
			json_pack("{s:s, s:O, s:I, s:O, s:s, s:O}", "node", c->peers[i].node,
				  "files", json_object_get(r, "files") ?: json_object(), "ntasks",
				  json_integer_value(json_object_get(r, "ntasks")), "clocks",
				  json_object_get(r, "clocks") ?: json_null(), "hostname",
				  json_string_value(json_object_get(r, "hostname")) ?: "", "bytes",
				  json_object_get(r, "bytes") ?: json_integer(0)));
		if (json_is_object(json_object_get(r, "topology")))
			json_object_set(json_array_get(slots, i), "topology",
					json_object_get(r, "topology"));
		/* the slot's address in the job network: it keeps it at restore */
		if (json_is_string(json_object_get(r, "address")))
			json_object_set(json_array_get(slots, i), "address",
					json_object_get(r, "address"));
	}
	/* "version" is store_commit's to set */
	man = json_pack("{s:I, s:I, s:I, s:I, s:o, s:o, s:I, s:s, s:I}", "jobid",
			(json_int_t)c->jobid, "time", (json_int_t)time(NULL), "uid",
			(json_int_t)k->st->ji.uid, "gid", (json_int_t)k->st->ji.gid, "slots", slots,
			"job", _job_desc(c->jobid), "bytes", (json_int_t)k->bytes, "checkpoint_dir",
			k->ckdir, "interval", (json_int_t)k->st->ji.interval);
	if (!man)
		return NULL;
	json_object_set_new(man, "parent", k->prev_seq ? json_integer(k->prev_seq) : json_null());
	if (json_object_get(r0, "stdout"))
		json_object_set(man, "stdout", json_object_get(r0, "stdout"));
	if (json_object_get(r0, "stderr"))
		json_object_set(man, "stderr", json_object_get(r0, "stderr"));
	return man;
}

/* Step: the manifest is written and the checkpoint renamed into place, as the job's user. */
static int _step_commit(struct coord *c, void *arg)
{
	struct ckpt *k = arg;
	struct store_binding b = {
		.uid = k->st->ji.uid, .jobid = c->jobid, .slot = -1, .lineage = k->lineage};
	json_t *man;
	int ret;

	coordio_progress(c, "checkpoint %u: committing", k->a.seq);
	man = _manifest(k);
	if (!man)
		return err_set(c->err, sizeof(c->err), -ENOMEM, "out of memory");
	fault_point(c->ctx, "commit");
	ret = user_fs_enter(&k->u, c->err, sizeof(c->err));
	if (!ret)
		ret = store_commit(k->jobfd, k->a.seq, man, &b, k->key, c->err, sizeof(c->err));
	user_fs_leave();
	json_decref(man);
	if (ret)
		return ret;
	c->err[0] = '\0';
	k->begun = 0;
	log_info("job %u: checkpoint %u committed (%llu bytes, %zu nodes)", c->jobid, k->a.seq,
		 (unsigned long long)k->bytes, c->npeers);
	return 0;
}

/* In slurmctld: a requeued job that finds no checkpoint then lost its storage (slurmjob.h). */
static void _note_committed(struct coord *c, uint32_t seq, const struct coord_opts *o)
{
	const char *why = o->why;
	char note[SLURMJOB_MSG_MAX];

	if (!c->ctx->slurm_ok)
		return;
	snprintf(note, sizeof(note), "checkpoint %u committed%s%.900s%s", seq, why ? " (" : "",
		 why ? why : "", why ? ")" : "");
	slurmjob_note(c->jobid, SLURMJOB_CHECKPOINTED | o->note_set, o->note_clear, note);
}

/* Checkpoints beyond KeepCount go once the job runs again, not while it is frozen. */
static void _prune(struct coord *c, struct ckpt *k)
{
	uint32_t keep = c->ctx->conf.keep_count;
	char e[512];

	if (user_fs_enter(&k->u, e, sizeof(e)) == 0 &&
	    store_prune(k->jobfd, keep ? keep : 1, e, sizeof(e)))
		log_warnx("job %u: pruning old checkpoints: %s", c->jobid, e);
	user_fs_leave();
}

/* Step: the job goes on, or ends (vacate) or is requeued, from what was committed. */
static int _step_release(struct coord *c, void *arg)
{
	enum coord_op op = ((struct ckpt *)arg)->o->op;
	const struct coord_opts *o = ((struct ckpt *)arg)->o;
	int end = op == COORD_VACATE || op == COORD_REQUEUE;
	uint32_t seq = ((struct ckpt *)arg)->a.seq;

	/* Before the requeue (its restore reads it) or the end (slurmctld takes no note
	 * for an ended job), else after the job goes on. */
	if (end)
		_note_committed(c, seq, o);
	if (op == COORD_REQUEUE && slurm_requeue(c->jobid, 0) != 0)
		log_warnx("job %u: requeue: %s", c->jobid, slurm_strerror(slurm_get_errno()));
	if (op == COORD_VACATE && slurm_kill_job(c->jobid, SIGKILL, 0) != 0)
		log_warnx("job %u: vacate: %s", c->jobid, slurm_strerror(slurm_get_errno()));
	coordio_progress(c, "checkpoint %u: %s", seq, end ? "ending the job" : "resuming");
	coordio_release_all(c, end ? CR_REL_KILL : CR_REL_RESUME);
	_prune(c, (struct ckpt *)arg);
	if (!end)
		_note_committed(c, seq, o);
	return 0;
}

/* A network-lock step will go after freeze, a route step before release. */
static const struct coord_step ckpt_steps[] = {
	{"freeze", _step_freeze},
	{"dump", _step_dump},
	{"commit", _step_commit},
	{"release", _step_release},
};

#define NSTEPS(t) (sizeof(t) / sizeof((t)[0]))

/* The one abort path: every node resumes, the temporary directory goes, the error is kept. */
static void _ckpt_abort(struct coord *c, void *arg)
{
	struct ckpt *k = arg;
	char e[256];

	log_warnx("job %u: checkpoint %u aborted: %s", c->jobid, k->a.seq, c->err);
	coordio_release_all(c, CR_REL_RESUME);
	if (user_fs_enter(&k->u, e, sizeof(e)) == 0) {
		if (k->begun)
			store_abort(k->jobfd, k->a.seq);
		_record_error(k->jobfd, c->jobid, op_names[k->o->op], c->err);
	}
	user_fs_leave();
}

/* Can this node checkpoint the job now? */
static int _ckpt_check(struct ckpt *k)
{
	struct coord *c = &k->c;

	if (!k->st->ji.batch)
		return err_set(c->err, sizeof(c->err), -EINVAL,
			       "node %s is not job %u's batch host", c->ctx->conf.node_name,
			       c->jobid);
	if (k->st->state != JS_RUNNING)
		return err_set(c->err, sizeof(c->err), -ESRCH, "job %u is not running here (%s)",
			       c->jobid, jobstat_state_name(k->st->state));
	if (!k->st->enabled)
		return err_set(c->err, sizeof(c->err), -EPERM, "checkpoints of job %u are disabled",
			       c->jobid);
	return 0;
}

/*
 * The peers: the job's nodes, slot i on the i-th (this node alone without a
 * node list); after a restore, slot i where it was placed (several may share
 * a node).
 */
static void _ckpt_peers(struct coord *c, const struct cr_job *ji)
{
	char names[MAX_NODES][128];
	size_t n = coordio_expand(ji->nodelist, names, MAX_NODES), at[MAX_NODES];
	size_t nplaced = jobstat_placement(ji, n, at);

	c->round = -1;
	if (n == 0) {
		n = 1;
		snprintf(names[0], sizeof(names[0]), "%.127s", c->ctx->conf.node_name);
	}
	c->npeers = nplaced ? nplaced : n;
	for (size_t i = 0; i < c->npeers; i++) {
		c->peers[i] = (struct peer){.slot = i, .fd = -1};
		snprintf(c->peers[i].node, sizeof(c->peers[i].node), "%s",
			 names[nplaced ? at[i] : i]);
	}
}

/* As the job's user: the job's directory, the previous checkpoint, a new temporary one. */
static int _ckpt_begin(struct ckpt *k)
{
	struct coord *c = &k->c;
	struct store_binding b = {.uid = k->st->ji.uid, .jobid = c->jobid, .slot = -1};
	int ret;

	if ((ret = store_key_load(c->ctx->conf.key_file, k->key, c->err, sizeof(c->err))) ||
	    (ret = user_lookup(k->st->ji.uid, k->st->ji.gid, &k->u, c->err, sizeof(c->err))) ||
	    (ret = user_fs_enter(&k->u, c->err, sizeof(c->err))))
		goto out;
	k->jobfd = store_job_open(k->ckdir, c->jobid, 1, c->err, sizeof(c->err));
	if (k->jobfd < 0) {
		ret = k->jobfd;
		goto out;
	}
	if (store_load_newest(k->jobfd, k->key, &b, &k->prev_seq, &k->a.prev))
		k->a.prev = NULL;
	k->lineage = store_lineage(k->ckdir, b.uid, k->st->ji.restart_from, k->a.prev, k->key);
	if ((ret = store_next_seq(k->jobfd, &k->a.seq)))
		goto out;
	ret = store_begin(k->jobfd, k->a.seq, c->err, sizeof(c->err));
	if (ret >= 0) {
		close(ret);
		k->begun = 1;
		ret = 0;
	}
out:
	user_fs_leave();
	return ret;
}

static json_t *_ckpt_result(struct ckpt *k, const double *phase, double t0)
{
	json_t *ph = json_object();

	for (size_t i = 0; ph && i < NSTEPS(ckpt_steps); i++)
		json_object_set_new(ph, ckpt_steps[i].name, json_real(phase[i]));
	/* part of the freeze: the nodes lock their containers' networks as they freeze */
	json_object_set_new(ph, "netlock", json_real(k->netlock));
	return json_pack("{s:I, s:s, s:I, s:I, s:i, s:o, s:f}", "jobid", (json_int_t)k->c.jobid,
			 "op", op_names[k->o->op], "seq", (json_int_t)k->a.seq, "bytes",
			 (json_int_t)k->bytes, "nodes", (int)k->c.npeers, "phases", ph, "total",
			 coordio_now() - t0);
}

/* What one attempt left: connections, the previous manifest, the job's directory. */
static void _ckpt_reset(struct ckpt *k)
{
	coordio_close(&k->c);
	json_decref(k->a.prev);
	json_decref(k->lineage);
	k->a.prev = k->lineage = NULL;
	if (k->jobfd >= 0)
		close(k->jobfd);
	k->jobfd = -1;
}

/* The job ran on after the abort: what was passing (a script's squeue call) may be gone. */
static int _ckpt_attempts(struct ckpt *k, double t0, double *phase)
{
	struct coord *c = &k->c;
	int ret;

	for (int attempt = 1;; attempt++) {
		k->bytes = 0;
		k->netlock = 0;
		k->passing = 0;
		_ckpt_peers(c, &k->st->ji);
		ret = _ckpt_begin(k);
		if (!ret)
			ret = _run_steps(c, ckpt_steps, NSTEPS(ckpt_steps), k, _ckpt_abort,
					 attempt == 1 ? t0 : coordio_now(), phase);
		if (!ret || attempt == CKPT_ATTEMPTS || !k->passing)
			return ret;
		log_info("job %u: checkpoint %u: trying again in 1 s (attempt %d of %d)", c->jobid,
			 k->a.seq, attempt + 1, CKPT_ATTEMPTS);
		coordio_progress(c, "trying again: %s", c->err);
		_ckpt_reset(k);
		c->err[0] = '\0';
		sleep(1);
	}
}

int coord_checkpoint(const struct crd_ctx *ctx, const struct job_status *st,
		     const struct coord_opts *o, json_t **result, char *err, size_t errlen)
{
	struct ckpt *k = calloc(1, sizeof(*k));
	double t0 = coordio_now(), phase[NSTEPS(ckpt_steps)];
	struct coord *c;
	int lockfd, ret;

	if (!k)
		return err_set(err, errlen, -ENOMEM, "out of memory");
	c = &k->c;
	*c = (struct coord){
		.ctx = ctx, .jobid = st->ji.jobid, .progress = o->progress, .arg = o->arg};
	c->maxwait = o->max_wait > 0 ? o->max_wait : (int)ctx->conf.max_wait;
	k->st = st;
	k->o = o;
	k->jobfd = -1;
	snprintf(k->ckdir, sizeof(k->ckdir), "%s",
		 o->image_dir[0] ? o->image_dir : st->ji.ckpt_dir);
	k->a = (struct ckpt_args){.ckdir = k->ckdir, .maxwait = c->maxwait};
	lockfd = _lock(ctx, c->jobid, c->err, sizeof(c->err));
	ret = lockfd < 0 ? lockfd : _ckpt_check(k);
	if (!ret)
		ret = _ckpt_attempts(k, t0, phase);
	if (!ret)
		*result = _ckpt_result(k, phase, t0);
	else
		snprintf(err, errlen, "%s", *c->err ? c->err : strerror(-ret));
	_ckpt_reset(k);
	if (lockfd >= 0)
		close(lockfd);
	sodium_memzero(k->key, sizeof(k->key));
	free(k);
	return ret;
}

/*
 * Set <jobid>/ aside as <jobid>.<why>-<time>, as the job's user: an earlier
 * job's (stale), or unused (scratch).
 */
static void _set_aside(const char *ckdir, uint32_t jobid, const char *why,
		       const struct coord_restore_opts *o)
{
	char aside[64] = "", err[512] = "";
	struct job_user u;
	int ret;

	ret = user_lookup(o->uid, o->gid, &u, err, sizeof(err));
	if (!ret)
		ret = user_fs_enter(&u, err, sizeof(err));
	if (!ret)
		ret = store_set_aside(ckdir, jobid, why, aside, sizeof(aside), err, sizeof(err));
	user_fs_leave();
	if (ret)
		log_warnx("job %u: cannot set aside %s/%u (%s): %s", jobid, ckdir, jobid, why, err);
	else if (*aside)
		log_warnx("job %u: %s/%u set aside (%s): renamed %s", jobid, ckdir, jobid, why,
			  aside);
}

struct restore_args {
	const char *ckdir;
	uint32_t src, seq;
	int maxwait;
	json_t *placement; /* the new node of each slot */
};

/* A restore in progress: the new allocation and the checkpoints to try, newest first. */
struct restore {
	struct coord c;
	struct restore_args a;
	const struct coord_restore_opts *o;
	uint8_t key[STORE_KEY_LEN];
	struct job_user u;
	char names[MAX_NODES][128], batch_host[128];
	size_t nnew;
	int restart_cnt;
	unsigned jflags; /* SLURMJOB_*, from the job's AdminComment */
	json_t *man;	 /* the checkpoint being tried */
	int loaded;	 /* its manifest verified */
	int cut;	 /* READY was sent: files may be rolled back to its lengths */
	int jobfd;
	uint32_t *seqs;
	size_t nseqs;
};

static json_t *_restore_args(struct peer *p, void *arg)
{
	struct restore_args *a = arg;

	return json_pack("{s:s, s:I, s:I, s:i, s:i, s:i, s:O}", "ckdir", a->ckdir, "src",
			 (json_int_t)a->src, "seq", (json_int_t)a->seq, "slot", (int)p->slot,
			 "unit", (int)p->unit, "maxwait", a->maxwait, "placement", a->placement);
}

/* Step: each of the checkpoint's slots gets a node of the new allocation. */
static int _step_place(struct coord *c, void *arg)
{
	struct restore *r = arg;
	json_t *slots = json_object_get(r->man, "slots");
	size_t nslots = json_array_size(slots), out[MAX_NODES];
	const char *old[MAX_NODES], *new[MAX_NODES];

	if (nslots == 0 || nslots > MAX_NODES)
		return err_set(c->err, sizeof(c->err), -EBADMSG, "checkpoint %u has no node slots",
			       r->a.seq);
	for (size_t i = 0; i < nslots; i++) {
		old[i] = json_string_value(json_object_get(json_array_get(slots, i), "node"));
		if (!old[i])
			old[i] = "";
	}
	for (size_t i = 0; i < r->nnew; i++)
		new[i] = r->names[i];
	if (place_slots(old, nslots, new, r->nnew, r->batch_host, c->ctx->conf.max_slots_per_node,
			out))
		return err_set(c->err, sizeof(c->err), -ENOSPC,
			       "checkpoint %u has %zu slots; the job has %zu nodes with %s first "
			       "and a node takes %u (MaxSlotsPerNode)",
			       r->a.seq, nslots, r->nnew, r->batch_host,
			       c->ctx->conf.max_slots_per_node);
	c->npeers = nslots;
	json_decref(r->a.placement);
	r->a.placement = json_array();
	for (size_t i = 0; i < nslots; i++) {
		c->peers[i] = (struct peer){.slot = i, .fd = -1};
		/* the node's containers, in slot order: unit 0 is the one the prolog made */
		for (size_t k = 0; k < i; k++)
			c->peers[i].unit += out[k] == out[i];
		snprintf(c->peers[i].node, sizeof(c->peers[i].node), "%s", r->names[out[i]]);
		json_array_append_new(r->a.placement, json_string(r->names[out[i]]));
	}
	return 0;
}

/* Step: every node verifies its slot and rebuilds it, stopped (RESTORE). */
static int _step_restore(struct coord *c, void *arg)
{
	struct restore *r = arg;
	int ret;

	coordio_progress(c, "restoring checkpoint %u of job %u", r->a.seq, r->a.src);
	/*
	 * Unit 0 of every node first: it moves the node's routes to where the
	 * slots go before a node's other containers are made at their addresses.
	 */
	ret = 0;
	for (c->round = 0; !ret && coordio_round_used(c, c->round); c->round++) {
		ret = coordio_start_all(c, CR_NODE_RESTORE, _restore_args, &r->a);
		if (!ret)
			ret = coordio_collect(c, c->maxwait);
	}
	c->round = -1;
	return ret;
}

/*
 * Step: every node rolls the job's files back and rewrites its output (READY,
 * the tree still stopped), then, once every node answered, runs (RESUME): a
 * file open on several nodes is cut by each before any task writes to it.
 * A failure up to READY aborts every node, and no older checkpoint is tried
 * (r->cut: its files would be cut shorter); one in RESUME comes after other
 * nodes ran: -ENOTRECOVERABLE, nothing more is tried in this allocation.
 */
static int _step_resume(struct coord *c, void *arg)
{
	size_t n;
	int ret;

	((struct restore *)arg)->cut = 1;
	coordio_progress(c, "rolling back the files of %zu node%s", c->npeers,
			 c->npeers > 1 ? "s" : "");
	coordio_send_release(c, CR_REL_READY);
	ret = coordio_collect(c, c->maxwait);
	if (ret)
		return ret;
	coordio_send_release(c, CR_REL_RESUME);
	ret = coordio_collect(c, c->maxwait);
	if (!ret)
		return 0;
	n = strlen(c->err);
	snprintf(c->err + n, sizeof(c->err) - n, " (other nodes had resumed)");
	return -ENOTRECOVERABLE;
}

static const struct coord_step restore_steps[] = {
	{"place", _step_place},
	{"restore", _step_restore},
	{"release", _step_resume},
};

/* The one abort path of a restore: every node undoes what it rebuilt. */
static void _restore_abort(struct coord *c, void *arg)
{
	(void)arg;
	coordio_release_all(c, CR_REL_ABORT);
}

/* The new allocation and our AdminComment flags, from slurmctld; -EIO with msg when it can't. */
static int _restore_nodes(struct restore *r, char *msg, size_t msglen)
{
	job_info_msg_t *jm = NULL;
	job_info_t *j;

	/* slurmctld just started the job: a moment of silence from it is worth waiting for. */
	for (int i = 0; i < 3 && !r->nnew; i++) {
		if (i)
			sleep(2);
		if (slurm_load_job(&jm, r->c.jobid, SHOW_ALL) == 0 && jm && jm->record_count == 1) {
			j = &jm->job_array[0];
			r->restart_cnt = j->restart_cnt;
			r->nnew = coordio_expand(j->nodes ? j->nodes : "", r->names, MAX_NODES);
			if (j->batch_host)
				snprintf(r->batch_host, sizeof(r->batch_host), "%s", j->batch_host);
			slurmjob_note_parse(j->admin_comment, &r->jflags, NULL, 0);
		}
		if (jm)
			slurm_free_job_info_msg(jm);
		jm = NULL;
	}
	if (!r->nnew || !*r->batch_host)
		return err_set(msg, msglen, -EIO, "cannot get job %u's nodes from slurmctld: %s",
			       r->c.jobid, slurm_strerror(slurm_get_errno()));
	return 0;
}

/*
 * As the job's user (left entered): the checkpoints to try. COORD_FRESH only
 * for a job that has none at all: its own (not crctl restart's), never
 * committed one (no "checkpointed" in slurmctld, no <seq>.bad), and
 * <jobid>/ missing or without a committed <seq>/. The checkpoint directory
 * itself missing is an error, whatever the job had.
 */
/*
 * A crctl restart job that has since committed checkpoints of its own resumes
 * from those, not from the ended job's again (which would lose its progress).
 */
static void _prefer_own(struct restore *r)
{
	uint32_t *seqs = NULL;
	size_t n = 0;
	char err[256];
	int fd;

	if (r->a.src == r->c.jobid)
		return;
	fd = store_job_open(r->a.ckdir, r->c.jobid, 0, err, sizeof(err));
	if (fd < 0)
		return;
	if (!store_list(fd, &seqs, &n) && n)
		r->a.src = r->c.jobid;
	free(seqs);
	close(fd);
}

static int _restore_open(struct restore *r, char *msg, size_t msglen)
{
	int had = r->a.src != r->c.jobid || (r->jflags & SLURMJOB_CHECKPOINTED);
	size_t nbad = 0;
	int ret;

	if ((ret = store_key_load(r->c.ctx->conf.key_file, r->key, msg, msglen)) ||
	    (ret = user_lookup(r->o->uid, r->o->gid, &r->u, msg, msglen)) ||
	    (ret = user_fs_enter(&r->u, msg, msglen)))
		return ret;
	_prefer_own(r);
	/* A missing parent of the user's directory (storage not mounted) is -ENODEV. */
	r->jobfd = store_job_open(r->a.ckdir, r->a.src, 0, msg, msglen);
	if (r->jobfd == -ENOENT && !had)
		return COORD_FRESH;
	if (r->jobfd == -ENOENT) {
		snprintf(msg + strlen(msg), msglen - strlen(msg),
			 ", but job %u had a committed checkpoint (moved away, or its storage not "
			 "mounted?)",
			 r->a.src);
		return -ENOENT;
	}
	if (r->jobfd < 0)
		return r->jobfd;
	ret = store_list(r->jobfd, &r->seqs, &r->nseqs);
	if (!ret && !r->nseqs)
		ret = store_count_bad(r->jobfd, &nbad);
	if (ret)
		return err_sys(msg, msglen, ret, "cannot list %s/%u", r->a.ckdir, r->a.src);
	if (r->nseqs)
		return 0;
	if (!had && !nbad)
		return COORD_FRESH;
	return err_set(msg, msglen, -ENOENT, "%s/%u holds no committed checkpoint%s", r->a.ckdir,
		       r->a.src, nbad ? ", only ones that did not verify (*.bad)" : "");
}

/* One attempt at checkpoint r->a.seq: its manifest, then the steps. */
static int _restore_one(struct restore *r, char *msg, size_t msglen)
{
	struct store_binding b = {.uid = r->o->uid, .jobid = r->a.src, .slot = -1};
	struct coord *c = &r->c;
	int ret;

	c->err[0] = '\0';
	user_fs_enter(&r->u, msg, msglen);
	/* Another user's or job's (-EPERM) is not corrupt: refused, never marked bad. */
	ret = store_load(r->jobfd, r->a.seq, r->key, &b, &r->man, c->err, sizeof(c->err));
	user_fs_leave();
	if (ret)
		return ret;
	r->loaded = 1;
	ret = _run_steps(c, restore_steps, NSTEPS(restore_steps), r, _restore_abort, coordio_now(),
			 NULL);
	coordio_close(c);
	json_decref(r->man);
	r->man = NULL;
	json_decref(r->a.placement);
	r->a.placement = NULL;
	return ret;
}

/* A failure that may pass: I/O, memory, a timeout, a node that did not answer or was busy. */
static int _transient(int ret)
{
	return ret == -EAGAIN || ret == -ETIMEDOUT || ret == -EIO || ret == -ENOMEM ||
	       ret == -EINTR || ret == -ESTALE || ret == -EHOSTUNREACH || ret == -ECONNRESET ||
	       ret == -EPIPE;
}

/* "checkpoint N: why" appended to @fallback; store's errors name the checkpoint already. */
static void _add_fallback(char *fallback, size_t fblen, uint32_t seq, const char *err)
{
	char prefix[32];
	size_t used = strlen(fallback);

	snprintf(prefix, sizeof(prefix), "checkpoint %u: ", seq);
	snprintf(fallback + used, fblen - used, "%s%s%.500s", used ? "; " : "",
		 strncmp(err, prefix, strlen(prefix)) ? prefix : "", err);
}

#define RESTORE_TRIES 3 /* attempts at one checkpoint while its failure may pass */

/* Newest first, until one runs; only those that do not verify (MAC, digests) are marked bad. */
static int _restore_try(struct restore *r, char *fallback, size_t fblen, int *tried, char *msg,
			size_t msglen)
{
	static const unsigned delay[RESTORE_TRIES - 1] = {2, 5};
	struct coord *c = &r->c;
	int ret = -ENOENT;

	while (r->nseqs-- > 0) {
		r->a.seq = r->seqs[r->nseqs];
		r->loaded = 0;
		r->cut = 0;
		for (int n = 1;; n++) {
			ret = _restore_one(r, msg, msglen);
			if (!_transient(ret) || n == RESTORE_TRIES)
				break;
			log_warnx("job %u: checkpoint %u of job %u, attempt %d: %s; again in %u s",
				  c->jobid, r->a.seq, r->a.src, n, c->err, delay[n - 1]);
			sleep(delay[n - 1]);
		}
		*tried += r->loaded;
		if (ret == 0)
			break;
		log_warnx("job %u: checkpoint %u of job %u not restored: %s", c->jobid, r->a.seq,
			  r->a.src, c->err);
		_add_fallback(fallback, fblen, r->a.seq, c->err);
		if (ret == -EBADMSG) {
			/* Never again: a checkpoint that does not verify stays refused. */
			user_fs_enter(&r->u, msg, msglen);
			store_mark_bad(r->jobfd, r->a.seq);
			user_fs_leave();
		}
		/* Cut to this checkpoint: an older one would cut the job's files shorter. */
		if (ret == -ENOSPC || ret == -ENOTRECOVERABLE || r->cut)
			break;
	}
	return ret;
}

/* What msg says, and the error kept for `crctl error` (as the job's user). */
static void _restore_report(struct restore *r, int ret, const char *fallback, int tried, char *msg,
			    size_t msglen)
{
	uint32_t jobid = r->c.jobid;
	char e[256];
	int own;

	user_fs_enter(&r->u, e, sizeof(e));
	if (ret == 0 && !*fallback) {
		snprintf(msg, msglen, "restored checkpoint %u of job %u", r->a.seq, r->a.src);
		return;
	}
	if (ret == 0)
		snprintf(msg, msglen, "restored checkpoint %u of job %u after refusing newer: %s",
			 r->a.seq, r->a.src, fallback);
	else if (tried || *fallback)
		snprintf(msg, msglen, "no checkpoint of job %u could be restored (%d tried): %s",
			 r->a.src, tried, *fallback ? fallback : r->c.err);
	/* else msg says why none was tried. `crctl error` of this job tells, whoever's these are */
	if (r->a.src == jobid) {
		_record_error(r->jobfd, jobid, "restore", msg);
		return;
	}
	own = store_job_open(r->a.ckdir, jobid, 1, e, sizeof(e));
	_record_error(own, jobid, "restore", msg);
	if (own >= 0)
		close(own);
}

/* What there is to restore: 0 (checkpoints to try), COORD_FRESH, or -errno with msg. */
static int _restore_begin(struct restore *r, int *lockfd, char *msg, size_t msglen)
{
	uint32_t jobid = r->c.jobid;
	int ret = _restore_nodes(r, msg, msglen);

	if (ret)
		return ret;
	/*
	 * crctl restart --from-scratch: the job's own checkpoints aside (never
	 * those a crctl restart job resumes: it has no script but a placeholder).
	 */
	if (r->jflags & SLURMJOB_FROM_SCRATCH) {
		_set_aside(r->a.ckdir, jobid, "scratch", r->o);
		slurmjob_note(jobid, 0, SLURMJOB_FROM_SCRATCH | SLURMJOB_CHECKPOINTED,
			      "started from the top (crctl restart --from-scratch)");
		return COORD_FRESH;
	}
	/* A first start has nothing to resume: what is there is a past job's with this id. */
	if (!r->o->src_jobid && r->restart_cnt == 0) {
		_set_aside(r->a.ckdir, jobid, "stale", r->o);
		return COORD_FRESH;
	}
	*lockfd = _lock(r->c.ctx, jobid, msg, msglen);
	return *lockfd < 0 ? *lockfd : _restore_open(r, msg, msglen);
}

int coord_restore(const struct crd_ctx *ctx, uint32_t jobid, const struct coord_restore_opts *o,
		  char *msg, size_t msglen)
{
	struct restore *r = calloc(1, sizeof(*r));
	char fallback[2048] = "";
	int lockfd = -1, ret, tried = 0;

	if (!r)
		return err_set(msg, msglen, -ENOMEM, "out of memory");
	r->c = (struct coord){.ctx = ctx, .jobid = jobid, .maxwait = ctx->conf.max_wait};
	r->o = o;
	r->jobfd = -1;
	r->a = (struct restore_args){.ckdir = o->ckdir,
				     .src = o->src_jobid ? o->src_jobid : jobid,
				     .maxwait = r->c.maxwait};
	ret = _restore_begin(r, &lockfd, msg, msglen);
	if (!ret)
		ret = _restore_try(r, fallback, sizeof(fallback), &tried, msg, msglen);
	/* Once we could look: kept in <jobdir>/error.json, and the job's AdminComment says it. */
	if (ret != COORD_FRESH && lockfd >= 0)
		_restore_report(r, ret, fallback, tried, msg, msglen);
	user_fs_leave();
	if (ret == 0)
		slurmjob_note(jobid, 0, 0, msg);
	free(r->seqs);
	if (r->jobfd >= 0)
		close(r->jobfd);
	if (lockfd >= 0)
		close(lockfd);
	sodium_memzero(r->key, sizeof(r->key));
	free(r);
	return ret;
}
