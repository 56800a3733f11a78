// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The coordinator of a job-wide checkpoint or restore: runs on the job's
 * batch host, in a crd worker (crctl) or a child of the job's monitor
 * (periodic checkpoints, restore at start), and talks to every node's crd
 * (node.c), itself included, over one connection per node:
 *
 *	checkpoint: PREPARE all -> DUMP all -> COMMIT (manifest, rename,
 *	            latest) -> RELEASE(RESUME, or KILL for vacate/requeue)
 *	restore:    newest checkpoint first: RESTORE all -> RELEASE(RESUME);
 *	            one that does not verify is set aside and the next tried
 *
 * Any failure or timeout aborts: every node lets its part go as it was and
 * the temporary directory is removed; what was committed is never touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <munge.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <slurm/slurm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cr.h>

#include "coord.h"
#include "errmsg.h"
#include "glue.h"
#include "log.h"
#include "proto.h"
#include "store.h"

#define MAX_NODES 256

struct peer {
	char node[128];
	uint32_t slot;
	int fd;
	int done;
	uint32_t code;
	json_t *reply;
};

struct coord {
	const struct crd_ctx *ctx;
	uint32_t jobid;
	struct peer peers[MAX_NODES];
	size_t npeers;
	int maxwait;
	coord_progress_fn progress;
	void *arg;
	char err[2048];
};

static double _now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void _progress(struct coord *c, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (!c->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	c->progress(buf, c->arg);
}

static int _node_addr(const char *node, char *addr, size_t len)
{
	node_info_msg_t *ni = NULL;

	if (slurm_load_node_single(&ni, (char *)node, SHOW_ALL) == 0 && ni &&
	    ni->record_count == 1 && ni->node_array[0].node_addr)
		snprintf(addr, len, "%s", ni->node_array[0].node_addr);
	else
		snprintf(addr, len, "%s", node);
	if (ni)
		slurm_free_node_info_msg(ni);
	return 0;
}

static int _connect(const struct crd_ctx *ctx, const char *node, char *err, size_t errlen)
{
	char addr[256];
	int fd;

	_node_addr(node, addr, sizeof(addr));
	fd = cr_tcp_connect(addr, ctx->conf.port, 10);
	if (fd == -EHOSTUNREACH)
		snprintf(err, errlen, "cannot resolve node %s (%s)", node, addr);
	else if (fd < 0)
		snprintf(err, errlen, "cannot reach crd on node %s (%s port %u): %s", node, addr,
			 ctx->conf.port, strerror(-fd));
	return fd < 0 ? -EHOSTUNREACH : fd;
}

/* CR_MSG_NODE: the request travels inside a munge credential, so nodes know it is root's. */
static int _send_node(const struct crd_ctx *crd, int fd, uint32_t op, uint32_t jobid, json_t *args)
{
	struct cr_buf req, msg;
	char *cred = NULL, *s;
	munge_ctx_t ctx;
	munge_err_t e;
	int ret;

	s = json_dumps(args, JSON_COMPACT);
	if (!s)
		return -ENOMEM;
	cr_buf_init(&req);
	cr_pack_u32(&req, CR_PROTO_VERSION);
	cr_pack_u32(&req, op);
	cr_pack_u32(&req, jobid);
	cr_pack_str(&req, s);
	free(s);
	ctx = munge_ctx_create();
	if (ctx && *crd->munge_socket)
		munge_ctx_set(ctx, MUNGE_OPT_SOCKET, crd->munge_socket);
	e = ctx ? munge_encode(&cred, ctx, req.data, req.len) : EMUNGE_NO_MEMORY;
	if (ctx)
		munge_ctx_destroy(ctx);
	cr_buf_free(&req);
	if (e != EMUNGE_SUCCESS)
		return -EACCES;
	cr_buf_init(&msg);
	cr_pack_str(&msg, cred);
	free(cred);
	ret = cr_send(fd, CR_MSG_NODE, &msg, NULL, 0);
	cr_buf_free(&msg);
	return ret;
}

static void _peers_close(struct coord *c)
{
	for (size_t i = 0; i < c->npeers; i++) {
		if (c->peers[i].fd >= 0)
			close(c->peers[i].fd);
		c->peers[i].fd = -1;
		json_decref(c->peers[i].reply);
		c->peers[i].reply = NULL;
	}
}

/*
 * One reply from every connected peer, within the deadline. Returns 0 when
 * all said OK, else -EBADMSG (some image does not verify), -ETIMEDOUT or
 * -EIO, the first failure described in c->err.
 */
static int _collect(struct coord *c, int timeout_s)
{
	struct pollfd pfd[MAX_NODES];
	double end = _now() + timeout_s;
	char text[CR_MSG_MAX > 65536 ? 65536 : CR_MSG_MAX];
	int ret = 0, left = 0, n;

	for (size_t i = 0; i < c->npeers; i++) {
		c->peers[i].done = c->peers[i].fd < 0;
		left += !c->peers[i].done;
	}
	while (left > 0) {
		int wait_ms = (int)((end - _now()) * 1000);
		if (wait_ms <= 0) {
			for (size_t i = 0; i < c->npeers; i++)
				if (!c->peers[i].done && !*c->err)
					snprintf(c->err, sizeof(c->err),
						 "node %s did not answer within %d s",
						 c->peers[i].node, timeout_s);
			return ret ? ret : -ETIMEDOUT;
		}
		for (size_t i = 0; i < c->npeers; i++)
			pfd[i] = (struct pollfd){.fd = c->peers[i].done ? -1 : c->peers[i].fd,
						 .events = POLLIN};
		n = poll(pfd, c->npeers, wait_ms);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (size_t i = 0; n > 0 && i < c->npeers; i++) {
			struct peer *p = &c->peers[i];
			int r;

			if (p->done || !pfd[i].revents)
				continue;
			p->done = 1;
			left--;
			r = cr_recv_reply(p->fd, &p->code, text, sizeof(text));
			if (r) {
				close(p->fd);
				p->fd = -1;
				if (!*c->err)
					snprintf(c->err, sizeof(c->err),
						 "lost the connection to crd on node %s (%s)",
						 p->node, strerror(-r));
				ret = ret ? ret : -EIO;
				continue;
			}
			if (p->code) {
				if (!*c->err || (p->code == CR_E_BADIMG && ret != -EBADMSG))
					snprintf(c->err, sizeof(c->err), "%.2000s", text);
				ret = p->code == CR_E_BADIMG ? -EBADMSG : (ret ? ret : -EIO);
				continue;
			}
			json_decref(p->reply);
			p->reply = json_loads(text, 0, NULL);
		}
	}
	return ret;
}

static void _send_all(struct coord *c, uint32_t type, const struct cr_buf *b)
{
	for (size_t i = 0; i < c->npeers; i++)
		if (c->peers[i].fd >= 0 && cr_send(c->peers[i].fd, type, b, NULL, 0)) {
			close(c->peers[i].fd);
			c->peers[i].fd = -1;
		}
}

static void _release_all(struct coord *c, uint32_t how)
{
	struct cr_buf b;
	char saved[sizeof(c->err)];

	cr_buf_init(&b);
	cr_pack_u32(&b, how);
	_send_all(c, CR_MSG_RELEASE, &b);
	cr_buf_free(&b);
	memcpy(saved, c->err, sizeof(saved));
	c->err[0] = '\0';
	if (_collect(c, c->maxwait) && how != CR_REL_ABORT)
		log_warnx("job %u: release: %s", c->jobid, c->err);
	memcpy(c->err, saved, sizeof(saved));
}

static int _start_all(struct coord *c, uint32_t op, json_t *(*args_for)(struct peer *, void *),
		      void *arg)
{
	json_t *a;
	int fd, ret;

	for (size_t i = 0; i < c->npeers; i++) {
		struct peer *p = &c->peers[i];
		fd = _connect(c->ctx, p->node, c->err, sizeof(c->err));
		if (fd < 0)
			return fd;
		p->fd = fd;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){c->maxwait + 30, 0},
			   sizeof(struct timeval));
		a = args_for(p, arg);
		ret = a ? _send_node(c->ctx, fd, op, c->jobid, a) : -ENOMEM;
		json_decref(a);
		if (ret) {
			snprintf(c->err, sizeof(c->err), "cannot send to crd on node %s: %s",
				 p->node, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static size_t _expand(const char *nodelist, char names[][128], size_t max)
{
	hostlist_t hl = slurm_hostlist_create(nodelist);
	size_t n = 0;
	char *h;

	while (hl && n < max && (h = slurm_hostlist_shift(hl))) {
		snprintf(names[n++], 128, "%s", h);
		free(h);
	}
	if (hl)
		slurm_hostlist_destroy(hl);
	return n;
}

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
	o = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:s, s:s, s:s}", "name",
		      j->name ? j->name : "", "partition", j->partition ? j->partition : "",
		      "nodes", (int)j->num_nodes, "ntasks", (int)j->num_tasks, "cpus_per_task",
		      (int)j->cpus_per_task, "time_limit", (int)j->time_limit, "work_dir",
		      j->work_dir ? j->work_dir : "", "account", j->account ? j->account : "",
		      "std_in", j->std_in ? j->std_in : "");
	slurm_free_job_info_msg(jm);
	return o ? o : json_object();
}

struct ckpt_args {
	uint32_t seq;
	const char *ckdir;
	json_t *prev;
	int maxwait;
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

int coord_checkpoint(const struct crd_ctx *ctx, const struct job_status *st,
		     const struct coord_opts *o, json_t **result, char *err, size_t errlen)
{
	const struct cr_conf *conf = &ctx->conf;
	uint32_t jobid = st->ji.jobid;
	struct coord *c = calloc(1, sizeof(*c));
	struct ckpt_args a = {0};
	uint8_t key[STORE_KEY_LEN];
	char names[MAX_NODES][128], ckdir[PATH_MAX], tmp[32];
	struct job_user u;
	json_t *man = NULL, *slots, *r0, *dargs;
	uint32_t prev_seq = 0, uid, gid;
	int lockfd, jobfd = -1, ret, begun = 0;
	double t0 = _now(), t1 = 0, t2 = 0, t3 = 0, t4;
	uint64_t bytes = 0;
	struct cr_buf b;
	char *text;

	if (!c)
		return err_set(err, errlen, -ENOMEM, "out of memory");
	c->ctx = ctx;
	c->jobid = jobid;
	c->progress = o->progress;
	c->arg = o->arg;
	c->maxwait = o->max_wait > 0 ? o->max_wait : (int)conf->max_wait;
	lockfd = _lock(ctx, jobid, c->err, sizeof(c->err));
	if (lockfd < 0) {
		ret = lockfd;
		goto out;
	}
	if (!st->ji.batch) {
		snprintf(c->err, sizeof(c->err), "node %s is not job %u's batch host",
			 conf->node_name, jobid);
		ret = -EINVAL;
		goto out;
	}
	if (st->state != JS_RUNNING) {
		snprintf(c->err, sizeof(c->err), "job %u is not running here (%s)", jobid,
			 jobstat_state_name(st->state));
		ret = -ESRCH;
		goto out;
	}
	if (!st->enabled) {
		snprintf(c->err, sizeof(c->err), "checkpoints of job %u are disabled", jobid);
		ret = -EPERM;
		goto out;
	}
	snprintf(ckdir, sizeof(ckdir), "%s", o->image_dir[0] ? o->image_dir : st->ji.ckpt_dir);
	uid = st->ji.uid;
	gid = st->ji.gid;
	c->npeers = _expand(st->ji.nodelist, names, MAX_NODES);
	if (c->npeers == 0) {
		c->npeers = 1;
		snprintf(names[0], sizeof(names[0]), "%.127s", conf->node_name);
	}
	for (size_t i = 0; i < c->npeers; i++) {
		snprintf(c->peers[i].node, sizeof(c->peers[i].node), "%s", names[i]);
		c->peers[i].slot = i;
		c->peers[i].fd = -1;
	}
	if ((ret = store_key_load(conf->key_file, key, c->err, sizeof(c->err))) ||
	    (ret = user_lookup(uid, gid, &u, c->err, sizeof(c->err))) ||
	    (ret = user_fs_enter(&u, c->err, sizeof(c->err))))
		goto out;
	jobfd = store_job_open(ckdir, jobid, 1, c->err, sizeof(c->err));
	if (jobfd < 0) {
		ret = jobfd;
		goto out_user;
	}
	if (store_load_newest(jobfd, key, &prev_seq, &a.prev))
		a.prev = NULL;
	if ((ret = store_next_seq(jobfd, &a.seq)))
		goto out_user;
	ret = store_begin(jobfd, a.seq, c->err, sizeof(c->err));
	if (ret < 0)
		goto out_user;
	close(ret);
	begun = 1;
	user_fs_leave();
	a.ckdir = ckdir;
	a.maxwait = c->maxwait;

	_progress(c, "checkpoint %u: freezing %zu node%s", a.seq, c->npeers,
		  c->npeers > 1 ? "s" : "");
	ret = _start_all(c, CR_NODE_PREPARE, _prepare_args, &a);
	if (!ret)
		ret = _collect(c, c->maxwait);
	if (ret)
		goto abort;
	t1 = _now();
	_progress(c, "checkpoint %u: dumping", a.seq);
	snprintf(tmp, sizeof(tmp), ".tmp-%u", a.seq);
	dargs = json_pack("{s:s, s:s, s:I, s:I}", "tmp", tmp, "ckdir", ckdir, "stdout",
			  _committed(a.prev, "stdout"), "stderr", _committed(a.prev, "stderr"));
	text = dargs ? json_dumps(dargs, JSON_COMPACT) : NULL;
	json_decref(dargs);
	cr_buf_init(&b);
	cr_pack_str(&b, text ? text : "{}");
	free(text);
	_send_all(c, CR_MSG_DUMP, &b);
	cr_buf_free(&b);
	ret = _collect(c, c->maxwait);
	if (ret)
		goto abort;
	t2 = _now();
	_progress(c, "checkpoint %u: committing", a.seq);
	slots = json_array();
	for (size_t i = 0; i < c->npeers; i++) {
		json_t *r = c->peers[i].reply;
		bytes += json_integer_value(json_object_get(r, "bytes"));
		json_array_append_new(
			slots,
			json_pack("{s:s, s:O, s:I, s:O, s:s, s:O}", "node", c->peers[i].node,
				  "files", json_object_get(r, "files") ?: json_object(), "ntasks",
				  json_integer_value(json_object_get(r, "ntasks")), "clocks",
				  json_object_get(r, "clocks") ?: json_null(), "hostname",
				  json_string_value(json_object_get(r, "hostname")) ?: "", "bytes",
				  json_object_get(r, "bytes") ?: json_integer(0)));
	}
	r0 = c->peers[0].reply;
	man = json_pack("{s:i, s:I, s:I, s:I, s:I, s:o, s:o, s:I, s:s, s:I}", "version", 1, "jobid",
			(json_int_t)jobid, "time", (json_int_t)time(NULL), "uid", (json_int_t)uid,
			"gid", (json_int_t)gid, "slots", slots, "job", _job_desc(jobid), "bytes",
			(json_int_t)bytes, "checkpoint_dir", ckdir, "interval",
			(json_int_t)st->ji.interval);
	if (!man) {
		ret = -ENOMEM;
		snprintf(c->err, sizeof(c->err), "out of memory");
		goto abort;
	}
	json_object_set_new(man, "parent", prev_seq ? json_integer(prev_seq) : json_null());
	if (json_object_get(r0, "stdout"))
		json_object_set(man, "stdout", json_object_get(r0, "stdout"));
	if (json_object_get(r0, "stderr"))
		json_object_set(man, "stderr", json_object_get(r0, "stderr"));
	fault_point(ctx, "commit");
	if ((ret = user_fs_enter(&u, c->err, sizeof(c->err))))
		goto abort;
	ret = store_commit(jobfd, a.seq, man, key, c->err, sizeof(c->err));
	if (ret) {
		user_fs_leave();
		goto abort;
	}
	if (store_prune(jobfd, conf->keep_count ? conf->keep_count : 1, c->err, sizeof(c->err)))
		log_warnx("job %u: pruning old checkpoints: %s", jobid, c->err);
	c->err[0] = '\0';
	user_fs_leave();
	t3 = _now();
	log_info("job %u: checkpoint %u committed (%llu bytes, %zu nodes)", jobid, a.seq,
		 (unsigned long long)bytes, c->npeers);
	if (o->op == COORD_REQUEUE && slurm_requeue(jobid, 0) != 0)
		log_warnx("job %u: requeue: %s", jobid, slurm_strerror(slurm_get_errno()));
	if (o->op == COORD_VACATE && slurm_kill_job(jobid, SIGKILL, 0) != 0)
		log_warnx("job %u: vacate: %s", jobid, slurm_strerror(slurm_get_errno()));
	_progress(c, "checkpoint %u: %s", a.seq,
		  o->op == COORD_CREATE || o->op == COORD_PERIODIC ? "resuming" : "ending the job");
	_release_all(c,
		     o->op == COORD_VACATE || o->op == COORD_REQUEUE ? CR_REL_KILL : CR_REL_RESUME);
	t4 = _now();
	*result = json_pack("{s:I, s:s, s:I, s:I, s:i, s:{s:f, s:f, s:f, s:f}, s:f}", "jobid",
			    (json_int_t)jobid, "op", op_names[o->op], "seq", (json_int_t)a.seq,
			    "bytes", (json_int_t)bytes, "nodes", (int)c->npeers, "phases", "freeze",
			    t1 - t0, "dump", t2 - t1, "commit", t3 - t2, "release", t4 - t3,
			    "total", t4 - t0);
	ret = 0;
	goto out;
abort:
	log_warnx("job %u: checkpoint %u aborted: %s", jobid, a.seq, c->err);
	_release_all(c, CR_REL_RESUME);
	if (user_fs_enter(&u, err, errlen) == 0) {
		if (begun)
			store_abort(jobfd, a.seq);
		_record_error(jobfd, jobid, op_names[o->op], c->err);
	}
out_user:
	user_fs_leave();
out:
	if (ret)
		snprintf(err, errlen, "%s", *c->err ? c->err : strerror(-ret));
	_peers_close(c);
	json_decref(a.prev);
	json_decref(man);
	if (jobfd >= 0)
		close(jobfd);
	if (lockfd >= 0)
		close(lockfd);
	sodium_memzero(key, sizeof(key));
	free(c);
	return ret;
}

struct restore_args {
	const char *ckdir;
	uint32_t src, seq;
	int maxwait;
};

static json_t *_restore_args(struct peer *p, void *arg)
{
	struct restore_args *a = arg;

	return json_pack("{s:s, s:I, s:I, s:i, s:i}", "ckdir", a->ckdir, "src", (json_int_t)a->src,
			 "seq", (json_int_t)a->seq, "slot", (int)p->slot, "maxwait", a->maxwait);
}

/* Try one checkpoint on the new allocation; 0 when the job runs from it. */
static int _restore_one(struct coord *c, json_t *man, struct restore_args *a, char names[][128],
			size_t nnew, const char *batch_host)
{
	json_t *slots = json_object_get(man, "slots");
	size_t nslots = json_array_size(slots), out[MAX_NODES];
	const char *old[MAX_NODES], *new[MAX_NODES];
	int ret;

	if (nslots == 0 || nslots > MAX_NODES) {
		snprintf(c->err, sizeof(c->err), "checkpoint %u has no node slots", a->seq);
		return -EBADMSG;
	}
	for (size_t i = 0; i < nslots; i++) {
		old[i] = json_string_value(json_object_get(json_array_get(slots, i), "node"));
		if (!old[i])
			old[i] = "";
	}
	for (size_t i = 0; i < nnew; i++)
		new[i] = names[i];
	ret = cr_place_slots(old, nslots, new, nnew, batch_host, out);
	if (ret) {
		snprintf(c->err, sizeof(c->err),
			 "checkpoint %u needs %zu nodes with %s first; the job has %zu", a->seq,
			 nslots, batch_host, nnew);
		return -ENOSPC;
	}
	c->npeers = nslots;
	for (size_t i = 0; i < nslots; i++) {
		c->peers[i] = (struct peer){.slot = i, .fd = -1};
		snprintf(c->peers[i].node, sizeof(c->peers[i].node), "%s", names[out[i]]);
	}
	_progress(c, "restoring checkpoint %u of job %u", a->seq, a->src);
	ret = _start_all(c, CR_NODE_RESTORE, _restore_args, a);
	if (!ret)
		ret = _collect(c, c->maxwait);
	if (ret) {
		_release_all(c, CR_REL_ABORT);
		_peers_close(c);
		return ret;
	}
	_release_all(c, CR_REL_RESUME);
	_peers_close(c);
	return 0;
}

/* Move a checkpoint directory left by an earlier job with this id out of the way. */
static void _set_aside_stale(const char *ckdir, uint32_t jobid)
{
	char name[32], aside[64];
	struct stat st;
	int dfd;

	dfd = open(ckdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	snprintf(name, sizeof(name), "%u", jobid);
	snprintf(aside, sizeof(aside), "%u.stale-%lld", jobid, (long long)time(NULL));
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (renameat(dfd, name, dfd, aside) == 0)
			log_warnx("job %u: %s/%s is an earlier job's: renamed %s", jobid, ckdir,
				  name, aside);
		else
			log_warn("job %u: cannot set aside %s/%s", jobid, ckdir, name);
	}
	close(dfd);
}

int coord_restore(const struct crd_ctx *ctx, uint32_t jobid, const struct coord_restore_opts *o,
		  char *msg, size_t msglen)
{
	struct coord *c = calloc(1, sizeof(*c));
	struct restore_args a = {0};
	uint8_t key[STORE_KEY_LEN];
	char names[MAX_NODES][128], batch_host[128] = "", fallback[2048] = "";
	job_info_msg_t *jm = NULL;
	struct job_user u;
	uint32_t *seqs = NULL;
	size_t nseqs = 0, nnew = 0;
	json_t *man;
	int lockfd = -1, jobfd = -1, ret, restart_cnt = 0, tried = 0;

	if (!c)
		return err_set(msg, msglen, -ENOMEM, "out of memory");
	c->ctx = ctx;
	c->jobid = jobid;
	c->maxwait = ctx->conf.max_wait;
	a.src = o->src_jobid ? o->src_jobid : jobid;
	a.ckdir = o->ckdir;
	a.maxwait = c->maxwait;
	if (slurm_load_job(&jm, jobid, SHOW_ALL) == 0 && jm && jm->record_count == 1) {
		restart_cnt = jm->job_array[0].restart_cnt;
		nnew = _expand(jm->job_array[0].nodes ? jm->job_array[0].nodes : "", names,
			       MAX_NODES);
		if (jm->job_array[0].batch_host)
			snprintf(batch_host, sizeof(batch_host), "%s", jm->job_array[0].batch_host);
	}
	if (jm)
		slurm_free_job_info_msg(jm);
	if (!nnew || !*batch_host) {
		snprintf(msg, msglen, "cannot get job %u's nodes from slurmctld: %s", jobid,
			 slurm_strerror(slurm_get_errno()));
		ret = -EIO;
		goto out;
	}
	/* A first start has nothing to resume: what is there is a past job's with this id. */
	if (!o->src_jobid && restart_cnt == 0) {
		_set_aside_stale(a.ckdir, jobid);
		ret = COORD_FRESH;
		goto out;
	}
	lockfd = _lock(ctx, jobid, msg, msglen);
	if (lockfd < 0) {
		ret = lockfd;
		goto out;
	}
	if ((ret = store_key_load(ctx->conf.key_file, key, msg, msglen)) ||
	    (ret = user_lookup(o->uid, o->gid, &u, msg, msglen)) ||
	    (ret = user_fs_enter(&u, msg, msglen)))
		goto out;
	jobfd = store_job_open(a.ckdir, a.src, 0, msg, msglen);
	if (jobfd == -ENOENT) {
		ret = COORD_FRESH;
		goto out_user;
	}
	if (jobfd < 0 || store_list(jobfd, &seqs, &nseqs)) {
		ret = jobfd < 0 ? jobfd : -EIO;
		goto out_user;
	}
	if (nseqs == 0) {
		ret = COORD_FRESH;
		goto out_user;
	}
	ret = -ENOENT;
	while (nseqs-- > 0) {
		a.seq = seqs[nseqs];
		c->err[0] = '\0';
		user_fs_enter(&u, msg, msglen);
		ret = store_load(jobfd, a.seq, key, &man, c->err, sizeof(c->err));
		user_fs_leave();
		if (!ret) {
			tried++;
			ret = _restore_one(c, man, &a, names, nnew, batch_host);
			json_decref(man);
		}
		if (ret == 0)
			break;
		log_warnx("job %u: checkpoint %u of job %u not restored: %s", jobid, a.seq, a.src,
			  c->err);
		snprintf(fallback + strlen(fallback), sizeof(fallback) - strlen(fallback),
			 "%scheckpoint %u: %.500s", *fallback ? "; " : "", a.seq, c->err);
		if (ret == -EBADMSG) {
			/* Never again: a checkpoint that does not verify stays refused. */
			user_fs_enter(&u, msg, msglen);
			store_mark_bad(jobfd, a.seq);
			user_fs_leave();
		}
		if (ret == -ENOSPC)
			break;
	}
	user_fs_enter(&u, msg, msglen);
	if (ret == 0 && !*fallback) {
		snprintf(msg, msglen, "restored checkpoint %u of job %u", a.seq, a.src);
		goto out_user;
	}
	if (ret == 0)
		snprintf(msg, msglen, "restored checkpoint %u of job %u after refusing newer: %s",
			 a.seq, a.src, fallback);
	else
		snprintf(msg, msglen, "no checkpoint of job %u could be restored (%d tried): %s",
			 a.src, tried, *fallback ? fallback : c->err);
	/* `crctl error` of this job tells, whichever job's checkpoints these are. */
	if (a.src != jobid) {
		char e[256];
		int own = store_job_open(a.ckdir, jobid, 1, e, sizeof(e));
		_record_error(own, jobid, "restore", msg);
		if (own >= 0)
			close(own);
	} else {
		_record_error(jobfd, jobid, "restore", msg);
	}
out_user:
	user_fs_leave();
out:
	free(seqs);
	if (jobfd >= 0)
		close(jobfd);
	if (lockfd >= 0)
		close(lockfd);
	sodium_memzero(key, sizeof(key));
	free(c);
	return ret;
}
