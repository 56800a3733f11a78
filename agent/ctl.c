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
#include <jansson.h>
#include <munge.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crd.h"
#include "log.h"
#include "proto.h"

static const char *const cmd_names[CR_CTL_MAXCMD] = {
	[CR_CTL_ABLE] = "able",	      [CR_CTL_DISABLE] = "disable", [CR_CTL_ENABLE] = "enable",
	[CR_CTL_CREATE] = "create",   [CR_CTL_VACATE] = "vacate",   [CR_CTL_REQUEUE] = "requeue",
	[CR_CTL_RESTART] = "restart", [CR_CTL_ERROR] = "error",	    [CR_CTL_LIST] = "list",
	[CR_CTL_SHOW] = "show",
};

static int _numeric(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

static int _cmp_seq(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "seq"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "seq"));

	return x < y ? -1 : x > y;
}

/* Committed checkpoints: <dir>/<jobid>/<seq>/manifest.json. */
static char *_list(const char *ckdir, uint32_t jobid)
{
	char path[PATH_MAX], mpath[PATH_MAX + 300];
	json_t *arr = json_array(), *e, *man, *items[4096];
	struct dirent *d;
	struct stat st;
	size_t n = 0;
	DIR *dir;
	char *s;

	snprintf(path, sizeof(path), "%s/%u", ckdir, jobid);
	dir = opendir(path);
	while (dir && (d = readdir(dir)) && n < 4096) {
		if (!_numeric(d->d_name))
			continue;
		snprintf(mpath, sizeof(mpath), "%s/%s/manifest.json", path, d->d_name);
		if (lstat(mpath, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		man = json_load_file(mpath, 0, NULL);
		e = json_pack("{s:I, s:I, s:I, s:o}", "seq", (json_int_t)atoll(d->d_name), "time",
			      (json_int_t)st.st_mtime, "bytes", (json_int_t)0, "nodes",
			      json_array());
		if (man && e) {
			const char *keys[] = {"seq", "time", "bytes", "nodes"};
			for (size_t i = 0; i < 4; i++) {
				json_t *v = json_object_get(man, keys[i]);
				if (v)
					json_object_set(e, keys[i], v);
			}
		}
		json_decref(man);
		if (e)
			items[n++] = e;
	}
	if (dir)
		closedir(dir);
	qsort(items, n, sizeof(items[0]), _cmp_seq);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, items[i]);
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

static void _handle(int fd, uid_t uid, uint32_t cmd, uint32_t jobid, uid_t slurm_uid)
{
	struct cr_buf b;
	json_t *st = NULL;
	uint32_t code;
	char buf[256], *s;
	int ret;

	if (job_status(jobid, &st)) {
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
	case CR_CTL_LIST:
		s = _list(json_string_value(json_object_get(st, "checkpoint_dir")), jobid);
		if (s)
			cr_send_ok(fd, s);
		else
			cr_send_err(fd, CR_E_FAILED, "out of memory");
		free(s);
		break;
	case CR_CTL_SHOW:
		json_object_set_new(st, "node", json_string(conf.node_name));
		s = json_dumps(st, JSON_COMPACT);
		if (s)
			cr_send_ok(fd, s);
		else
			cr_send_err(fd, CR_E_FAILED, "out of memory");
		free(s);
		break;
	default:
		cr_send_err(fd, CR_E_NOTSUP, "%s is not yet supported", cmd_names[cmd]);
	}
out:
	json_decref(st);
}

void ctl_request(int fd, const char *munge_socket, uid_t slurm_uid)
{
	uint32_t version, cmd, jobid, flags;
	struct cr_msg m, req = {0};
	const char *cred;
	munge_ctx_t ctx;
	munge_err_t e;
	void *payload = NULL;
	int plen = 0;
	uid_t uid;
	gid_t gid;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){5, 0}, sizeof(struct timeval));
	if (cr_recv(fd, &m))
		return;
	if (m.hdr.type != CR_MSG_CTL || cr_unpack_str(&m, &cred) || cr_unpack_done(&m)) {
		log_warnx("ctl: bad %s request (%u bytes): closing", cr_msg_name(m.hdr.type),
			  m.hdr.len);
		goto out;
	}
	ctx = munge_ctx_create();
	if (!ctx)
		goto out;
	if (munge_socket && *munge_socket)
		munge_ctx_set(ctx, MUNGE_OPT_SOCKET, munge_socket);
	e = munge_decode(cred, ctx, &payload, &plen, &uid, &gid);
	munge_ctx_destroy(ctx);
	if (e != EMUNGE_SUCCESS) {
		log_warnx("ctl: munge: %s", munge_strerror(e));
		cr_send_err(fd, CR_E_PERM, "munge credential refused: %s", munge_strerror(e));
		goto out;
	}
	req.hdr.len = CR_HDR_SIZE + plen;
	req.data = payload;
	if (plen < 0 || cr_unpack_u32(&req, &version) || version != CR_PROTO_VERSION ||
	    cr_unpack_u32(&req, &cmd) || cr_unpack_u32(&req, &jobid) ||
	    cr_unpack_u32(&req, &flags) || cr_unpack_done(&req) || cmd == 0 ||
	    cmd >= CR_CTL_MAXCMD) {
		log_warnx("ctl: uid %u: malformed request (%d bytes): closing", uid, plen);
		goto out;
	}
	_handle(fd, uid, cmd, jobid, slurm_uid);
out:
	free(payload);
	cr_msg_free(&m);
}
