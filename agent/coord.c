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
#include "placement.h"
#include "proto.h"
#include "store.h"
#include "userfs.h"

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
		now = _now();
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

	_progress(c, "checkpoint %u: freezing %zu node%s", k->a.seq, c->npeers,
		  c->npeers > 1 ? "s" : "");
	ret = _start_all(c, CR_NODE_PREPARE, _prepare_args, &k->a);
	return ret ? ret : _collect(c, c->maxwait);
}

/* Step: every node writes its image, tmpfs and output into the temporary directory. */
static int _step_dump(struct coord *c, void *arg)
{
	struct ckpt *k = arg;
	json_t *dargs;
	struct cr_buf b;
	char tmp[32], *text;

	_progress(c, "checkpoint %u: dumping", k->a.seq);
	snprintf(tmp, sizeof(tmp), ".tmp-%u", k->a.seq);
	dargs = json_pack("{s:s, s:s, s:I, s:I}", "tmp", tmp, "ckdir", k->ckdir, "stdout",
			  _committed(k->a.prev, "stdout"), "stderr",
			  _committed(k->a.prev, "stderr"));
	text = dargs ? json_dumps(dargs, JSON_COMPACT) : NULL;
	json_decref(dargs);
	cr_buf_init(&b);
	cr_pack_str(&b, text ? text : "{}");
	free(text);
	_send_all(c, CR_MSG_DUMP, &b);
	cr_buf_free(&b);
	return _collect(c, c->maxwait);
}

/* The manifest: every slot's files and what the job was. */
static json_t *_manifest(struct ckpt *k)
{
	struct coord *c = &k->c;
	json_t *slots = json_array(), *r0 = c->peers[0].reply, *man;

	for (size_t i = 0; i < c->npeers; i++) {
		json_t *r = c->peers[i].reply;
		k->bytes += json_integer_value(json_object_get(r, "bytes"));
		json_array_append_new(
			slots,
			json_pack("{s:s, s:O, s:I, s:O, s:s, s:O}", "node", c->peers[i].node,
				  "files", json_object_get(r, "files") ?: json_object(), "ntasks",
				  json_integer_value(json_object_get(r, "ntasks")), "clocks",
				  json_object_get(r, "clocks") ?: json_null(), "hostname",
				  json_string_value(json_object_get(r, "hostname")) ?: "", "bytes",
				  json_object_get(r, "bytes") ?: json_integer(0)));
	}
	man = json_pack("{s:i, s:I, s:I, s:I, s:I, s:o, s:o, s:I, s:s, s:I}", "version", 1, "jobid",
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
	uint32_t keep = c->ctx->conf.keep_count;
	struct store_binding b = {
		.uid = k->st->ji.uid, .jobid = c->jobid, .slot = -1, .lineage = k->lineage};
	json_t *man;
	int ret;

	_progress(c, "checkpoint %u: committing", k->a.seq);
	man = _manifest(k);
	if (!man)
		return err_set(c->err, sizeof(c->err), -ENOMEM, "out of memory");
	fault_point(c->ctx, "commit");
	ret = user_fs_enter(&k->u, c->err, sizeof(c->err));
	if (!ret)
		ret = store_commit(k->jobfd, k->a.seq, man, &b, k->key, c->err, sizeof(c->err));
	if (!ret && store_prune(k->jobfd, keep ? keep : 1, c->err, sizeof(c->err)))
		log_warnx("job %u: pruning old checkpoints: %s", c->jobid, c->err);
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

/* Step: the job goes on, or ends (vacate) or is requeued, from what was committed. */
static int _step_release(struct coord *c, void *arg)
{
	enum coord_op op = ((struct ckpt *)arg)->o->op;
	int end = op == COORD_VACATE || op == COORD_REQUEUE;

	if (op == COORD_REQUEUE && slurm_requeue(c->jobid, 0) != 0)
		log_warnx("job %u: requeue: %s", c->jobid, slurm_strerror(slurm_get_errno()));
	if (op == COORD_VACATE && slurm_kill_job(c->jobid, SIGKILL, 0) != 0)
		log_warnx("job %u: vacate: %s", c->jobid, slurm_strerror(slurm_get_errno()));
	_progress(c, "checkpoint %u: %s", ((struct ckpt *)arg)->a.seq,
		  end ? "ending the job" : "resuming");
	_release_all(c, end ? CR_REL_KILL : CR_REL_RESUME);
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
	_release_all(c, CR_REL_RESUME);
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

/* The peers: the job's nodes, slot i on the i-th (this node alone without a node list). */
static void _ckpt_peers(struct coord *c, const char *nodelist)
{
	char names[MAX_NODES][128];

	c->npeers = _expand(nodelist, names, MAX_NODES);
	if (c->npeers == 0) {
		c->npeers = 1;
		snprintf(names[0], sizeof(names[0]), "%.127s", c->ctx->conf.node_name);
	}
	for (size_t i = 0; i < c->npeers; i++) {
		snprintf(c->peers[i].node, sizeof(c->peers[i].node), "%s", names[i]);
		c->peers[i].slot = i;
		c->peers[i].fd = -1;
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
	return json_pack("{s:I, s:s, s:I, s:I, s:i, s:o, s:f}", "jobid", (json_int_t)k->c.jobid,
			 "op", op_names[k->o->op], "seq", (json_int_t)k->a.seq, "bytes",
			 (json_int_t)k->bytes, "nodes", (int)k->c.npeers, "phases", ph, "total",
			 _now() - t0);
}

int coord_checkpoint(const struct crd_ctx *ctx, const struct job_status *st,
		     const struct coord_opts *o, json_t **result, char *err, size_t errlen)
{
	struct ckpt *k = calloc(1, sizeof(*k));
	double t0 = _now(), phase[NSTEPS(ckpt_steps)];
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
	if (!ret) {
		_ckpt_peers(c, st->ji.nodelist);
		ret = _ckpt_begin(k);
	}
	if (!ret)
		ret = _run_steps(c, ckpt_steps, NSTEPS(ckpt_steps), k, _ckpt_abort, t0, phase);
	if (!ret)
		*result = _ckpt_result(k, phase, t0);
	else
		snprintf(err, errlen, "%s", *c->err ? c->err : strerror(-ret));
	_peers_close(c);
	json_decref(k->a.prev);
	json_decref(k->lineage);
	if (k->jobfd >= 0)
		close(k->jobfd);
	if (lockfd >= 0)
		close(lockfd);
	sodium_memzero(k->key, sizeof(k->key));
	free(k);
	return ret;
}

/* Move a checkpoint directory left by an earlier job with this id out of the way, as its user. */
static void _set_aside_stale(const char *ckdir, uint32_t jobid, const struct coord_restore_opts *o)
{
	char aside[64], err[512] = "";
	struct job_user u;
	int ret;

	ret = user_lookup(o->uid, o->gid, &u, err, sizeof(err));
	if (!ret)
		ret = user_fs_enter(&u, err, sizeof(err));
	if (!ret)
		ret = store_set_aside(ckdir, jobid, "stale", aside, sizeof(aside), err,
				      sizeof(err));
	user_fs_leave();
	if (ret)
		log_warnx("job %u: cannot set aside an earlier job's checkpoints: %s", jobid, err);
	else if (*aside)
		log_warnx("job %u: %s/%u is an earlier job's: renamed %s", jobid, ckdir, jobid,
			  aside);
}

struct restore_args {
	const char *ckdir;
	uint32_t src, seq;
	int maxwait;
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
	json_t *man; /* the checkpoint being tried */
	int jobfd;
	uint32_t *seqs;
	size_t nseqs;
};

static json_t *_restore_args(struct peer *p, void *arg)
{
	struct restore_args *a = arg;

	return json_pack("{s:s, s:I, s:I, s:i, s:i}", "ckdir", a->ckdir, "src", (json_int_t)a->src,
			 "seq", (json_int_t)a->seq, "slot", (int)p->slot, "maxwait", a->maxwait);
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
	if (place_slots(old, nslots, new, r->nnew, r->batch_host, out))
		return err_set(c->err, sizeof(c->err), -ENOSPC,
			       "checkpoint %u needs %zu nodes with %s first; the job has %zu",
			       r->a.seq, nslots, r->batch_host, r->nnew);
	c->npeers = nslots;
	for (size_t i = 0; i < nslots; i++) {
		c->peers[i] = (struct peer){.slot = i, .fd = -1};
		snprintf(c->peers[i].node, sizeof(c->peers[i].node), "%s", r->names[out[i]]);
	}
	return 0;
}

/* Step: every node verifies its slot and rebuilds it, stopped (RESTORE). */
static int _step_restore(struct coord *c, void *arg)
{
	struct restore *r = arg;
	int ret;

	_progress(c, "restoring checkpoint %u of job %u", r->a.seq, r->a.src);
	ret = _start_all(c, CR_NODE_RESTORE, _restore_args, &r->a);
	return ret ? ret : _collect(c, c->maxwait);
}

/* Step: the rebuilt job runs. */
static int _step_resume(struct coord *c, void *arg)
{
	(void)arg;
	_release_all(c, CR_REL_RESUME);
	return 0;
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
	_release_all(c, CR_REL_ABORT);
}

/* The new allocation, from slurmctld; -EIO with msg when it does not say. */
static int _restore_nodes(struct restore *r, char *msg, size_t msglen)
{
	job_info_msg_t *jm = NULL;
	job_info_t *j;

	if (slurm_load_job(&jm, r->c.jobid, SHOW_ALL) == 0 && jm && jm->record_count == 1) {
		j = &jm->job_array[0];
		r->restart_cnt = j->restart_cnt;
		r->nnew = _expand(j->nodes ? j->nodes : "", r->names, MAX_NODES);
		if (j->batch_host)
			snprintf(r->batch_host, sizeof(r->batch_host), "%s", j->batch_host);
	}
	if (jm)
		slurm_free_job_info_msg(jm);
	if (!r->nnew || !*r->batch_host)
		return err_set(msg, msglen, -EIO, "cannot get job %u's nodes from slurmctld: %s",
			       r->c.jobid, slurm_strerror(slurm_get_errno()));
	return 0;
}

/* As the job's user (left entered): the checkpoints to try; COORD_FRESH when none. */
static int _restore_open(struct restore *r, char *msg, size_t msglen)
{
	int ret;

	if ((ret = store_key_load(r->c.ctx->conf.key_file, r->key, msg, msglen)) ||
	    (ret = user_lookup(r->o->uid, r->o->gid, &r->u, msg, msglen)) ||
	    (ret = user_fs_enter(&r->u, msg, msglen)))
		return ret;
	r->jobfd = store_job_open(r->a.ckdir, r->a.src, 0, msg, msglen);
	if (r->jobfd == -ENOENT)
		return COORD_FRESH;
	if (r->jobfd < 0 || store_list(r->jobfd, &r->seqs, &r->nseqs))
		return r->jobfd < 0 ? r->jobfd : -EIO;
	return r->nseqs == 0 ? COORD_FRESH : 0;
}

/* Newest first, until one runs; those that do not verify are marked bad. */
static int _restore_try(struct restore *r, char *fallback, size_t fblen, int *tried, char *msg,
			size_t msglen)
{
	struct coord *c = &r->c;
	struct store_binding b = {.uid = r->o->uid, .jobid = r->a.src, .slot = -1};
	int ret = -ENOENT;

	while (r->nseqs-- > 0) {
		r->a.seq = r->seqs[r->nseqs];
		c->err[0] = '\0';
		user_fs_enter(&r->u, msg, msglen);
		/* Another user's or job's (-EPERM) is not corrupt: refused, not marked bad. */
		ret = store_load(r->jobfd, r->a.seq, r->key, &b, &r->man, c->err, sizeof(c->err));
		user_fs_leave();
		if (!ret) {
			(*tried)++;
			ret = _run_steps(c, restore_steps, NSTEPS(restore_steps), r, _restore_abort,
					 _now(), NULL);
			_peers_close(c);
			json_decref(r->man);
		}
		if (ret == 0)
			break;
		log_warnx("job %u: checkpoint %u of job %u not restored: %s", c->jobid, r->a.seq,
			  r->a.src, c->err);
		snprintf(fallback + strlen(fallback), fblen - strlen(fallback),
			 "%scheckpoint %u: %.500s", *fallback ? "; " : "", r->a.seq, c->err);
		if (ret == -EBADMSG) {
			/* Never again: a checkpoint that does not verify stays refused. */
			user_fs_enter(&r->u, msg, msglen);
			store_mark_bad(r->jobfd, r->a.seq);
			user_fs_leave();
		}
		if (ret == -ENOSPC)
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

	user_fs_enter(&r->u, msg, msglen);
	if (ret == 0 && !*fallback) {
		snprintf(msg, msglen, "restored checkpoint %u of job %u", r->a.seq, r->a.src);
		return;
	}
	if (ret == 0)
		snprintf(msg, msglen, "restored checkpoint %u of job %u after refusing newer: %s",
			 r->a.seq, r->a.src, fallback);
	else
		snprintf(msg, msglen, "no checkpoint of job %u could be restored (%d tried): %s",
			 r->a.src, tried, *fallback ? fallback : r->c.err);
	/* `crctl error` of this job tells, whichever job's checkpoints these are. */
	if (r->a.src == jobid) {
		_record_error(r->jobfd, jobid, "restore", msg);
		return;
	}
	own = store_job_open(r->a.ckdir, jobid, 1, e, sizeof(e));
	_record_error(own, jobid, "restore", msg);
	if (own >= 0)
		close(own);
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
	ret = _restore_nodes(r, msg, msglen);
	/* A first start has nothing to resume: what is there is a past job's with this id. */
	if (!ret && !o->src_jobid && r->restart_cnt == 0) {
		_set_aside_stale(r->a.ckdir, jobid, o);
		ret = COORD_FRESH;
	}
	if (!ret) {
		lockfd = _lock(ctx, jobid, msg, msglen);
		ret = lockfd < 0 ? lockfd : _restore_open(r, msg, msglen);
	}
	if (!ret) {
		ret = _restore_try(r, fallback, sizeof(fallback), &tried, msg, msglen);
		_restore_report(r, ret, fallback, tried, msg, msglen);
	}
	user_fs_leave();
	free(r->seqs);
	if (r->jobfd >= 0)
		close(r->jobfd);
	if (lockfd >= 0)
		close(lockfd);
	sodium_memzero(r->key, sizeof(r->key));
	free(r);
	return ret;
}
