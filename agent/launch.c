// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cr-rsh's requests, on the caller's node and on the target node (launch.h).
 * The caller must be in a job's container: its pid namespace is that of the
 * container's init (any process there is the job's: nothing else enters it),
 * its uid the job's owner. The target must be a node of that job with a
 * non-batch slot of it; the command runs there as the slot root runs, as
 * the job's owner, below the slot root, in the slot's namespaces.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "coordio.h"
#include "errmsg.h"
#include "jobstat.h"
#include "launch.h"
#include "log.h"
#include "rshreq.h"

#define LAUNCH_TIMEOUT_S 30

static int _pidns(pid_t pid, ino_t *ino)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	if (stat(path, &st) < 0)
		return -errno;
	*ino = st.st_ino;
	return 0;
}

/* The job whose container's pid namespace pid is in: its status into js. */
static int _job_of(const struct crd_ctx *ctx, pid_t pid, struct job_status *js)
{
	ino_t want = 0, ino = 0;
	struct dirent *d;
	uint32_t jobid, unit;
	DIR *dir;
	int ret = -ESRCH;

	memset(js, 0, sizeof(*js));
	if (_pidns(pid, &want))
		return -ESRCH;
	dir = opendir(ctx->conf.state_dir);
	if (!dir)
		return -errno;
	while (ret && (d = readdir(dir))) {
		if (jobstat_parse_name(d->d_name, &jobid, &unit))
			continue;
		if (jobstat_get(ctx, jobid, unit, js) == 0 && js->init_pid > 0 &&
		    _pidns(js->init_pid, &ino) == 0 && ino == want)
			ret = 0;
	}
	closedir(dir);
	return ret;
}

/* HOST among the job's nodes. */
static int _job_node(const struct job_status *js, const char *host)
{
	static char names[MAX_NODES][128];
	size_t n = coordio_expand(js->ji.nodelist, names, MAX_NODES);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], host))
			return 0;
	return -ENOENT;
}

/* The request as the node door carries it (JSON); env entries JSON cannot hold are left out. */
static json_t *_req_json(const struct rsh_req *r)
{
	json_t *env = json_array(), *o;

	for (uint32_t i = 0; env && i < r->nenv; i++) {
		json_t *s = json_string(r->env[i]);
		if (s)
			json_array_append_new(env, s);
	}
	o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:o}", "host", r->host, "cmd", r->cmd,
		      "cwd", r->cwd, "addr", r->addr, "port", (json_int_t)r->port, "cookie",
		      r->cookie, "flags", (json_int_t)r->flags, "env", env ? env : json_array());
	return o;
}

static int _req_from_json(json_t *a, struct rsh_req *r)
{
	json_t *env = json_object_get(a, "env");

	memset(r, 0, sizeof(*r));
	r->host = json_string_value(json_object_get(a, "host"));
	r->cmd = json_string_value(json_object_get(a, "cmd"));
	r->cwd = json_string_value(json_object_get(a, "cwd"));
	r->addr = json_string_value(json_object_get(a, "addr"));
	r->cookie = json_string_value(json_object_get(a, "cookie"));
	r->port = json_integer_value(json_object_get(a, "port"));
	r->flags = json_integer_value(json_object_get(a, "flags"));
	r->nenv = json_array_size(env);
	if (!r->host || !r->cmd || !r->cwd || !r->addr || !r->cookie || r->nenv > RSH_MAX_ENV)
		return -EPROTO;
	r->env = calloc(r->nenv + 1, sizeof(*r->env));
	if (!r->env)
		return -ENOMEM;
	for (uint32_t i = 0; i < r->nenv; i++)
		r->env[i] = json_string_value(json_array_get(env, i)) ?: "";
	return 0;
}

/*
 * The slot root's socket, resolved inside the container's root (never
 * through a link the job made), connected as root through the O_PATH fd.
 */
static int _slot_connect(pid_t init, char *err, size_t errlen)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
					  RESOLVE_NO_MAGICLINKS};
	char path[64];
	struct stat st;
	int root, fd, ret;

	snprintf(path, sizeof(path), "/proc/%d/root", init);
	root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return err_set(err, errlen, -errno, "cannot open the container's root");
	fd = syscall(SYS_openat2, root, &SLOT_SOCK_PATH[1], &how, sizeof(how));
	ret = fd < 0 ? -errno : 0;
	close(root);
	if (!ret && (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)))
		ret = -ENOTSOCK;
	if (ret) {
		if (fd >= 0)
			close(fd);
		return err_set(err, errlen, ret, "no slot root listens in the container (%s): %s",
			       SLOT_SOCK_PATH, strerror(-ret));
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ret = cr_unix_connect(path);
	close(fd);
	if (ret < 0)
		return err_set(err, errlen, ret, "cannot reach the slot root: %s", strerror(-ret));
	return ret;
}

/* This node's slot of jobid starts the command: 0, or -errno with err. */
static int _to_slot(const struct crd_ctx *ctx, uint32_t jobid, const struct rsh_req *r, char *err,
		    size_t errlen)
{
	struct job_status js;
	struct cr_buf b;
	uint32_t code;
	int fd, ret;

	if (jobstat_get(ctx, jobid, 0, &js) || js.init_pid <= 0)
		return err_set(err, errlen, -ENOENT, "job %u has no container on node %s", jobid,
			       ctx->conf.node_name);
	if (js.ji.batch)
		return err_set(err, errlen, -EINVAL,
			       "node %s is job %u's batch host: run the command there directly",
			       ctx->conf.node_name, jobid);
	fd = _slot_connect(js.init_pid, err, errlen);
	if (fd < 0)
		return fd;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){LAUNCH_TIMEOUT_S, 0},
		   sizeof(struct timeval));
	cr_buf_init(&b);
	rsh_req_pack(&b, r);
	ret = cr_send(fd, CR_MSG_RSH, &b, NULL, 0);
	cr_buf_free(&b);
	if (!ret)
		ret = cr_recv_reply(fd, &code, err, errlen);
	close(fd);
	if (ret)
		return err_set(err, errlen, ret, "the slot root did not answer: %s",
			       strerror(-ret));
	return code ? -EREMOTEIO : 0;
}

void launch_exec(const struct crd_ctx *ctx, struct cr_chan *ch, uint32_t jobid, json_t *args)
{
	struct rsh_req r;
	char err[1024] = "";
	int ret;

	ret = _req_from_json(args, &r);
	if (ret) {
		cr_chan_send_err(ch, CR_E_PROTO, "bad launch request");
		return;
	}
	ret = _to_slot(ctx, jobid, &r, err, sizeof(err));
	if (ret) {
		log_warnx("job %u: cr-rsh: cannot start \"%.80s\": %s", jobid, r.cmd, err);
		cr_chan_send_err(ch, ret == -ENOENT ? CR_E_NOJOB : CR_E_FAILED, "node %s: %s",
				 ctx->conf.node_name, err);
	} else {
		log_info("job %u: cr-rsh: started \"%.80s\" for %s:%u", jobid, r.cmd, r.addr,
			 r.port);
		cr_chan_send_ok(ch, "started");
	}
	free(r.env);
}

/* The request to HOST's crd (or this node's slot, when HOST is this node). */
static int _forward(const struct crd_ctx *ctx, uint32_t jobid, const struct rsh_req *r, char *err,
		    size_t errlen)
{
	struct cr_chan ch;
	json_t *a;
	uint32_t code;
	int ret;

	if (!strcmp(r->host, ctx->conf.node_name))
		return _to_slot(ctx, jobid, r, err, errlen);
	a = _req_json(r);
	if (!a)
		return err_set(err, errlen, -ENOMEM, "out of memory");
	ret = coordio_node_open(ctx, r->host, CR_NODE_EXEC, jobid, a, &ch, err, errlen);
	json_decref(a);
	if (ret)
		return ret;
	setsockopt(ch.fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){LAUNCH_TIMEOUT_S + 5, 0},
		   sizeof(struct timeval));
	ret = cr_chan_recv_reply(&ch, &code, err, errlen);
	if (ret == -EBADMSG)
		log_warnx("job %u: cr-rsh: %s from node %s refused: %s", jobid,
			  cr_msg_name(ch.bad_type), r->host, ch.why);
	close(ch.fd);
	cr_chan_fini(&ch);
	if (ret)
		return err_set(err, errlen, ret, "crd on node %s did not answer: %s", r->host,
			       strerror(-ret));
	return code ? -EREMOTEIO : 0;
}

/* Who asks: a process of jobid's owner inside that job's container. 0 or -EPERM with why. */
static int _check_caller(const struct crd_ctx *ctx, int fd, struct job_status *js, pid_t *pid,
			 char *why, size_t len)
{
	struct ucred uc;
	socklen_t ulen = sizeof(uc);
	int pidfd, ret = -EPERM;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ulen) < 0)
		return err_set(why, len, -EPERM, "no peer credentials");
	*pid = uc.pid;
	/* Held across the checks: the pid names the same process after them. */
	pidfd = syscall(SYS_pidfd_open, uc.pid, 0);
	if (pidfd < 0)
		return err_set(why, len, -EPERM, "pid %d went away", uc.pid);
	if (_job_of(ctx, uc.pid, js))
		err_set(why, len, -EPERM, "pid %d is not inside a checkpointable job's container",
			uc.pid);
	else if (uc.uid != js->ji.uid)
		err_set(why, len, -EPERM, "uid %u is not job %u's owner (uid %u)", uc.uid,
			js->ji.jobid, js->ji.uid);
	else if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		err_set(why, len, -EPERM, "pid %d went away", uc.pid);
	else
		ret = 0;
	close(pidfd);
	return ret;
}

void launch_request(const struct crd_ctx *ctx, int fd, struct cr_msg *m)
{
	struct job_status js = {0};
	struct rsh_req r;
	char err[1024] = "";
	pid_t pid = 0;
	int ret;

	if (rsh_req_unpack(m, &r)) {
		log_warnx("bad RSH request (%u bytes): closing", m->hdr.len);
		return;
	}
	ret = _check_caller(ctx, fd, &js, &pid, err, sizeof(err));
	if (ret) {
		log_warnx("cr-rsh: refusing pid %d: %s", pid, err);
		cr_send_err(fd, CR_E_PERM, "%s: refused: %s", r.host, err);
		goto out;
	}
	if (_job_node(&js, r.host)) {
		cr_send_err(fd, CR_E_FAILED, "%s: not a node of job %u (its nodes: %s)", r.host,
			    js.ji.jobid, js.ji.nodelist);
		goto out;
	}
	ret = _forward(ctx, js.ji.jobid, &r, err, sizeof(err));
	if (ret) {
		log_warnx("job %u: cr-rsh from pid %d to %s: %s", js.ji.jobid, pid, r.host, err);
		cr_send_err(fd, CR_E_FAILED, "%s: %s", r.host, err);
	} else {
		cr_send_ok(fd, "started");
	}
out:
	free(r.env);
}
