// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A node's part in a job-wide checkpoint or restore, served by a crd worker:
 * the single-threaded helper that calls libcr. One coordinator connection
 * carries the whole exchange, so a coordinator that goes away is noticed:
 *
 *	checkpoint: NODE(PREPARE) -> freeze, hold   DUMP -> image, tmpfs, output
 *	            RELEASE(RESUME | KILL)
 *	restore:    NODE(RESTORE) -> verify, rebuild (stopped)
 *	            RELEASE(READY) -> files rolled back, output rewritten, stopped
 *	            RELEASE(RESUME | ABORT)
 *
 * A lost connection or a timeout releases the job as it was: a held tree
 * resumes, a rebuilt one is aborted; so does a message that is not sealed
 * with the conversation's key (protoauth.h). Job files are opened with the job
 * user's fs credentials; only /proc and the MAC key are read as root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cr.h>

#include "digest.h"
#include "errmsg.h"
#include "glue.h"
#include "jobnet.h"
#include "jobpeers.h"
#include "jobstat.h"
#include "launch.h"
#include "log.h"
#include "node.h"
#include "nodedump.h"
#include "nodejob.h"
#include "nodeunit.h"
#include "output.h"
#include "proto.h"
#include "protoauth.h"
#include "store.h"
#include "topo.h"
#include "userfs.h"

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

/* A file of /proc (a children list, a cmdline) into buf; its length, or -errno. */
static ssize_t _read_proc(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, len - 1) : -1;
	if (n < 0)
		n = -errno;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

/*
 * A non-batch slot's root (`cr-rsh --slot-root`, a child of the init): is it
 * @pid, and has it started anything (then it is the tree to checkpoint)?
 */
static int _slot_root(pid_t pid, int *busy)
{
	static const char want[] = "cr-rsh\0--slot-root";
	char path[64], buf[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	n = _read_proc(path, buf, sizeof(buf));
	if (n != (ssize_t)sizeof(want) || memcmp(buf, want, sizeof(want)))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	*busy = _read_proc(path, buf, sizeof(buf)) > 0;
	return 1;
}

/*
 * The tree to checkpoint among the init's children: the script (ns_script)
 * on the batch host; elsewhere the slot root, when it started something.
 * Anything else there was orphaned into the init: outside the tree a
 * checkpoint can hold.
 */
static int _find_script(struct node_job *j, pid_t ns_script, char *err, size_t errlen)
{
	char path[64], buf[4096], comm[32];
	int fd, busy = 0, root = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", j->init, j->init);
	n = _read_proc(path, buf, sizeof(buf));
	if (n < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror((int)-n));
		return -EIO;
	}
	j->script = 0;
	for (char *p = buf, *e; *p; p = e) {
		pid_t pid = strtol(p, &e, 10);
		if (e == p)
			break;
		if (ns_script && _ns_pid(pid) == ns_script) {
			j->script = pid;
			continue;
		}
		if (!j->batch && !root && _slot_root(pid, &busy)) {
			root = 1;
			j->script = busy ? pid : 0;
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

/* The container of jobid's @slot (checkpoint) or @unit (restore, slot < 0) here. */
static int _job_info(const struct crd_ctx *ctx, uint32_t jobid, int64_t slot, uint32_t unit,
		     struct node_job *j, pid_t *ns_script, char *err, size_t errlen)
{
	struct job_status st;

	if (slot >= 0 ? jobstat_find_slot(ctx, jobid, slot, &st)
		      : jobstat_get(ctx, jobid, unit, &st)) {
		if (slot >= 0)
			snprintf(err, errlen, "job %u has no container of slot %lld on node %s",
				 jobid, (long long)slot, ctx->conf.node_name);
		else
			snprintf(err, errlen, "job %u has no container on node %s", jobid,
				 ctx->conf.node_name);
		return -ENOENT;
	}
	memset(j, 0, sizeof(*j));
	j->jobid = jobid;
	j->slot = st.ji.slot;
	j->unit = st.ji.unit;
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

/*
 * Wait for the coordinator's next message; -ETIMEDOUT or -ECONNRESET when
 * it is gone, -EBADMSG (logged) when it is not the coordinator's.
 */
static int _next(struct cr_chan *ch, uint32_t jobid, struct cr_msg *m)
{
	int ret = cr_chan_recv(ch, m);

	if (ret == -EAGAIN || ret == -EWOULDBLOCK)
		ret = -ETIMEDOUT;
	if (ret == -EBADMSG)
		log_warnx("job %u: %s from %s refused: %s: dropping the coordinator's conversation",
			  jobid, cr_msg_name(ch->bad_type), cr_peer_text(ch->fd).s, ch->why);
	return ret;
}

static int _json_reply(struct cr_chan *ch, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	int ret;

	if (!s)
		return cr_chan_send_err(ch, CR_E_FAILED, "out of memory");
	ret = cr_chan_send_ok(ch, s);
	free(s);
	return ret;
}

/*
 * One coordinator's exchange with this node. After the first request
 * (node_ops[]), each message goes to its handler through a table
 * (ckpt_msgs[], restore_msgs[]).
 */
struct node_session {
	const struct crd_ctx *ctx;
	struct cr_chan *ch; /* the coordinator's connection, sealed */
	struct node_job j;
	uint32_t bad_type; /* the message no handler took */
	/* checkpoint */
	struct cr_frozen *frozen;
	json_t *rep;
	enum cr_release_mode mode;
	/* restore */
	uint32_t how;
};

struct node_msg_handler {
	uint32_t type;
	/* 0: wait for the next message; 1: the exchange is over; -EPROTO: a bad message. */
	int (*handle)(struct node_session *s, struct cr_msg *m);
};

/* Messages to their handlers until one ends the exchange: 0, or -errno (coordinator lost, -EPROTO).
 */
static int _session(struct node_session *s, const struct node_msg_handler *h, size_t n)
{
	struct cr_msg m;
	int ret;

	for (;;) {
		ret = _next(s->ch, s->j.jobid, &m);
		if (ret)
			return ret;
		ret = -EPROTO;
		for (size_t i = 0; i < n; i++)
			if (h[i].type == m.hdr.type)
				ret = h[i].handle(s, &m);
		if (ret == -EPROTO)
			s->bad_type = m.hdr.type;
		cr_msg_free(&m);
		if (ret)
			return ret < 0 ? ret : 0;
	}
}

/* DUMP: the held tree's image and the container's files into the temporary directory. */
static int _on_dump(struct node_session *s, struct cr_msg *m)
{
	const char *text;
	char err[1024] = "";
	json_t *dargs;
	int ret;

	if (cr_unpack_str(m, &text) || cr_unpack_done(m) || !(dargs = json_loads(text, 0, NULL)))
		return -EPROTO;
	ret = node_dump(s->ctx, &s->j, s->frozen, dargs, s->rep, err, sizeof(err));
	json_decref(dargs);
	/* -EAGAIN from the engine: the tree holds state that passes (the coordinator retries) */
	if (ret)
		cr_chan_send_err(s->ch,
				 ret == -EBADMSG  ? CR_E_BADIMG
				 : ret == -EAGAIN ? CR_E_BUSY
						  : CR_E_FAILED,
				 "node %s: %s", s->ctx->conf.node_name, err);
	else
		_json_reply(s->ch, s->rep);
	return 0;
}

/* RELEASE of a checkpoint: resume the held tree, or kill it (vacate, requeue). */
static int _on_release(struct node_session *s, struct cr_msg *m)
{
	uint32_t how;

	if (cr_unpack_u32(m, &how) || cr_unpack_done(m))
		return -EPROTO;
	s->mode = how == CR_REL_KILL ? CR_KILL : CR_RESUME;
	return 1;
}

static const struct node_msg_handler ckpt_msgs[] = {
	{CR_MSG_DUMP, _on_dump},
	{CR_MSG_RELEASE, _on_release},
};

/* Answer the coordinator with an error; returns ret. */
static int _answer_err(struct cr_chan *ch, int ret, uint32_t code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int _answer_err(struct cr_chan *ch, int ret, uint32_t code, const char *fmt, ...)
{
	char text[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	cr_chan_send_err(ch, code, "%s", text);
	return ret;
}

/* Freeze the job's tree here (none when no script runs); 0, or answered on fd. */
static int _freeze(struct node_session *s, pid_t ns_script, int maxwait)
{
	struct cr_owner owner = {0};
	/* The container has its own net namespace: locked before any socket is read. */
	struct cr_freeze_opts fo = {.timeout_ms = maxwait * 1000,
				    .owner = &owner,
				    .net_lock = true,
				    .peer_net = s->ctx->conf.job_net,
				    .peer_net_prefix = s->ctx->conf.job_net_prefix};
	const char *node = s->ctx->conf.node_name;
	char err[1024] = "";
	struct job_user u;
	int logfd, ret;

	/* A non-batch slot holds what cr-rsh started there, below its slot root. */
	if ((s->j.state == JS_RUNNING || (!s->j.batch && s->j.state == JS_IDLE)) &&
	    _find_script(&s->j, ns_script, err, sizeof(err)))
		return _answer_err(s->ch, -EOPNOTSUPP, CR_E_NOTSUP, "node %s: %s", node, err);
	if (s->j.state != JS_RUNNING && s->j.state != JS_IDLE)
		return _answer_err(s->ch, -EINVAL, CR_E_FAILED, "node %s: job %u's container is %s",
				   node, s->j.jobid, jobstat_state_name(s->j.state));
	if (s->j.script <= 0)
		return 0;
	/*
	 * The owner policy: the tree holds no more than the job's user, the
	 * bounding set and limits no more than the batch step's task (the relay;
	 * crd's own when it is gone, and the restore checks again against the
	 * new step's). The container's init starts the script without the step's
	 * no_new_privs, so it is not required here.
	 */
	if (user_lookup(s->j.uid, s->j.gid, &u, err, sizeof(err)) ||
	    cr_owner_from_task(s->j.relay > 0 ? s->j.relay : getpid(), &owner))
		return _answer_err(s->ch, -EIO, CR_E_FAILED, "node %s: job %u's owner: %s", node,
				   s->j.jobid, *err ? err : "cannot read the batch step's limits");
	owner.uid = u.uid;
	owner.gid = u.gid;
	owner.groups = u.groups;
	owner.ngroups = u.ngroups;
	owner.no_new_privs = false;
	logfd = libcr_log_begin();
	ret = cr_freeze(s->j.script, &fo, &s->frozen);
	libcr_log_end(logfd, err, sizeof(err));
	/* Orphans made while we froze the tree are as bad as earlier ones. */
	if (!ret && _find_script(&s->j, ns_script, err, sizeof(err))) {
		cr_release(s->frozen, CR_RESUME);
		s->frozen = NULL;
		return _answer_err(s->ch, -EOPNOTSUPP, CR_E_NOTSUP, "node %s: %s", node, err);
	}
	if (ret)
		cr_chan_send_err(s->ch, CR_E_FAILED, "node %s: cannot freeze job %u: %s", node,
				 s->j.jobid, *err ? err : strerror(-ret));
	return ret;
}

/* The coordinator's MaxWait, within what MaxWait may be (its * 1000 must fit an int). */
static int _maxwait(const struct crd_ctx *ctx, int fd, json_t *args)
{
	json_int_t asked = json_integer_value(json_object_get(args, "maxwait"));
	int maxwait = asked > 0 && asked <= CR_MAX_WAIT_LIMIT ? (int)asked : 0;

	if (!maxwait)
		maxwait = ctx->conf.max_wait;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){maxwait, 0},
		   sizeof(struct timeval));
	return maxwait;
}

/*
 * The slot's name and address as its processes see them now (a restored
 * slot keeps those it was checkpointed with, wherever it runs): into @rep.
 */
static void _identity(const struct node_job *j, json_t *rep)
{
	char host[HOST_NAME_MAX + 1] = "", a[INET_ADDRSTRLEN];
	uint32_t addr = 0;

	if (jobnet_live(j->init, host, sizeof(host), &addr))
		log_warnx("job %u: cannot read the container's name and address", j->jobid);
	json_object_set_new(rep, "hostname", json_string(*host ? host : j->hostname));
	if (addr)
		json_object_set_new(
			rep, "address",
			json_string(inet_ntop(AF_INET, &(uint32_t){htonl(addr)}, a, sizeof(a))));
}

/* PREPARE: freeze and hold; then DUMP and RELEASE (ckpt_msgs[]). */
static void _checkpoint(const struct crd_ctx *ctx, struct cr_chan *ch, uint32_t jobid, json_t *args)
{
	struct node_session s = {.ctx = ctx, .ch = ch, .mode = CR_RESUME};
	const char *node = ctx->conf.node_name;
	int maxwait = _maxwait(ctx, ch->fd, args), ret;
	char err[1024] = "";
	pid_t ns_script;

	/* a restore onto fewer nodes left several containers of the job here: the slot's */
	if (_job_info(ctx, jobid, (uint32_t)json_integer_value(json_object_get(args, "slot")), 0,
		      &s.j, &ns_script, err, sizeof(err))) {
		cr_chan_send_err(ch, CR_E_NOJOB, "%s", err);
		return;
	}
	if (_freeze(&s, ns_script, maxwait))
		return;
	log_info("job %u: slot %u frozen (%zu tasks)", jobid, s.j.slot,
		 s.frozen ? cr_frozen_ntasks(s.frozen) : 0);
	fault_point(ctx, "prepare");
	cr_chan_send_ok(ch, "frozen");
	s.rep = json_pack("{s:s, s:i, s:I}", "node", node, "slot", (int)s.j.slot, "ntasks",
			  (json_int_t)(s.frozen ? cr_frozen_ntasks(s.frozen) : 0));
	_identity(&s.j, s.rep);
	if (s.frozen)
		json_object_set_new(s.rep, "netlock", json_real(cr_frozen_lock_seconds(s.frozen)));
	ret = _session(&s, ckpt_msgs, sizeof(ckpt_msgs) / sizeof(ckpt_msgs[0]));
	if (ret == -EPROTO)
		log_warnx("job %u: unexpected %s from the coordinator: resuming the job", jobid,
			  cr_msg_name(s.bad_type));
	else if (ret && ret != -EBADMSG) /* a refused message was logged as such */
		log_warnx("job %u: the coordinator went away (%s): resuming the job", jobid,
			  strerror(-ret));
	if (s.frozen)
		cr_release(s.frozen, s.mode);
	log_info("job %u: slot %u %s", jobid, s.j.slot, s.mode == CR_KILL ? "killed" : "resumed");
	cr_chan_send_ok(ch, s.mode == CR_KILL ? "killed" : "resumed");
	json_decref(s.rep);
}

static int _ask_init(const struct crd_ctx *ctx, const struct node_job *j, uint32_t type,
		     struct cr_buf *b, int *fds, int nfds, int timeout, char *text, size_t len)
{
	uint32_t code;
	int ret;

	ret = jobstat_ask(ctx, j->jobid, j->unit, type, b, fds, nfds, timeout, &code, text, len);
	if (ret) {
		snprintf(text, len, "the job's monitor did not answer: %s", strerror(-ret));
		return ret == -ENOENT || ret == -ECONNREFUSED ? -ENOENT : -EAGAIN;
	}
	/* Busy: an earlier attempt's request is still with the init; it will pass. */
	if (code == CR_E_BUSY || code == CR_E_AGAIN)
		return -EAGAIN;
	/* The init found a file of the slot that does not match its digest. */
	return !code ? 0 : code == CR_E_BADIMG ? -EBADMSG : -EREMOTEIO;
}

/* What a failure tells the coordinator: only a mismatch makes a checkpoint bad. */
static uint32_t _code(int ret)
{
	if (ret == -EBADMSG)
		return CR_E_BADIMG;
	if (ret == -EAGAIN || ret == -ETIMEDOUT || ret == -EIO || ret == -ENOMEM || ret == -EINTR ||
	    ret == -ESTALE)
		return CR_E_AGAIN;
	return CR_E_FAILED;
}

/* A restore here: the checkpoint's slot, verified as the job's user. */
struct node_restore {
	const char *ckdir;
	uint32_t src, seq, slot;
	uint32_t unit; /* > 0: a container of its own for this slot, made here (nodeunit.h) */
	int make;      /* that container is to be made */
	int maxwait;
	uint8_t key[STORE_KEY_LEN];
	struct job_user u;
	json_t *man, *so;  /* the manifest and this slot's part of it */
	json_t *placement; /* the node of each of its slots (borrowed from the args) */
	int jobfd, nodefd, outfd[2];
	/* slot 0: the job's saved output, read once and checked, in memory crd holds */
	int outmem[2];
	uint64_t outlen[2];
};

/* Slot 0: the checkpoint's stdout/stderr, checked against the slot's digests, into memory. */
static int _load_output(struct node_restore *r, char *err, size_t errlen)
{
	static const char *const names[2] = {"stdout", "stderr"};
	struct node_digests d;
	int ret;

	ret = digests_load(r->nodefd, json_object_get(r->so, "files"), &d, err, errlen);
	for (int i = 0; !ret && i < 2; i++) {
		json_t *o = json_object_get(r->man, names[i]);

		if (o && !json_object_get(o, "same"))
			ret = store_output_load(r->nodefd, names[i], d.files, &r->outmem[i],
						&r->outlen[i], err, errlen);
	}
	digests_free(&d);
	return ret;
}

/* Rewrite the job's stdout/stderr as they were at the checkpoint, from the checked copies. */
static int _restore_output(struct node_restore *r, char *err, size_t errlen)
{
	static const char *const names[2] = {"stdout", "stderr"};
	int fd, ret;

	for (int i = 0; i < 2; i++) {
		if (r->outmem[i] < 0 || r->outfd[i] < 0)
			continue;
		fd = node_reopen(r->outfd[i], O_WRONLY | O_APPEND);
		if (fd < 0) {
			ret = -errno;
			snprintf(err, errlen, "cannot open the job's %s: %s", names[i],
				 strerror(-ret));
			return ret;
		}
		ret = store_output_put(r->outmem[i], r->outlen[i], fd, names[i], err, errlen);
		close(fd);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * As the job's user: the manifest verifies, and the job's saved output
 * matches it. 0 or -errno with err: -EBADMSG only for a MAC or digest mismatch.
 */
static int _verify(struct node_restore *r, char *err, size_t errlen)
{
	struct store_binding b = {.uid = r->u.uid, .jobid = r->src, .slot = (int)r->slot};
	char path[64];
	int ret;

	r->jobfd = store_job_open(r->ckdir, r->src, 0, err, errlen);
	if (r->jobfd < 0)
		return r->jobfd;
	ret = store_load(r->jobfd, r->seq, r->key, &b, &r->man, err, errlen);
	if (ret)
		return ret;
	r->so = json_array_get(json_object_get(r->man, "slots"), r->slot);
	if (!r->so)
		return err_set(err, errlen, -EBADMSG, "checkpoint %u has no slot %u", r->seq,
			       r->slot);
	snprintf(path, sizeof(path), "%u/node-%u", r->seq, r->slot);
	r->nodefd = store_open_dir(r->jobfd, path, 0, err, errlen);
	if (r->nodefd < 0)
		return r->nodefd;
	/* The slot's other files are checked by the init as it reads them (_rebuild). */
	return r->slot == 0 ? _load_output(r, err, errlen) : 0;
}

/* The slot gets back the address its checkpoint had (none recorded: it keeps its own). */
static int _keep_address(struct node_session *s, json_t *so, char *err, size_t errlen)
{
	const char *want = json_string_value(json_object_get(so, "address"));
	char host[HOST_NAME_MAX + 1];
	struct in_addr to;
	uint32_t now;
	int ret;

	if (!want)
		return 0;
	if (inet_pton(AF_INET, want, &to) != 1)
		return err_set(err, errlen, -EBADMSG, "bad slot address \"%.40s\"", want);
	ret = jobnet_live(s->j.init, host, sizeof(host), &now);
	if (!ret)
		ret = jobnet_readdress(s->j.jobid, s->j.unit, s->j.init, now, ntohl(to.s_addr), err,
				       errlen);
	else
		err_set(err, errlen, ret, "cannot read the container's address");
	return ret;
}

/* The slot @i of the manifest, where the coordinator placed it (args "placement"). */
static int _peer_of(json_t *so, json_t *node, struct job_peer *p)
{
	const char *name = json_string_value(json_object_get(so, "hostname"));
	const char *addr = json_string_value(json_object_get(so, "address"));
	struct in_addr in;

	if (!name || !addr || !json_is_string(node) || strlen(name) >= sizeof(p->name) ||
	    json_string_length(node) >= sizeof(p->node) || inet_pton(AF_INET, addr, &in) != 1)
		return -EBADMSG;
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->node, sizeof(p->node), "%s", json_string_value(node));
	p->addr = ntohl(in.s_addr);
	return 0;
}

/*
 * The job's slots, named and addressed as the manifest has them, on the
 * nodes the coordinator placed them: routes to those on other nodes, and
 * the list for the init's hosts file (this slot first: "self"). A checkpoint
 * without the job network's names (older) leaves the container as it is.
 */
static int _peers(const struct crd_ctx *ctx, struct node_session *s, struct node_restore *r,
		  json_t *req, char *err, size_t errlen)
{
	json_t *slots = json_object_get(r->man, "slots");
	size_t n = json_array_size(slots);
	struct job_peer *p = calloc(n ? n : 1, sizeof(*p));
	char routes[PATH_MAX];
	int ret = p ? 0 : -ENOMEM;

	if (json_array_size(r->placement) != n)
		ret = -EBADMSG;
	for (size_t i = 0; !ret && i < n; i++)
		ret = _peer_of(json_array_get(slots, i), json_array_get(r->placement, i), &p[i]);
	if (ret) {
		free(p);
		return ret == -ENOMEM ? err_set(err, errlen, ret, "out of memory") : 0;
	}
	/* one set of routes per node: unit 0's (it rebuilt first: coord.c) */
	jobstat_path(ctx, s->j.jobid, 0, JOBSTAT_ROUTES, routes, sizeof(routes));
	ret = s->j.unit ? 0 : jobnet_routes(routes, ctx->conf.node_name, p, n, err, errlen);
	if (!ret) {
		json_object_set(req, "placement", r->placement);
		json_object_set_new(req, "peers", jobpeers_json(p, n));
		json_object_set_new(req, "self", json_integer(r->slot));
		json_object_set_new(req, "peer_net", json_integer(ctx->conf.job_net));
		json_object_set_new(req, "peer_net_prefix", json_integer(ctx->conf.job_net_prefix));
	}
	free(p);
	return ret;
}

/* This slot's own container, at the address it had, for a restore onto fewer nodes. */
static int _unit_up(const struct crd_ctx *ctx, struct node_session *s, struct node_restore *r,
		    char *err, size_t errlen)
{
	const char *want = json_string_value(json_object_get(r->so, "address"));
	struct in_addr to;
	pid_t ns_script;
	int ret;

	if (!want || inet_pton(AF_INET, want, &to) != 1)
		return err_set(err, errlen, -EBADMSG,
			       "checkpoint %u has no job-network address for slot %u: it cannot "
			       "share a node with another slot",
			       r->seq, r->slot);
	ret = node_unit_make(ctx, s->j.jobid, r->unit, r->slot, ntohl(to.s_addr), err, errlen);
	if (!ret)
		ret = _job_info(ctx, s->j.jobid, -1, r->unit, &s->j, &ns_script, err, errlen);
	return ret;
}

/* The container's init rebuilds the slot, stopped (RESTORE to the job's monitor). */
static int _rebuild(const struct crd_ctx *ctx, struct node_session *s, struct node_restore *r,
		    char *err, size_t errlen)
{
	json_t *so = r->so, *req, *lim;
	const char *host = json_string_value(json_object_get(so, "hostname"));
	struct cr_owner step;
	struct cr_buf b;
	char *text, routes[PATH_MAX];
	int ret;

	if (r->make)
		ret = _unit_up(ctx, s, r, err, errlen);
	else if (s->j.unit)
		ret = 0; /* made for this slot: its address already */
	else {
		/* the fresh job's routes: one may lead to the address this slot gets back */
		jobstat_path(ctx, s->j.jobid, 0, JOBSTAT_ROUTES, routes, sizeof(routes));
		jobnet_routes_drop(routes);
		ret = _keep_address(s, so, err, errlen);
	}
	if (ret)
		return ret;
	/* "files": the digest of the slot's digests.json, from the verified manifest. */
	req = json_pack("{s:I, s:I, s:s, s:O, s:I, s:O}", "seq", (json_int_t)r->seq, "ntasks",
			json_integer_value(json_object_get(so, "ntasks")), "hostname",
			host ? host : s->j.hostname, "clocks",
			json_object_get(so, "clocks") ?: json_null(), "src", (json_int_t)r->src,
			"files", json_object_get(so, "files") ?: json_null());
	/* The batch step's bounding set and limits: the most the restored tasks get. */
	if (req && s->j.relay > 0 && !cr_owner_from_task(s->j.relay, &step)) {
		lim = json_array();
		for (int i = 0; i < 16; i++)
			json_array_append_new(lim,
					      json_pack("[I, I]", (json_int_t)step.rlim[i].rlim_cur,
							(json_int_t)step.rlim[i].rlim_max));
		json_object_set_new(req, "step",
				    json_pack("{s:I, s:o}", "cap_bnd", (json_int_t)step.cap_bnd,
					      "limits", lim));
	}
	if (req && json_object_get(so, "address"))
		json_object_set(req, "address", json_object_get(so, "address"));
	ret = req ? _peers(ctx, s, r, req, err, errlen) : 0;
	/* the CPUs the tasks were bound to, mapped onto this node's (topo.h) */
	if (!ret && req)
		ret = topo_restore_args(json_object_get(so, "topology"), s->j.init,
					ctx->conf.node_name, req, err, errlen);
	if (ret) {
		json_decref(req);
		return ret;
	}
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	cr_buf_init(&b);
	cr_pack_str(&b, text ? text : "{}");
	free(text);
	err[0] = '\0';
	fault_point(ctx, "restore");
	ret = _ask_init(ctx, &s->j, CR_MSG_RESTORE, &b, &r->nodefd, 1, r->maxwait, err, errlen);
	cr_buf_free(&b);
	return ret;
}

/* RELEASE of a restore: READY gets it ready, RESUME commits it, ABORT undoes it. */
static int _on_restore_release(struct node_session *s, struct cr_msg *m)
{
	uint32_t how;

	if (cr_unpack_u32(m, &how) || cr_unpack_done(m) ||
	    (how != CR_REL_READY && how != CR_REL_RESUME && how != CR_REL_ABORT))
		return -EPROTO;
	s->how = how;
	return 1;
}

static const struct node_msg_handler restore_msgs[] = {
	{CR_MSG_RELEASE, _on_restore_release},
};

/*
 * Where the init keeps what the rollback cuts: <job dir>/rollback-<seq>-<time>,
 * made as the job's user; -1 when it cannot be made (the rollback goes on).
 */
static int _keep_dir(struct node_restore *r, char *name, size_t len)
{
	int fd = -1;

	snprintf(name, len, "rollback-%u-%lld", r->seq, (long long)time(NULL));
	if (!user_fs_enter(&r->u, NULL, 0) && !mkdirat(r->jobfd, name, 0700))
		fd = openat(r->jobfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	user_fs_leave();
	return fd;
}

/* Nothing was cut (or kept): the directory goes. */
static void _keep_dir_done(struct node_restore *r, const char *name, int fd)
{
	if (fd < 0)
		return;
	close(fd);
	if (!user_fs_enter(&r->u, NULL, 0))
		unlinkat(r->jobfd, name, AT_REMOVEDIR);
	user_fs_leave();
}

/*
 * READY: every node has its tree; the job's files go back to their length
 * at the checkpoint (the init's cr_rollback) and its output to what it was
 * (slot 0), the tasks stay stopped. The coordinator resumes no node before
 * every node answered: a file open on several nodes is never cut after a
 * task wrote to it. Answered on the coordinator's connection; 0 when ready.
 */
static int _ready(const struct crd_ctx *ctx, struct node_session *s, struct node_restore *r)
{
	char err[1024] = "", keep_name[64];
	int keep = _keep_dir(r, keep_name, sizeof(keep_name)), ret;
	struct cr_buf b;

	fault_point(ctx, "resume");
	cr_buf_init(&b);
	cr_pack_u32(&b, 2);
	if (keep >= 0)
		cr_pack_u64(&b, (uint64_t)ctx->conf.rollback_keep_mib << 20);
	ret = _ask_init(ctx, &s->j, CR_MSG_RESUME, &b, keep >= 0 ? &keep : NULL, keep >= 0,
			r->maxwait, err, sizeof(err));
	cr_buf_free(&b);
	_keep_dir_done(r, keep_name, keep);
	if (!ret && r->slot == 0) {
		ret = user_fs_enter(&r->u, err, sizeof(err));
		if (!ret)
			ret = _restore_output(r, err, sizeof(err));
		user_fs_leave();
	}
	if (ret) {
		log_warnx("job %u: slot %u: checkpoint %u not rolled back: %s", s->j.jobid, r->slot,
			  r->seq, err);
		cr_chan_send_err(s->ch, _code(ret), "node %s: %s", ctx->conf.node_name, err);
	} else {
		log_info("job %u: slot %u rolled back to checkpoint %u", s->j.jobid, r->slot,
			 r->seq);
		cr_chan_send_ok(s->ch, "ready");
	}
	return ret;
}

/* The coordinator's word: the restored tasks run (RESUME, once READY) or go (ABORT). */
static void _finish_restore(const struct crd_ctx *ctx, struct node_session *s,
			    struct node_restore *r, int ready)
{
	int run = s->how == CR_REL_RESUME && ready;
	char err[1024] = "";
	struct cr_buf b;
	int ret;

	if (run)
		fault_point(ctx, "run");
	cr_buf_init(&b);
	cr_pack_u32(&b, run);
	ret = _ask_init(ctx, &s->j, CR_MSG_RESUME, &b, NULL, 0, r->maxwait, err, sizeof(err));
	cr_buf_free(&b);
	if (run && !ret) {
		log_info("job %u: slot %u resumed from checkpoint %u", s->j.jobid, r->slot, r->seq);
		cr_chan_send_ok(s->ch, "resumed");
		return;
	}
	if (run)
		log_warnx("job %u: slot %u: cannot resume checkpoint %u: %s", s->j.jobid, r->slot,
			  r->seq, err);
	else
		log_info("job %u: slot %u: restore of checkpoint %u undone%s%s", s->j.jobid,
			 r->slot, r->seq, ret ? ": " : "", err);
	cr_chan_send_err(s->ch, run ? _code(ret) : CR_E_FAILED, "node %s: %s", ctx->conf.node_name,
			 ret			   ? err
			 : s->how == CR_REL_RESUME ? "RESUME before READY: restore undone"
						   : "restore undone");
}

/* Can this node restore the slot: a fresh container, the key, the user? 0 or answered on fd. */
static int _restore_check(const struct crd_ctx *ctx, struct node_session *s, struct node_restore *r,
			  char *err, size_t errlen)
{
	const char *node = ctx->conf.node_name;
	pid_t ns_script;

	if (!r->ckdir || !r->seq)
		return _answer_err(s->ch, -EPROTO, CR_E_PROTO, "bad RESTORE arguments");
	/* another slot on this node: unit 0's owner until its own container is made */
	r->make =
		r->unit && _job_info(ctx, s->j.jobid, -1, r->unit, &s->j, &ns_script, err, errlen);
	if ((r->make || !r->unit) &&
	    _job_info(ctx, s->j.jobid, -1, 0, &s->j, &ns_script, err, errlen))
		return _answer_err(s->ch, -ENOENT, CR_E_NOJOB, "%s", err);
	if (!r->make && s->j.state != JS_IDLE && s->j.state != JS_RESTORING)
		return _answer_err(s->ch, -EBUSY, CR_E_FAILED, "node %s: job %u's container is %s",
				   node, s->j.jobid, jobstat_state_name(s->j.state));
	if (store_key_load(ctx->conf.key_file, r->key, err, errlen) ||
	    user_lookup(s->j.uid, s->j.gid, &r->u, err, errlen))
		return _answer_err(s->ch, -EIO, CR_E_FAILED, "node %s: %s", node, err);
	return 0;
}

/* After RESTORE: READY, then RESUME or ABORT; a lost coordinator aborts. 1 when ready. */
static int _restore_session(const struct crd_ctx *ctx, struct node_session *s,
			    struct node_restore *r)
{
	int ready = 0, ret;

	for (;;) {
		ret = _session(s, restore_msgs, sizeof(restore_msgs) / sizeof(restore_msgs[0]));
		if (ret) {
			if (ret != -EPROTO && ret != -EBADMSG)
				log_warnx("job %u: the coordinator went away (%s): undoing the "
					  "restore",
					  s->j.jobid, strerror(-ret));
			s->how = CR_REL_ABORT;
			return ready;
		}
		if (s->how != CR_REL_READY)
			return ready;
		ready = !_ready(ctx, s, r);
	}
}

/* RESTORE: verify and rebuild, stopped; then READY and RESUME or ABORT (restore_msgs[]). */
static void _restore(const struct crd_ctx *ctx, struct cr_chan *ch, uint32_t jobid, json_t *args)
{
	struct node_session s = {.ctx = ctx, .ch = ch, .how = CR_REL_ABORT, .j.jobid = jobid};
	struct node_restore r = {.jobfd = -1, .nodefd = -1, .outfd = {-1, -1}, .outmem = {-1, -1}};
	char err[1024] = "";
	int ret;

	r.ckdir = json_string_value(json_object_get(args, "ckdir"));
	r.src = json_integer_value(json_object_get(args, "src"));
	r.seq = json_integer_value(json_object_get(args, "seq"));
	r.slot = json_integer_value(json_object_get(args, "slot"));
	r.unit = json_integer_value(json_object_get(args, "unit"));
	r.placement = json_object_get(args, "placement");
	r.maxwait = _maxwait(ctx, ch->fd, args);
	if (_restore_check(ctx, &s, &r, err, sizeof(err)))
		goto out;
	if (r.slot == 0 && s.j.relay > 0) {
		r.outfd[0] = node_relay_fd(s.j.relay, 1);
		r.outfd[1] = node_relay_fd(s.j.relay, 2);
	}
	ret = user_fs_enter(&r.u, err, sizeof(err));
	if (!ret)
		ret = _verify(&r, err, sizeof(err));
	user_fs_leave();
	if (ret) {
		log_warnx("job %u: checkpoint %u of job %u refused here: %s", jobid, r.seq, r.src,
			  err);
		cr_chan_send_err(ch, _code(ret), "node %s: %s", ctx->conf.node_name, err);
		goto out;
	}
	ret = _rebuild(ctx, &s, &r, err, sizeof(err));
	if (ret) {
		cr_chan_send_err(ch, _code(ret), "node %s: %s", ctx->conf.node_name, err);
		goto out;
	}
	log_info("job %u: slot %u rebuilt from checkpoint %u of job %u", jobid, r.slot, r.seq,
		 r.src);
	cr_chan_send_ok(ch, "restored");
	_finish_restore(ctx, &s, &r, _restore_session(ctx, &s, &r));
out:
	node_close_fds(r.outfd, 2);
	node_close_fds(r.outmem, 2);
	if (r.nodefd >= 0)
		close(r.nodefd);
	if (r.jobfd >= 0)
		close(r.jobfd);
	json_decref(r.man);
	sodium_memzero(r.key, sizeof(r.key));
}

/* The first message of an exchange (CR_MSG_NODE) to its handler. */
static const struct node_op {
	const char *name;
	void (*run)(const struct crd_ctx *ctx, struct cr_chan *ch, uint32_t jobid, json_t *args);
} node_ops[] = {
	[CR_NODE_PREPARE] = {"prepare", _checkpoint},
	[CR_NODE_RESTORE] = {"restore", _restore},
	[CR_NODE_EXEC] = {"exec", launch_exec},
};

void node_request(const struct crd_ctx *ctx, struct cr_chan *ch, uint32_t op, uint32_t jobid,
		  const char *args_text)
{
	json_t *args = json_loads(args_text, 0, NULL);

	if (!json_is_object(args))
		cr_chan_send_err(ch, CR_E_PROTO, "bad node request arguments");
	else if (op >= sizeof(node_ops) / sizeof(node_ops[0]) || !node_ops[op].run)
		cr_chan_send_err(ch, CR_E_PROTO, "unknown node request %u", op);
	else
		node_ops[op].run(ctx, ch, jobid, args);
	json_decref(args);
}
