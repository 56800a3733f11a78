// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * crctl requests on crd's TCP port. The request is the payload of a munge
 * credential (so the caller's uid comes from munge, not from the request):
 *	u32 version, u32 cmd, u32 jobid, u32 flags
 * Only the job's owner, root, SlurmUser and Operators may act on a job.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <munge.h>
#include <pwd.h>
#include <slurm/slurm.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coord.h"
#include "crd.h"
#include "interval.h"
#include "log.h"
#include "proto.h"
#include "store.h"
#include "userfs.h"

static const char *const cmd_names[CR_CTL_MAXCMD] = {
	[CR_CTL_ABLE] = "able",	      [CR_CTL_DISABLE] = "disable", [CR_CTL_ENABLE] = "enable",
	[CR_CTL_CREATE] = "create",   [CR_CTL_VACATE] = "vacate",   [CR_CTL_REQUEUE] = "requeue",
	[CR_CTL_RESTART] = "restart", [CR_CTL_ERROR] = "error",	    [CR_CTL_LIST] = "list",
	[CR_CTL_SHOW] = "show",
};

/* Committed checkpoints, read as the job's user; a manifest that does not verify is marked. */
static char *_list(int jobfd, const uint8_t *key)
{
	json_t *arr = json_array(), *man, *e;
	uint32_t *seqs = NULL;
	size_t n = 0;
	char err[512], *s;

	store_list(jobfd, &seqs, &n);
	for (size_t i = 0; i < n; i++) {
		man = NULL;
		if (store_load(jobfd, seqs[i], key, &man, err, sizeof(err))) {
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

static int _permitted(uid_t uid, uid_t owner, uid_t slurm_uid)
{
	struct passwd *pw;

	if (uid == 0 || uid == owner || uid == slurm_uid)
		return 1;
	pw = getpwuid(uid);
	return pw && cr_conf_is_operator(&conf, pw->pw_name);
}

static void _progress(const char *text, void *arg)
{
	struct cr_buf b;

	cr_buf_init(&b);
	cr_pack_str(&b, text);
	cr_send(*(int *)arg, CR_MSG_PROGRESS, &b, NULL, 0);
	cr_buf_free(&b);
}

static void _checkpoint(int fd, uint32_t cmd, uint32_t jobid, json_t *opts)
{
	struct coord_opts o = {.progress = _progress, .arg = &fd};
	json_t *result = NULL;
	char err[2048], *s;
	const char *dir = json_string_value(json_object_get(opts, "ImageDir"));
	int ret;

	o.op = cmd == CR_CTL_VACATE    ? COORD_VACATE
	       : cmd == CR_CTL_REQUEUE ? COORD_REQUEUE
				       : COORD_CREATE;
	o.max_wait = json_integer_value(json_object_get(opts, "MaxWait"));
	if (dir)
		snprintf(o.image_dir, sizeof(o.image_dir), "%s", dir);
	ret = coord_checkpoint(jobid, &o, &result, err, sizeof(err));
	if (ret) {
		cr_send_err(fd, ret == -EBUSY ? CR_E_BUSY : CR_E_FAILED, "%s", err);
		return;
	}
	s = json_dumps(result, JSON_COMPACT);
	cr_send_ok(fd, s ? s : "{}");
	free(s);
	json_decref(result);
}

/* The job's checkpoint directory, as its user, for jobs with or without a container here. */
static int _open_job_dir(const char *ckdir, uint32_t jobid, uid_t uid, gid_t gid,
			 struct job_user *u, char *err, size_t errlen)
{
	int ret = user_lookup(uid, gid, u, err, errlen);

	if (!ret)
		ret = user_fs_enter(u, err, errlen);
	if (ret)
		return ret;
	ret = store_job_open(ckdir, jobid, 0, err, errlen);
	if (ret == -ENOENT)
		snprintf(err, errlen, "job %u has no checkpoints in %.400s", jobid, ckdir);
	return ret;
}

static void _error(int fd, int jobfd, uint32_t jobid)
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
	(void)jobid;
	cr_send_ok(fd, buf);
}

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

/*
 * crctl restart: a new job, described as the ended one was, that resumes from
 * its newest checkpoint that verifies (the new job's prolog is told which).
 */
static void _restart(int fd, int jobfd, uint32_t jobid, const char *ckdir, json_t *opts)
{
	uint8_t key[STORE_KEY_LEN];
	uint32_t seq = 0;
	json_t *man = NULL, *job;
	job_desc_msg_t d;
	submit_response_msg_t *resp = NULL;
	struct stat sb;
	char err[512], ival[32], e_ckpt[64], e_dir[PATH_MAX + 32], e_rs[64], e_env[64];
	char *spank_env[3], *env[4], *nodes = NULL;
	const char *s;

	if (store_key_load(conf.key_file, key, err, sizeof(err))) {
		cr_send_err(fd, CR_E_FAILED, "%s", err);
		return;
	}
	if (store_load_newest(jobfd, key, &seq, &man))
		man = NULL;
	sodium_memzero(key, sizeof(key));
	if (!man) {
		cr_send_err(fd, CR_E_FAILED, "job %u has no checkpoint that verifies", jobid);
		return;
	}
	/* The new job runs as the checkpoint's user: the directory must be theirs. */
	if (fstat(jobfd, &sb) < 0 || sb.st_uid != json_integer_value(json_object_get(man, "uid"))) {
		cr_send_err(fd, CR_E_PERM,
			    "job %u: the checkpoint's user does not own its directory", jobid);
		json_decref(man);
		return;
	}
	job = json_object_get(man, "job");
	slurm_init_job_desc_msg(&d);
	d.name = (char *)(json_string_value(json_object_get(job, "name")) ?: "restart");
	s = json_string_value(json_object_get(job, "partition"));
	if (s && *s)
		d.partition = (char *)s;
	s = json_string_value(json_object_get(job, "account"));
	if (s && *s)
		d.account = (char *)s;
	d.min_nodes = d.max_nodes = json_array_size(json_object_get(man, "slots"));
	if (json_integer_value(json_object_get(job, "time_limit")) > 0 &&
	    json_integer_value(json_object_get(job, "time_limit")) < INFINITE)
		d.time_limit = json_integer_value(json_object_get(job, "time_limit"));
	d.work_dir = (char *)(json_string_value(json_object_get(job, "work_dir")) ?: "/");
	d.std_out =
		(char *)json_string_value(json_object_get(json_object_get(man, "stdout"), "path"));
	d.std_err =
		(char *)json_string_value(json_object_get(json_object_get(man, "stderr"), "path"));
	d.user_id = json_integer_value(json_object_get(man, "uid"));
	d.group_id = json_integer_value(json_object_get(man, "gid"));
	d.requeue = 1;
	d.script = "#!/bin/sh\n"
		   "# slurm-cr: this job resumes an ended job from its checkpoint; this script\n"
		   "# runs only if that fails.\n"
		   "echo \"slurm-cr: could not resume from the checkpoint\" >&2\nexit 1\n";
	cr_interval_format(json_integer_value(json_object_get(man, "interval")), ival,
			   sizeof(ival));
	snprintf(e_ckpt, sizeof(e_ckpt), "SLURM_CHECKPOINT=%s", ival);
	snprintf(e_dir, sizeof(e_dir), "SLURM_CHECKPOINT_DIR=%s", ckdir);
	snprintf(e_rs, sizeof(e_rs), "SLURM_CHECKPOINT_RESTART=%u", jobid);
	snprintf(e_env, sizeof(e_env), "SLURM_CR_RESTART_OF=%u", jobid);
	spank_env[0] = e_ckpt;
	spank_env[1] = e_dir;
	spank_env[2] = e_rs;
	d.spank_job_env = spank_env;
	d.spank_job_env_size = 3;
	/* The batch step sees the job's environment, the prolog the spank one. */
	env[0] = e_env;
	env[1] = e_ckpt;
	env[2] = e_dir;
	env[3] = NULL;
	d.environment = env;
	d.env_size = 3;
	s = json_string_value(json_object_get(opts, "exclude"));
	if (s && *s)
		d.exc_nodes = (char *)s;
	if (json_is_true(json_object_get(opts, "StickToNodes")))
		d.req_nodes = nodes = _join_nodes(json_object_get(man, "slots"));
	if (slurm_submit_batch_job(&d, &resp) != 0 || !resp) {
		cr_send_err(fd, CR_E_FAILED, "cannot submit the restart of job %u: %s", jobid,
			    slurm_strerror(slurm_get_errno()));
	} else {
		char text[256];
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

/* list, error and restart also serve jobs that have ended: no container, only checkpoints. */
static void _offline(int fd, uid_t uid, uint32_t cmd, uint32_t jobid, uid_t slurm_uid, json_t *st,
		     json_t *opts)
{
	const char *dir = json_string_value(json_object_get(opts, "ImageDir"));
	uint8_t key[STORE_KEY_LEN];
	char ckdir[PATH_MAX], path[PATH_MAX + 16], err[1024], *s;
	struct job_user u;
	struct stat sb;
	uid_t owner;
	gid_t group;
	int jobfd;

	snprintf(ckdir, sizeof(ckdir), "%s",
		 dir  ? dir
		 : st ? json_string_value(json_object_get(st, "checkpoint_dir"))
		      : conf.checkpoint_dir);
	snprintf(path, sizeof(path), "%s/%u", ckdir, jobid);
	if (lstat(path, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		/* A running job that has none yet: nothing to list, no error. */
		if (st &&
		    !_permitted(uid, json_integer_value(json_object_get(st, "uid")), slurm_uid))
			cr_send_err(fd, CR_E_PERM, "uid %u is not permitted to %s job %u", uid,
				    cmd_names[cmd], jobid);
		else if (st && cmd == CR_CTL_RESTART)
			cr_send_err(fd, CR_E_FAILED, "job %u is still running: vacate it first",
				    jobid);
		else if (st)
			cr_send_ok(fd, cmd == CR_CTL_LIST ? "[]" : "{}");
		else
			cr_send_err(fd, CR_E_NOJOB, "job %u has no checkpoints in %s", jobid,
				    ckdir);
		return;
	}
	owner = st ? (uid_t)json_integer_value(json_object_get(st, "uid")) : sb.st_uid;
	group = st ? (gid_t)json_integer_value(json_object_get(st, "gid")) : sb.st_gid;
	if (!_permitted(uid, owner, slurm_uid)) {
		log_info("ctl: uid %u may not %s job %u", uid, cmd_names[cmd], jobid);
		cr_send_err(fd, CR_E_PERM, "uid %u is not permitted to %s job %u", uid,
			    cmd_names[cmd], jobid);
		return;
	}
	if (cmd == CR_CTL_RESTART && st) {
		cr_send_err(fd, CR_E_FAILED, "job %u is still running: vacate it first", jobid);
		return;
	}
	log_info("ctl: uid %u: %s job %u", uid, cmd_names[cmd], jobid);
	jobfd = _open_job_dir(ckdir, jobid, owner, group, &u, err, sizeof(err));
	if (jobfd < 0) {
		user_fs_leave();
		cr_send_err(fd, jobfd == -ENOENT ? CR_E_NOJOB : CR_E_FAILED, "%s", err);
		return;
	}
	switch (cmd) {
	case CR_CTL_LIST:
		user_fs_leave();
		if (store_key_load(conf.key_file, key, err, sizeof(err))) {
			cr_send_err(fd, CR_E_FAILED, "%s", err);
			break;
		}
		user_fs_enter(&u, err, sizeof(err));
		s = _list(jobfd, key);
		sodium_memzero(key, sizeof(key));
		cr_send_ok(fd, s ? s : "[]");
		free(s);
		break;
	case CR_CTL_ERROR:
		_error(fd, jobfd, jobid);
		break;
	case CR_CTL_RESTART:
		user_fs_leave();
		_restart(fd, jobfd, jobid, ckdir, opts);
		break;
	}
	user_fs_leave();
	close(jobfd);
}

static void _handle(int fd, uid_t uid, uint32_t cmd, uint32_t jobid, uid_t slurm_uid, json_t *opts)
{
	struct cr_buf b;
	json_t *st = NULL;
	uint32_t code;
	char buf[256];
	int ret;

	if (job_status(jobid, &st))
		st = NULL;
	if (cmd == CR_CTL_LIST || cmd == CR_CTL_ERROR || cmd == CR_CTL_RESTART) {
		_offline(fd, uid, cmd, jobid, slurm_uid, st, opts);
		goto out;
	}
	if (!st) {
		cr_send_err(fd, CR_E_NOJOB, "job %u has no checkpointable container on node %s",
			    jobid, conf.node_name);
		return;
	}
	if (!_permitted(uid, json_integer_value(json_object_get(st, "uid")), slurm_uid)) {
		log_info("ctl: uid %u may not %s job %u", uid, cmd_names[cmd], jobid);
		cr_send_err(fd, CR_E_PERM, "uid %u is not permitted to %s job %u", uid,
			    cmd_names[cmd], jobid);
		goto out;
	}
	log_info("ctl: uid %u: %s job %u", uid, cmd_names[cmd], jobid);
	switch (cmd) {
	case CR_CTL_ABLE:
		cr_send_ok(fd, json_is_true(json_object_get(st, "enabled"))
				       ? "yes"
				       : "no: checkpoints of this job are disabled");
		break;
	case CR_CTL_ENABLE:
	case CR_CTL_DISABLE:
		cr_buf_init(&b);
		cr_pack_u32(&b, cmd == CR_CTL_ENABLE);
		ret = ask_monitor(jobid, CR_MSG_SET, &b, NULL, 0, &code, buf, sizeof(buf));
		cr_buf_free(&b);
		if (ret || code)
			cr_send_err(fd, CR_E_FAILED, "the job's monitor did not answer");
		else
			cr_send_ok(fd, buf);
		break;
	case CR_CTL_CREATE:
	case CR_CTL_VACATE:
	case CR_CTL_REQUEUE:
		_checkpoint(fd, cmd, jobid, opts);
		break;
	case CR_CTL_SHOW: {
		char *s;
		json_object_set_new(st, "node", json_string(conf.node_name));
		s = json_dumps(st, JSON_COMPACT);
		if (s)
			cr_send_ok(fd, s);
		else
			cr_send_err(fd, CR_E_FAILED, "out of memory");
		free(s);
		break;
	}
	default:
		cr_send_err(fd, CR_E_NOTSUP, "%s is not supported", cmd_names[cmd]);
	}
out:
	json_decref(st);
}

static int _decode(struct cr_msg *m, const char *munge_socket, void **payload, int *plen,
		   uid_t *uid)
{
	const char *cred;
	munge_ctx_t ctx;
	munge_err_t e;
	gid_t gid;

	if (cr_unpack_str(m, &cred) || cr_unpack_done(m))
		return -EPROTO;
	ctx = munge_ctx_create();
	if (!ctx)
		return -ENOMEM;
	if (munge_socket && *munge_socket)
		munge_ctx_set(ctx, MUNGE_OPT_SOCKET, munge_socket);
	e = munge_decode(cred, ctx, payload, plen, uid, &gid);
	munge_ctx_destroy(ctx);
	if (e != EMUNGE_SUCCESS) {
		log_warnx("ctl: munge: %s", munge_strerror(e));
		return -EACCES;
	}
	return *plen < 0 ? -EPROTO : 0;
}

void ctl_request(int fd, const char *munge_socket, uid_t slurm_uid)
{
	uint32_t version, cmd, jobid, flags;
	struct cr_msg m, req = {0};
	const char *text;
	json_t *opts;
	void *payload = NULL;
	int plen = 0, ret;
	uid_t uid;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){5, 0}, sizeof(struct timeval));
	if (cr_recv(fd, &m))
		return;
	if (m.hdr.type != CR_MSG_CTL && m.hdr.type != CR_MSG_NODE) {
		log_warnx("ctl: bad %s request (%u bytes): closing", cr_msg_name(m.hdr.type),
			  m.hdr.len);
		goto out;
	}
	ret = _decode(&m, munge_socket, &payload, &plen, &uid);
	if (ret) {
		if (ret == -EACCES)
			cr_send_err(fd, CR_E_PERM, "munge credential refused");
		goto out;
	}
	req.hdr.len = CR_HDR_SIZE + plen;
	req.data = payload;
	if (cr_unpack_u32(&req, &version) || version != CR_PROTO_VERSION ||
	    cr_unpack_u32(&req, &cmd) || cr_unpack_u32(&req, &jobid)) {
		log_warnx("ctl: uid %u: malformed request (%d bytes): closing", uid, plen);
		goto out;
	}
	if (m.hdr.type == CR_MSG_NODE) {
		/* Only another crd (root) coordinates. */
		if (uid != 0 || cr_unpack_str(&req, &text) || cr_unpack_done(&req)) {
			log_warnx("node request from uid %u refused", uid);
			cr_send_err(fd, CR_E_PERM, "node requests come from crd only");
			goto out;
		}
		node_request(fd, cmd, jobid, text);
		goto out;
	}
	if (cr_unpack_u32(&req, &flags) || cr_unpack_str(&req, &text) || cr_unpack_done(&req) ||
	    cmd == 0 || cmd >= CR_CTL_MAXCMD || !(opts = json_loads(text, 0, NULL))) {
		log_warnx("ctl: uid %u: malformed request (%d bytes): closing", uid, plen);
		goto out;
	}
	_handle(fd, uid, cmd, jobid, slurm_uid, opts);
	json_decref(opts);
out:
	free(payload);
	cr_msg_free(&m);
}
