// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A node's part in a job-wide checkpoint or restore, served by a crd worker:
 * the single-threaded helper that calls libcr. One coordinator connection
 * carries the whole exchange, so a coordinator that goes away is noticed:
 *
 *	checkpoint: NODE(PREPARE) -> freeze, hold   DUMP -> image, tmpfs, output
 *	            RELEASE(RESUME | KILL)
 *	restore:    NODE(RESTORE) -> verify, rebuild (stopped)
 *	            RELEASE(RESUME | ABORT)
 *
 * A lost connection or a timeout releases the job as it was: a held tree
 * resumes, a rebuilt one is aborted. Job files are opened with the job
 * user's fs credentials; only /proc and the MAC key are read as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cr.h>

#include "cr_archive.h"
#include "glue.h"
#include "jobstat.h"
#include "log.h"
#include "node.h"
#include "proto.h"
#include "store.h"

/* What the job's monitor says about its container here. */
struct node_job {
	uint32_t jobid, slot, uid, gid;
	pid_t init, relay, script; /* host pids; script 0 when none runs */
	int batch;
	enum job_state state;
	char hostname[64];
};

static pid_t _ns_pid(pid_t pid)
{
	char path[64], line[256];
	pid_t last = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "NSpid:", 6))
			continue;
		for (char *p = line + 6, *e; *p; p = e) {
			long v = strtol(p, &e, 10);
			if (e == p)
				break;
			last = v;
		}
	}
	fclose(f);
	return last;
}

/*
 * The script's host pid among the init's children. Anything else there was
 * orphaned into the init: outside the tree a checkpoint can hold.
 */
static int _find_script(struct node_job *j, pid_t ns_script, char *err, size_t errlen)
{
	char path[64], buf[4096], comm[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", j->init, j->init);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -EIO;
	}
	buf[n] = '\0';
	j->script = 0;
	for (char *p = buf, *e; *p; p = e) {
		pid_t pid = strtol(p, &e, 10);
		if (e == p)
			break;
		if (ns_script && _ns_pid(pid) == ns_script) {
			j->script = pid;
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd >= 0 ? read(fd, comm, sizeof(comm) - 1) : 0;
		if (fd >= 0)
			close(fd);
		comm[n > 0 ? n - 1 : 0] = '\0';
		snprintf(err, errlen,
			 "process %d (%s) left its parent and was adopted by the container's init: "
			 "only the batch script's process tree can be checkpointed",
			 _ns_pid(pid), comm);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int _job_info(const struct crd_ctx *ctx, uint32_t jobid, struct node_job *j,
		     pid_t *ns_script, char *err, size_t errlen)
{
	struct job_status st;

	if (jobstat_get(ctx, jobid, &st)) {
		snprintf(err, errlen, "job %u has no container on node %s", jobid,
			 ctx->conf.node_name);
		return -ENOENT;
	}
	memset(j, 0, sizeof(*j));
	j->jobid = jobid;
	j->slot = st.ji.slot;
	j->uid = st.ji.uid;
	j->gid = st.ji.gid;
	j->init = st.init_pid;
	j->relay = st.relay_pid;
	j->batch = st.ji.batch;
	*ns_script = st.script_pid;
	j->state = st.state;
	snprintf(j->hostname, sizeof(j->hostname), "%s", st.ji.hostname);
	return 0;
}

/* Wait for the coordinator's next message; -ETIMEDOUT or -ECONNRESET when it is gone. */
static int _next(int fd, struct cr_msg *m)
{
	int ret = cr_recv(fd, m);

	if (ret == -EAGAIN || ret == -EWOULDBLOCK)
		ret = -ETIMEDOUT;
	return ret;
}

static int _json_reply(int fd, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	int ret;

	if (!s)
		return cr_send_err(fd, CR_E_FAILED, "out of memory");
	ret = cr_send_ok(fd, s);
	free(s);
	return ret;
}

/* CLOCK_MONOTONIC and CLOCK_BOOTTIME as the task sees them (its time namespace). */
static int _task_clocks(pid_t pid, json_t *out)
{
	char path[64], name[32];
	long long sec, nsec, off[2] = {0, 0};
	struct timespec ts;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/timens_offsets", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%31s %lld %lld", name, &sec, &nsec) == 3) {
		if (!strcmp(name, "monotonic") || !strcmp(name, "1"))
			off[0] = sec * 1000000000LL + nsec;
		else if (!strcmp(name, "boottime") || !strcmp(name, "7"))
			off[1] = sec * 1000000000LL + nsec;
	}
	fclose(f);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	json_object_set_new(out, "monotonic",
			    json_integer(ts.tv_sec * 1000000000LL + ts.tv_nsec + off[0]));
	clock_gettime(CLOCK_BOOTTIME, &ts);
	json_object_set_new(out, "boottime",
			    json_integer(ts.tv_sec * 1000000000LL + ts.tv_nsec + off[1]));
	return 0;
}

/* An fd the relay holds (the job's stdout or stderr), as O_PATH: reopened as the user. */
static int _relay_fd(pid_t relay, int n)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", relay, n);
	return open(path, O_PATH | O_CLOEXEC);
}

static int _reopen(int pathfd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", pathfd);
	return open(path, flags | O_CLOEXEC);
}

static int _archive_into(int nodefd, const char *name, int srcdir, json_t *rep, char *err,
			 size_t errlen)
{
	uint64_t n = 0, skipped = 0;
	int out, ret;

	out = openat(nodefd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create %s: %s", name, strerror(errno));
		return ret;
	}
	ret = archive_save_tree(srcdir, out, &n, &skipped, err, errlen);
	close(out);
	if (!ret && skipped)
		log_info("%s: %llu sockets not saved", name, (unsigned long long)skipped);
	if (!ret)
		json_object_set_new(rep, name, json_integer(n));
	return ret;
}

/* Append what the job wrote to stdout (and stderr, when another file) since the last commit. */
static int _save_output(int jobfd, int pathfd[2], json_t *args, json_t *rep, char *err,
			size_t errlen)
{
	static const char *const names[2] = {"stdout", "stderr"};
	struct stat st[2];
	char digest[STORE_DIGEST_HEX], path[64], target[PATH_MAX];
	uint64_t len;
	ssize_t n;
	int fd, ret;

	for (int i = 0; i < 2; i++) {
		if (pathfd[i] < 0 || fstat(pathfd[i], &st[i]) < 0 || !S_ISREG(st[i].st_mode))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", pathfd[i]);
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		if (i == 1 && pathfd[0] >= 0 && st[0].st_dev == st[1].st_dev &&
		    st[0].st_ino == st[1].st_ino) {
			json_object_set_new(
				rep, "stderr",
				json_pack("{s:s, s:s}", "same", "stdout", "path", target));
			continue;
		}
		fd = _reopen(pathfd[i], O_RDONLY);
		if (fd < 0) {
			ret = -errno;
			snprintf(err, errlen, "cannot read the job's %s (%.500s): %s", names[i],
				 target, strerror(errno));
			return ret;
		}
		ret = store_output_save(jobfd, names[i], fd,
					json_integer_value(json_object_get(args, names[i])), &len,
					digest, err, errlen);
		close(fd);
		if (ret)
			return ret;
		json_object_set_new(rep, names[i],
				    json_pack("{s:I, s:s, s:s}", "len", (json_int_t)len, "blake2b",
					      digest, "path", target));
	}
	return 0;
}

static int _dump(const struct crd_ctx *ctx, struct node_job *j, struct cr_frozen *frozen,
		 json_t *args, json_t *rep, char *err, size_t errlen)
{
	const char *ckdir = json_string_value(json_object_get(args, "ckdir"));
	const char *tmp = json_string_value(json_object_get(args, "tmp"));
	int tmpfd = -1, shmfd = -1, jobfd = -1, nodefd = -1, outfd[2] = {-1, -1}, logfd, ret;
	struct job_user u;
	json_t *files = NULL, *clocks;
	char path[PATH_MAX];
	uint64_t bytes = 0;

	if (!ckdir || !tmp || strchr(tmp, '/') || strncmp(tmp, ".tmp-", 5)) {
		snprintf(err, errlen, "bad DUMP arguments");
		return -EPROTO;
	}
	/* As root: the container's tmpfs, through its init, and the relay's stdio. */
	snprintf(path, sizeof(path), "/proc/%d/root/tmp", j->init);
	tmpfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/root/dev/shm", j->init);
	shmfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tmpfd < 0 || shmfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the container's /tmp and /dev/shm: %s",
			 strerror(errno));
		goto out;
	}
	if (j->batch && j->relay > 0) {
		outfd[0] = _relay_fd(j->relay, 1);
		outfd[1] = _relay_fd(j->relay, 2);
	}
	clocks = json_object();
	if (frozen && _task_clocks(j->script, clocks) < 0)
		log_warn("job %u: cannot read the clocks of pid %d", j->jobid, j->script);
	json_object_set_new(rep, "clocks", clocks);
	ret = user_lookup(j->uid, j->gid, &u, err, errlen);
	if (!ret)
		ret = user_fs_enter(&u, err, errlen);
	if (ret)
		goto out;
	jobfd = store_job_open(ckdir, j->jobid, 0, err, errlen);
	if (jobfd < 0) {
		ret = jobfd;
		goto out_user;
	}
	snprintf(path, sizeof(path), "%s/node-%u", tmp, j->slot);
	nodefd = store_open_dir(jobfd, path, 1, err, errlen);
	if (nodefd < 0) {
		ret = nodefd;
		goto out_user;
	}
	if (frozen) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d/image", nodefd);
		logfd = libcr_log_begin();
		ret = cr_dump(frozen, path);
		libcr_log_end(logfd, err, errlen);
		if (ret) {
			if (!*err)
				snprintf(err, errlen, "dump failed: %s", strerror(-ret));
			goto out_user;
		}
	}
	fault_point(ctx, "dump");
	ret = _archive_into(nodefd, "tmp.tar", tmpfd, rep, err, errlen);
	if (!ret)
		ret = _archive_into(nodefd, "shm.tar", shmfd, rep, err, errlen);
	if (!ret && j->batch)
		ret = _save_output(jobfd, outfd, args, rep, err, errlen);
	if (!ret)
		ret = store_digest_tree(nodefd, &files, &bytes, err, errlen);
	if (!ret) {
		json_object_set_new(rep, "files", files);
		json_object_set_new(rep, "bytes", json_integer(bytes));
	}
out_user:
	user_fs_leave();
out:
	for (int i = 0; i < 2; i++)
		if (outfd[i] >= 0)
			close(outfd[i]);
	if (nodefd >= 0)
		close(nodefd);
	if (jobfd >= 0)
		close(jobfd);
	if (tmpfd >= 0)
		close(tmpfd);
	if (shmfd >= 0)
		close(shmfd);
	return ret;
}

static void _checkpoint(const struct crd_ctx *ctx, int fd, uint32_t jobid, json_t *args)
{
	const char *node = ctx->conf.node_name;
	struct cr_frozen *frozen = NULL;
	struct cr_freeze_opts fo = {0};
	enum cr_release_mode mode = CR_RESUME;
	struct node_job j;
	struct cr_msg m;
	const char *text;
	uint32_t how;
	json_t *dargs, *rep;
	pid_t ns_script;
	char err[1024] = "";
	int logfd, ret, maxwait;

	maxwait = json_integer_value(json_object_get(args, "maxwait"));
	if (maxwait <= 0)
		maxwait = ctx->conf.max_wait;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){maxwait, 0},
		   sizeof(struct timeval));
	if (_job_info(ctx, jobid, &j, &ns_script, err, sizeof(err))) {
		cr_send_err(fd, CR_E_NOJOB, "%s", err);
		return;
	}
	if (json_integer_value(json_object_get(args, "slot")) != j.slot) {
		cr_send_err(fd, CR_E_FAILED, "node %s holds slot %u of job %u, not slot %lld", node,
			    j.slot, jobid,
			    (long long)json_integer_value(json_object_get(args, "slot")));
		return;
	}
	if (j.state == JS_RUNNING) {
		if (_find_script(&j, ns_script, err, sizeof(err))) {
			cr_send_err(fd, CR_E_NOTSUP, "node %s: %s", node, err);
			return;
		}
	} else if (j.state != JS_IDLE) {
		cr_send_err(fd, CR_E_FAILED, "node %s: job %u's container is %s", node, jobid,
			    jobstat_state_name(j.state));
		return;
	}
	if (j.script > 0) {
		fo.timeout_ms = maxwait * 1000;
		logfd = libcr_log_begin();
		ret = cr_freeze(j.script, &fo, &frozen);
		libcr_log_end(logfd, err, sizeof(err));
		/* Orphans made while we froze the tree are as bad as earlier ones. */
		if (!ret && _find_script(&j, ns_script, err, sizeof(err))) {
			cr_release(frozen, CR_RESUME);
			cr_send_err(fd, CR_E_NOTSUP, "node %s: %s", node, err);
			return;
		}
		if (ret) {
			cr_send_err(fd, CR_E_FAILED, "node %s: cannot freeze job %u: %s", node,
				    jobid, *err ? err : strerror(-ret));
			return;
		}
	}
	log_info("job %u: slot %u frozen (%zu tasks)", jobid, j.slot,
		 frozen ? cr_frozen_ntasks(frozen) : 0);
	fault_point(ctx, "prepare");
	cr_send_ok(fd, "frozen");
	rep = json_pack("{s:s, s:i, s:I, s:s}", "node", node, "slot", (int)j.slot, "ntasks",
			(json_int_t)(frozen ? cr_frozen_ntasks(frozen) : 0), "hostname",
			j.hostname);
	for (;;) {
		ret = _next(fd, &m);
		if (ret) {
			log_warnx("job %u: the coordinator went away (%s): resuming the job", jobid,
				  strerror(-ret));
			break;
		}
		if (m.hdr.type == CR_MSG_DUMP && !cr_unpack_str(&m, &text) && !cr_unpack_done(&m) &&
		    (dargs = json_loads(text, 0, NULL))) {
			err[0] = '\0';
			ret = _dump(ctx, &j, frozen, dargs, rep, err, sizeof(err));
			json_decref(dargs);
			if (ret)
				cr_send_err(fd, ret == -EBADMSG ? CR_E_BADIMG : CR_E_FAILED,
					    "node %s: %s", node, err);
			else
				_json_reply(fd, rep);
			cr_msg_free(&m);
			continue;
		}
		if (m.hdr.type == CR_MSG_RELEASE && !cr_unpack_u32(&m, &how) &&
		    !cr_unpack_done(&m)) {
			mode = how == CR_REL_KILL ? CR_KILL : CR_RESUME;
			cr_msg_free(&m);
			break;
		}
		log_warnx("job %u: unexpected %s from the coordinator: resuming the job", jobid,
			  cr_msg_name(m.hdr.type));
		cr_msg_free(&m);
		break;
	}
	if (frozen)
		cr_release(frozen, mode);
	log_info("job %u: slot %u %s", jobid, j.slot, mode == CR_KILL ? "killed" : "resumed");
	cr_send_ok(fd, mode == CR_KILL ? "killed" : "resumed");
	json_decref(rep);
}

/* The saved output <jobdir>/name holds what the manifest says (checked, not copied). */
static int _check_output(int jobfd, const char *name, json_t *o, char *err, size_t errlen)
{
	return store_output_restore(jobfd, name, json_integer_value(json_object_get(o, "len")),
				    json_string_value(json_object_get(o, "blake2b")), -1, err,
				    errlen);
}

/* Rewrite the job's stdout/stderr as they were at the checkpoint. */
static int _restore_output(int jobfd, int pathfd[2], json_t *man, char *err, size_t errlen)
{
	static const char *const names[2] = {"stdout", "stderr"};
	json_t *o;
	int fd, ret;

	for (int i = 0; i < 2; i++) {
		o = json_object_get(man, names[i]);
		if (!o || json_object_get(o, "same") || pathfd[i] < 0)
			continue;
		fd = _reopen(pathfd[i], O_WRONLY | O_APPEND);
		if (fd < 0) {
			ret = -errno;
			snprintf(err, errlen, "cannot open the job's %s: %s", names[i],
				 strerror(errno));
			return ret;
		}
		ret = store_output_restore(
			jobfd, names[i], json_integer_value(json_object_get(o, "len")),
			json_string_value(json_object_get(o, "blake2b")), fd, err, errlen);
		close(fd);
		if (ret)
			return ret;
	}
	return 0;
}

static int _ask_init(const struct crd_ctx *ctx, uint32_t jobid, uint32_t type, struct cr_buf *b,
		     int *fds, int nfds, int timeout, char *text, size_t len)
{
	uint32_t code;
	int ret;

	ret = jobstat_ask(ctx, jobid, type, b, fds, nfds, timeout, &code, text, len);
	if (ret) {
		snprintf(text, len, "the job's monitor did not answer: %s", strerror(-ret));
		return ret;
	}
	return code ? -EIO : 0;
}

static void _restore(const struct crd_ctx *ctx, int fd, uint32_t jobid, json_t *args)
{
	const char *node = ctx->conf.node_name;
	const char *ckdir = json_string_value(json_object_get(args, "ckdir"));
	uint32_t src = json_integer_value(json_object_get(args, "src"));
	uint32_t seq = json_integer_value(json_object_get(args, "seq"));
	uint32_t slot = json_integer_value(json_object_get(args, "slot"));
	int jobfd = -1, nodefd = -1, outfd[2] = {-1, -1}, maxwait, ret, code = CR_E_FAILED;
	uint8_t key[STORE_KEY_LEN];
	struct job_user u;
	struct node_job j;
	struct cr_buf b;
	struct cr_msg m;
	json_t *man = NULL, *so, *req;
	pid_t ns_script;
	uint32_t how = CR_REL_ABORT;
	char err[1024] = "", path[64], *s;

	maxwait = json_integer_value(json_object_get(args, "maxwait"));
	if (maxwait <= 0)
		maxwait = ctx->conf.max_wait;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){maxwait, 0},
		   sizeof(struct timeval));
	if (!ckdir || !seq) {
		cr_send_err(fd, CR_E_PROTO, "bad RESTORE arguments");
		return;
	}
	if (_job_info(ctx, jobid, &j, &ns_script, err, sizeof(err))) {
		cr_send_err(fd, CR_E_NOJOB, "%s", err);
		return;
	}
	if (j.state != JS_IDLE && j.state != JS_RESTORING) {
		cr_send_err(fd, CR_E_FAILED, "node %s: job %u's container is %s", node, jobid,
			    jobstat_state_name(j.state));
		return;
	}
	if (store_key_load(ctx->conf.key_file, key, err, sizeof(err)) ||
	    user_lookup(j.uid, j.gid, &u, err, sizeof(err))) {
		cr_send_err(fd, CR_E_FAILED, "node %s: %s", node, err);
		return;
	}
	if (slot == 0 && j.relay > 0) {
		outfd[0] = _relay_fd(j.relay, 1);
		outfd[1] = _relay_fd(j.relay, 2);
	}
	if (user_fs_enter(&u, err, sizeof(err))) {
		cr_send_err(fd, CR_E_FAILED, "node %s: %s", node, err);
		goto out;
	}
	jobfd = store_job_open(ckdir, src, 0, err, sizeof(err));
	if (jobfd < 0)
		goto refuse;
	ret = store_load(jobfd, seq, key, &man, err, sizeof(err));
	if (ret) {
		code = CR_E_BADIMG;
		goto refuse;
	}
	so = json_array_get(json_object_get(man, "slots"), slot);
	snprintf(path, sizeof(path), "%u/node-%u", seq, slot);
	nodefd = store_open_dir(jobfd, path, 0, err, sizeof(err));
	if (!so || nodefd < 0) {
		code = CR_E_BADIMG;
		if (!so)
			snprintf(err, sizeof(err), "checkpoint %u has no slot %u", seq, slot);
		goto refuse;
	}
	if (store_check_tree(nodefd, json_object_get(so, "files"), err, sizeof(err))) {
		code = CR_E_BADIMG;
		goto refuse;
	}
	if (slot == 0) {
		for (int i = 0; i < 2; i++) {
			json_t *o = json_object_get(man, i ? "stderr" : "stdout");
			if (o && !json_object_get(o, "same") &&
			    _check_output(jobfd, i ? "stderr" : "stdout", o, err, sizeof(err))) {
				code = CR_E_BADIMG;
				goto refuse;
			}
		}
	}
	user_fs_leave();
	req = json_pack("{s:I, s:I, s:s, s:O, s:I}", "seq", (json_int_t)seq, "ntasks",
			json_integer_value(json_object_get(so, "ntasks")), "hostname",
			json_string_value(json_object_get(so, "hostname"))
				? json_string_value(json_object_get(so, "hostname"))
				: j.hostname,
			"clocks", json_object_get(so, "clocks") ?: json_null(), "src",
			(json_int_t)src);
	s = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	cr_buf_init(&b);
	cr_pack_str(&b, s ? s : "{}");
	free(s);
	err[0] = '\0';
	fault_point(ctx, "restore");
	ret = _ask_init(ctx, jobid, CR_MSG_RESTORE, &b, &nodefd, 1, maxwait, err, sizeof(err));
	cr_buf_free(&b);
	if (ret) {
		cr_send_err(fd, CR_E_FAILED, "node %s: %s", node, err);
		goto out;
	}
	log_info("job %u: slot %u rebuilt from checkpoint %u of job %u", jobid, slot, seq, src);
	cr_send_ok(fd, "restored");
	ret = _next(fd, &m);
	if (ret) {
		log_warnx("job %u: the coordinator went away (%s): undoing the restore", jobid,
			  strerror(-ret));
	} else {
		if (m.hdr.type != CR_MSG_RELEASE || cr_unpack_u32(&m, &how) || cr_unpack_done(&m))
			how = CR_REL_ABORT;
		cr_msg_free(&m);
	}
	err[0] = '\0';
	if (how == CR_REL_RESUME && slot == 0) {
		ret = user_fs_enter(&u, err, sizeof(err));
		if (!ret)
			ret = _restore_output(jobfd, outfd, man, err, sizeof(err));
		user_fs_leave();
		if (ret)
			how = CR_REL_ABORT;
	}
	cr_buf_init(&b);
	cr_pack_u32(&b, how == CR_REL_RESUME);
	ret = _ask_init(ctx, jobid, CR_MSG_RESUME, &b, NULL, 0, maxwait, err + strlen(err),
			sizeof(err) - strlen(err));
	cr_buf_free(&b);
	if (how == CR_REL_RESUME && !ret) {
		log_info("job %u: slot %u resumed from checkpoint %u", jobid, slot, seq);
		cr_send_ok(fd, "resumed");
	} else {
		cr_send_err(fd, CR_E_FAILED, "node %s: %s", node, *err ? err : "restore undone");
	}
	goto out;
refuse:
	user_fs_leave();
	log_warnx("job %u: checkpoint %u of job %u refused here: %s", jobid, seq, src, err);
	cr_send_err(fd, code, "node %s: %s", node, err);
out:
	for (int i = 0; i < 2; i++)
		if (outfd[i] >= 0)
			close(outfd[i]);
	if (nodefd >= 0)
		close(nodefd);
	if (jobfd >= 0)
		close(jobfd);
	json_decref(man);
	sodium_memzero(key, sizeof(key));
}

void node_request(const struct crd_ctx *ctx, int fd, uint32_t op, uint32_t jobid,
		  const char *args_text)
{
	json_t *args = json_loads(args_text, 0, NULL);

	if (!json_is_object(args)) {
		cr_send_err(fd, CR_E_PROTO, "bad node request arguments");
		json_decref(args);
		return;
	}
	switch (op) {
	case CR_NODE_PREPARE:
		_checkpoint(ctx, fd, jobid, args);
		break;
	case CR_NODE_RESTORE:
		_restore(ctx, fd, jobid, args);
		break;
	default:
		cr_send_err(fd, CR_E_PROTO, "unknown node request %u", op);
	}
	json_decref(args);
}
