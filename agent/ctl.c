// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The crctl door: a user's or an admin's request, already authenticated by
 * munge (door.c). Only the job's owner, root, SlurmUser and Operators may act
 * on a job. The job's status is asked once here and handed down.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pwd.h>
#include <slurm/slurm.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coord.h"
#include "ctl.h"
#include "evacuate.h"
#include "jobstat.h"
#include "log.h"
#include "proto.h"
#include "restart.h"
#include "slurmjob.h"
#include "store.h"
#include "userfs.h"

static const char *const cmd_names[CR_CTL_MAXCMD] = {
	[CR_CTL_ABLE] = "able",	      [CR_CTL_DISABLE] = "disable",   [CR_CTL_ENABLE] = "enable",
	[CR_CTL_CREATE] = "create",   [CR_CTL_VACATE] = "vacate",     [CR_CTL_REQUEUE] = "requeue",
	[CR_CTL_RESTART] = "restart", [CR_CTL_ERROR] = "error",	      [CR_CTL_LIST] = "list",
	[CR_CTL_SHOW] = "show",	      [CR_CTL_EVACUATE] = "evacuate",
};

/* Committed checkpoints, read as the job's user; one that does not verify or is not bound to it is
 * marked. */
static char *_list(int jobfd, const uint8_t *key, const struct store_binding *b)
{
	json_t *arr = json_array(), *man, *e;
	uint32_t *seqs = NULL;
	size_t n = 0;
	char err[512], *s;

	store_list(jobfd, &seqs, &n);
	for (size_t i = 0; i < n; i++) {
		man = NULL;
		if (store_load(jobfd, seqs[i], key, b, &man, err, sizeof(err))) {
			e = json_pack("{s:I, s:b, s:s}", "seq", (json_int_t)seqs[i], "verified", 0,
				      "error", err);
		} else {
			json_t *nodes = json_array(), *sl;
			size_t k;
			json_array_foreach(json_object_get(man, "slots"), k, sl)
				json_array_append(nodes, json_object_get(sl, "node"));
			e = json_pack("{s:I, s:b, s:O, s:O, s:o}", "seq", (json_int_t)seqs[i],
				      "verified", 1, "time", json_object_get(man, "time"), "bytes",
				      json_object_get(man, "bytes"), "nodes", nodes);
		}
		json_decref(man);
		if (e)
			json_array_append_new(arr, e);
	}
	free(seqs);
	s = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return s;
}

static int _permitted(const struct crd_ctx *ctx, uid_t uid, uid_t owner)
{
	struct passwd *pw;

	if (uid == 0 || uid == owner || uid == ctx->slurm_uid)
		return 1;
	pw = getpwuid(uid);
	return pw && cr_conf_is_operator(&ctx->conf, pw->pw_name);
}

static void _refuse(int fd, uid_t uid, uint32_t cmd, uint32_t jobid)
{
	log_info("ctl: uid %u may not %s job %u", uid, cmd_names[cmd], jobid);
	cr_send_err(fd, CR_E_PERM, "uid %u is not permitted to %s job %u", uid, cmd_names[cmd],
		    jobid);
}

static void _progress(const char *text, void *arg)
{
	struct cr_buf b;

	cr_buf_init(&b);
	cr_pack_str(&b, text);
	cr_send(*(int *)arg, CR_MSG_PROGRESS, &b, NULL, 0);
	cr_buf_free(&b);
}

static void _checkpoint(const struct crd_ctx *ctx, int fd, uint32_t cmd,
			const struct job_status *st, json_t *opts)
{
	struct coord_opts o = {.progress = _progress, .arg = &fd};
	json_t *result = NULL;
	char err[2048] = "", *s;
	const char *dir = json_string_value(json_object_get(opts, "ImageDir"));
	int ret;

	o.op = cmd == CR_CTL_VACATE    ? COORD_VACATE
	       : cmd == CR_CTL_REQUEUE ? COORD_REQUEUE
				       : COORD_CREATE;
	o.max_wait = json_integer_value(json_object_get(opts, "MaxWait"));
	o.why = json_string_value(json_object_get(opts, "Why"));
	if (dir)
		snprintf(o.image_dir, sizeof(o.image_dir), "%s", dir);
	ret = coord_checkpoint(ctx, st, &o, &result, err, sizeof(err));
	if (ret) {
		cr_send_err(fd, ret == -EBUSY ? CR_E_BUSY : CR_E_FAILED, "%s",
			    *err ? err : strerror(-ret));
		return;
	}
	s = json_dumps(result, JSON_COMPACT);
	cr_send_ok(fd, s ? s : "{}");
	free(s);
	json_decref(result);
}

/* The job's checkpoint directory, as its user, for jobs with or without a container here. */
static int _open_job_dir(const char *ckdir, uint32_t jobid, const struct job_user *u, char *err,
			 size_t errlen)
{
	int ret = user_fs_enter(u, err, errlen);

	if (ret)
		return ret;
	ret = store_job_open(ckdir, jobid, 0, err, errlen);
	if (ret == -ENOENT)
		snprintf(err, errlen, "job %u has no checkpoints in %.400s", jobid, ckdir);
	return ret;
}

static void _error(int fd, int jobfd)
{
	char buf[8192];
	ssize_t n = -1;
	int efd;

	efd = openat(jobfd, "error.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (efd >= 0) {
		n = read(efd, buf, sizeof(buf) - 1);
		close(efd);
	}
	if (n <= 0) {
		cr_send_ok(fd, "{}");
		return;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	cr_send_ok(fd, buf);
}

/* The job's checkpoints, as its user; the key is read as root. */
static void _send_list(const struct crd_ctx *ctx, int fd, int jobfd, uint32_t jobid,
		       struct job_user *u)
{
	struct store_binding b = {.uid = u->uid, .jobid = jobid, .slot = -1};
	uint8_t key[STORE_KEY_LEN];
	char err[1024], *s;

	user_fs_leave();
	if (store_key_load(ctx->conf.key_file, key, err, sizeof(err))) {
		cr_send_err(fd, CR_E_FAILED, "%s", err);
		return;
	}
	user_fs_enter(u, err, sizeof(err));
	s = _list(jobfd, key, &b);
	sodium_memzero(key, sizeof(key));
	cr_send_ok(fd, s ? s : "[]");
	free(s);
}

/*
 * `crctl error` of a job whose checkpoint directory is not there (the reason
 * it is held, often): what slurm-cr wrote in its AdminComment. 0 when answered.
 */
static int _error_from_slurm(const struct crd_ctx *ctx, int fd, uid_t uid, uint32_t jobid)
{
	struct slurmjob j;
	json_t *o;
	char *s;

	if (slurmjob_get(jobid, &j) || !*j.msg)
		return -ENOENT;
	if (!_permitted(ctx, uid, j.uid)) {
		_refuse(fd, uid, CR_CTL_ERROR, jobid);
		return 0;
	}
	o = json_pack("{s:I, s:s, s:s}", "jobid", (json_int_t)jobid, "op", "AdminComment", "error",
		      j.msg);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (s)
		cr_send_ok(fd, s);
	else
		cr_send_err(fd, CR_E_FAILED, "out of memory");
	free(s);
	json_decref(o);
	return 0;
}

/* A job without a checkpoint directory: a running one has nothing to list yet. */
static void _no_dir(const struct crd_ctx *ctx, int fd, uid_t uid, uint32_t cmd, uint32_t jobid,
		    const struct job_status *st, const char *ckdir)
{
	if (cmd == CR_CTL_ERROR && _error_from_slurm(ctx, fd, uid, jobid) == 0)
		return;
	if (st && !_permitted(ctx, uid, st->ji.uid))
		cr_send_err(fd, CR_E_PERM, "uid %u is not permitted to %s job %u", uid,
			    cmd_names[cmd], jobid);
	else if (st && cmd == CR_CTL_RESTART)
		cr_send_err(fd, CR_E_FAILED, "job %u is still running: vacate it first", jobid);
	else if (st)
		cr_send_ok(fd, cmd == CR_CTL_LIST ? "[]" : "{}");
	else
		cr_send_err(fd, CR_E_NOJOB, "job %u has no checkpoints in %s", jobid, ckdir);
}

/*
 * Whose checkpoints, and where: a running job's are its user's; a user asking
 * about an ended job asks about their own; an admin's question is answered by
 * the owner of ImageDir or of the job's directory in CheckpointDir. Root looks
 * at nothing in a user's directory (store_find_owner enters each as its user).
 */
static int _whose(const struct crd_ctx *ctx, uid_t uid, uint32_t jobid, const struct job_status *st,
		  const char *dir, struct job_user *u, char *ckdir, char *err, size_t errlen)
{
	struct passwd *pw;
	struct stat sb;
	uid_t owner = uid;
	gid_t group;
	int ret;

	if (st) {
		owner = st->ji.uid;
		group = st->ji.gid;
	} else if (_permitted(ctx, uid, (uid_t)-1) && dir) {
		/* Only root itself may have crd act as root in a directory. */
		if (stat(dir, &sb) < 0 || (sb.st_uid == 0 && uid != 0))
			return -ENOENT;
		owner = sb.st_uid;
		group = sb.st_gid;
	} else if (_permitted(ctx, uid, (uid_t)-1)) {
		if (store_find_owner(ctx->conf.checkpoint_dir, jobid, &owner, &group))
			return -ENOENT;
	} else {
		pw = getpwuid(uid);
		if (!pw)
			return -ENOENT;
		group = pw->pw_gid;
	}
	ret = user_lookup(owner, group, u, err, errlen);
	if (!ret)
		ret = store_user_dir(ctx->conf.checkpoint_dir,
				     dir  ? dir
				     : st ? st->ji.ckpt_dir
					  : "",
				     u->name, ckdir, PATH_MAX, err, errlen);
	return ret;
}

/* list, error and restart also serve jobs that have ended: no container, only checkpoints. */
static void _offline(const struct crd_ctx *ctx, int fd, uid_t uid, uint32_t cmd, uint32_t jobid,
		     const struct job_status *st, json_t *opts)
{
	const char *dir = json_string_value(json_object_get(opts, "ImageDir"));
	char ckdir[PATH_MAX], err[1024];
	struct job_user u;
	int jobfd;

	if (_whose(ctx, uid, jobid, st, dir, &u, ckdir, err, sizeof(err)) == -ENOENT) {
		_no_dir(ctx, fd, uid, cmd, jobid, st, dir ? dir : ctx->conf.checkpoint_dir);
		return;
	}
	if (!_permitted(ctx, uid, u.uid)) {
		_refuse(fd, uid, cmd, jobid);
		return;
	}
	if (cmd == CR_CTL_RESTART && st) {
		cr_send_err(fd, CR_E_FAILED, "job %u is still running: vacate it first", jobid);
		return;
	}
	log_info("ctl: uid %u: %s job %u", uid, cmd_names[cmd], jobid);
	jobfd = _open_job_dir(ckdir, jobid, &u, err, sizeof(err));
	if (jobfd == -ENOENT && st) {
		user_fs_leave();
		_no_dir(ctx, fd, uid, cmd, jobid, st, ckdir);
		return;
	}
	if (jobfd < 0) {
		user_fs_leave();
		if (cmd != CR_CTL_ERROR || _error_from_slurm(ctx, fd, uid, jobid))
			cr_send_err(fd, jobfd == -ENOENT ? CR_E_NOJOB : CR_E_FAILED, "%s", err);
		return;
	}
	if (cmd == CR_CTL_LIST)
		_send_list(ctx, fd, jobfd, jobid, &u);
	else if (cmd == CR_CTL_ERROR)
		_error(fd, jobfd);
	else if (cmd == CR_CTL_RESTART) {
		user_fs_leave();
		restart_job(ctx, fd, jobfd, jobid, ckdir, &u, opts);
	}
	user_fs_leave();
	close(jobfd);
}

/*
 * crctl restart --from-scratch: a requeued job (pending, held or not) runs
 * its script from the top at its next start, its checkpoints set aside; a
 * held one is released. The wish is kept in slurmctld (slurmjob.h), for
 * whichever node the job starts on.
 */
static void _from_scratch(const struct crd_ctx *ctx, int fd, uid_t uid, uint32_t jobid)
{
	struct slurmjob j;
	char note[128], err[256], text[128];
	int ret = slurmjob_get(jobid, &j);

	if (ret) {
		cr_send_err(fd, ret == -ENOENT ? CR_E_NOJOB : CR_E_FAILED, "job %u: %s", jobid,
			    ret == -ENOENT ? "no such job" : "slurmctld does not answer");
		return;
	}
	if (!_permitted(ctx, uid, j.uid)) {
		_refuse(fd, uid, CR_CTL_RESTART, jobid);
		return;
	}
	if (j.state != JOB_PENDING) {
		cr_send_err(fd, CR_E_FAILED,
			    "job %u is not pending: --from-scratch is for a held or requeued job "
			    "(requeue a running one first)",
			    jobid);
		return;
	}
	snprintf(note, sizeof(note),
		 "from the top at the next start (crctl restart --from-scratch, uid %u)", uid);
	if (slurmjob_note(jobid, SLURMJOB_FROM_SCRATCH, 0, note)) {
		cr_send_err(fd, CR_E_FAILED, "job %u: cannot write its AdminComment", jobid);
		return;
	}
	if (j.priority == 0 && slurmjob_release(jobid, err, sizeof(err))) {
		cr_send_err(fd, CR_E_FAILED, "%s", err);
		return;
	}
	log_info("ctl: uid %u: job %u starts from the top at its next start%s", uid, jobid,
		 j.priority == 0 ? " (released)" : "");
	snprintf(text, sizeof(text), "{\"jobid\":%u,\"from_scratch\":true,\"released\":%s}", jobid,
		 j.priority == 0 ? "true" : "false");
	cr_send_ok(fd, text);
}

static void _set_enabled(const struct crd_ctx *ctx, int fd, uint32_t jobid, int on)
{
	struct cr_buf b;
	uint32_t code;
	char buf[256];
	int ret;

	cr_buf_init(&b);
	cr_pack_u32(&b, on);
	ret = jobstat_ask(ctx, jobid, 0, CR_MSG_SET, &b, NULL, 0, 10, &code, buf, sizeof(buf));
	cr_buf_free(&b);
	if (ret || code)
		cr_send_err(fd, CR_E_FAILED, "the job's monitor did not answer");
	else
		cr_send_ok(fd, buf);
}

static void _show(const struct crd_ctx *ctx, int fd, const struct job_status *st)
{
	char *s = jobstat_encode(st, ctx->conf.node_name);

	if (s)
		cr_send_ok(fd, s);
	else
		cr_send_err(fd, CR_E_FAILED, "out of memory");
	free(s);
}

void ctl_request(const struct crd_ctx *ctx, int fd, uid_t uid, uint32_t cmd, uint32_t jobid,
		 json_t *opts)
{
	struct job_status st;
	int have;

	if (cmd == CR_CTL_EVACUATE) {
		evacuate_request(ctx, fd, uid, opts);
		return;
	}
	have = jobstat_get(ctx, jobid, 0, &st) == 0;
	if (cmd == CR_CTL_RESTART && json_is_true(json_object_get(opts, "FromScratch"))) {
		_from_scratch(ctx, fd, uid, jobid);
		return;
	}
	if (cmd == CR_CTL_LIST || cmd == CR_CTL_ERROR || cmd == CR_CTL_RESTART) {
		_offline(ctx, fd, uid, cmd, jobid, have ? &st : NULL, opts);
		return;
	}
	if (!have) {
		cr_send_err(fd, CR_E_NOJOB, "job %u has no checkpointable container on node %s",
			    jobid, ctx->conf.node_name);
		return;
	}
	if (!_permitted(ctx, uid, st.ji.uid)) {
		_refuse(fd, uid, cmd, jobid);
		return;
	}
	log_info("ctl: uid %u: %s job %u", uid, cmd_names[cmd], jobid);
	switch (cmd) {
	case CR_CTL_ABLE:
		cr_send_ok(fd, st.enabled ? "yes" : "no: checkpoints of this job are disabled");
		break;
	case CR_CTL_ENABLE:
	case CR_CTL_DISABLE:
		_set_enabled(ctx, fd, jobid, cmd == CR_CTL_ENABLE);
		break;
	case CR_CTL_CREATE:
	case CR_CTL_VACATE:
	case CR_CTL_REQUEUE:
		_checkpoint(ctx, fd, cmd, &st, opts);
		break;
	case CR_CTL_SHOW:
		_show(ctx, fd, &st);
		break;
	default:
		cr_send_err(fd, CR_E_NOTSUP, "%s is not supported", cmd_names[cmd]);
	}
}
