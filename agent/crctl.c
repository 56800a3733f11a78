// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * crctl: act on a checkpointable job from any node. Finds the job's batch
 * host through slurmctld and asks that node's crd over TCP, authenticated
 * with a munge credential that carries the request.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <munge.h>
#include <poll.h>
#include <pwd.h>
#include <slurm/slurm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "proto.h"

enum {
	EX_OK = 0,
	EX_FAIL = 1,	/* job not found or not running, crd unreachable, other errors */
	EX_USAGE = 2,	/* bad command line */
	EX_PERM = 3,	/* not permitted: not the owner, root, SlurmUser or an operator */
	EX_NOTSUP = 4,	/* subcommand not yet supported */
	EX_NOTCKPT = 5, /* the job is not checkpointable (no container on its batch host) */
	EX_PARTIAL = 6, /* evacuate: node drained, a checkpointable job's requeue failed */
};

static const struct {
	const char *name;
	uint32_t cmd;
	int needs_job;
} cmds[] = {
	{"able", CR_CTL_ABLE, 1},	  {"disable", CR_CTL_DISABLE, 1},
	{"enable", CR_CTL_ENABLE, 1},	  {"create", CR_CTL_CREATE, 1},
	{"vacate", CR_CTL_VACATE, 1},	  {"requeue", CR_CTL_REQUEUE, 1},
	{"restart", CR_CTL_RESTART, 1},	  {"error", CR_CTL_ERROR, 1},
	{"list", CR_CTL_LIST, 0},	  {"show", CR_CTL_SHOW, 1},
	{"evacuate", CR_CTL_EVACUATE, 0},
};

static struct {
	int json;
	uint32_t port;
	char munge_socket[PATH_MAX];
	json_t *args; /* ImageDir=, MaxWait=, StickToNodes, --exclude, evacuate's Node, Reason */
	int tty;      /* progress on stderr */
} opt;

static void _usage(FILE *f)
{
	fprintf(f,
		"usage: crctl [-f cr.conf] [--json] SUBCOMMAND JOBID [OPTIONS]\n"
		"subcommands:\n"
		"  able JOBID     is the job checkpointable now (yes/no)\n"
		"  disable JOBID  stop checkpoints of the job until enabled again\n"
		"  enable JOBID   allow checkpoints of the job again\n"
		"  create JOBID   checkpoint the job now; it runs on\n"
		"  vacate JOBID   checkpoint, then end the job (crctl restart brings it back)\n"
		"  requeue JOBID  checkpoint, then requeue the job: it resumes from the "
		"checkpoint\n"
		"  restart JOBID  a new job that resumes an ended one from its newest checkpoint\n"
		"  restart --from-scratch JOBID\n"
		"                 a held or requeued job runs its script from the top at its next\n"
		"                 start (its checkpoints set aside); a held one is released\n"
		"  error JOBID    the job's last checkpoint or restore error\n"
		"  list [JOBID]   committed checkpoints (of your running jobs without JOBID)\n"
		"  show JOBID     the job's container and checkpoint settings\n"
		"  evacuate NODE [--reason=TEXT]\n"
		"                 (operators) drain NODE, requeue each checkpointable job on it\n"
		"                 from a checkpoint taken now; other jobs finish there\n"
		"options:\n"
		"  ImageDir=DIR   create/vacate/requeue: write the checkpoint under DIR;\n"
		"                 restart/list/error: read it from DIR\n"
		"  MaxWait=SECS   create/vacate/requeue: abort a step that takes longer\n"
		"  StickToNodes   restart: on the nodes the job had\n"
		"  --exclude=NODES  restart: not on these nodes\n"
		"  --nodes=N      restart: on N nodes (fewer than it had: several of its\n"
		"                 node slots share a node, up to cr.conf's MaxSlotsPerNode)\n"
		"  --from-scratch restart: see above\n"
		"  -f PATH        cr.conf to read Port from (default $CR_CONF or " CR_CONF_DEFAULT
		")\n"
		"  --json         machine-readable output\n"
		"  -h, --help     this help\n"
		"exit codes: 0 success, 1 failure, 2 usage, 3 not permitted, 4 not supported,\n"
		"            5 job not checkpointable (no container, no checkpoints),\n"
		"            6 evacuate: node drained, but a checkpointable job was not "
		"requeued\n");
}

static int _err_exit(uint32_t code)
{
	switch (code) {
	case CR_E_PERM:
		return EX_PERM;
	case CR_E_NOTSUP:
		return EX_NOTSUP;
	case CR_E_NOJOB:
		return EX_NOTCKPT;
	default:
		return EX_FAIL;
	}
}

static void _slurm_conf(void)
{
	slurm_conf_t *sc = NULL;
	const char *env = getenv("CR_MUNGE_SOCKET"), *p;

	if (env) {
		snprintf(opt.munge_socket, sizeof(opt.munge_socket), "%s", env);
		return;
	}
	if (slurm_load_ctl_conf(0, &sc) != 0 || !sc)
		return;
	if (sc->authinfo && (p = strstr(sc->authinfo, "socket="))) {
		p += 7;
		snprintf(opt.munge_socket, sizeof(opt.munge_socket), "%.*s", (int)strcspn(p, ","),
			 p);
	}
	slurm_free_ctl_conf(sc);
}

static int _node_addr(const char *node, char *addr, size_t len)
{
	node_info_msg_t *nodes = NULL;

	if (slurm_load_node_single(&nodes, (char *)node, SHOW_ALL) != 0 || !nodes ||
	    nodes->record_count < 1) {
		fprintf(stderr, "crctl: node %s: %s\n", node, slurm_strerror(slurm_get_errno()));
		if (nodes)
			slurm_free_node_info_msg(nodes);
		return EX_FAIL;
	}
	snprintf(addr, len, "%s",
		 nodes->node_array[0].node_addr ? nodes->node_array[0].node_addr : node);
	slurm_free_node_info_msg(nodes);
	return EX_OK;
}

/* A node whose crd can read the checkpoint directory, for a job that ended. */
static int _any_addr(char *addr, size_t len)
{
	node_info_msg_t *nodes = NULL;
	int ret = EX_FAIL;

	if (slurm_load_node(0, &nodes, SHOW_ALL) != 0 || !nodes) {
		fprintf(stderr, "crctl: %s\n", slurm_strerror(slurm_get_errno()));
		return EX_FAIL;
	}
	for (uint32_t i = 0; i < nodes->record_count; i++) {
		node_info_t *n = &nodes->node_array[i];
		uint32_t base = n->node_state & NODE_STATE_BASE;
		if (!n->name || base == NODE_STATE_DOWN || base == NODE_STATE_FUTURE ||
		    (n->node_state & NODE_STATE_NO_RESPOND))
			continue;
		snprintf(addr, len, "%s", n->node_addr ? n->node_addr : n->name);
		ret = EX_OK;
		break;
	}
	if (ret)
		fprintf(stderr, "crctl: no node is up to ask\n");
	slurm_free_node_info_msg(nodes);
	return ret;
}

/*
 * The crd to ask: the job's batch host while it runs; for a job that ended
 * (offline_ok: list, error, restart) any node's. 0, or an exit code with a
 * message printed.
 */
static int _crd_addr(uint32_t jobid, char *addr, size_t len, int quiet, int offline_ok)
{
	job_info_msg_t *jobs = NULL;
	job_info_t *j = NULL;
	int ret = EX_FAIL, running = 0;

	if (slurm_load_job(&jobs, jobid, SHOW_ALL) == 0 && jobs && jobs->record_count >= 1) {
		j = &jobs->job_array[0];
		running = (j->job_state & JOB_STATE_BASE) == JOB_RUNNING && j->batch_host;
	}
	if (running)
		ret = _node_addr(j->batch_host, addr, len);
	else if (offline_ok)
		ret = _any_addr(addr, len);
	else if (!quiet && !j)
		fprintf(stderr, "crctl: job %u: %s\n", jobid, slurm_strerror(slurm_get_errno()));
	else if (!quiet)
		fprintf(stderr, "crctl: job %u is not running\n", jobid);
	if (jobs)
		slurm_free_job_info_msg(jobs);
	return ret;
}

static int _connect(const char *host)
{
	int fd = cr_tcp_connect(host, opt.port, 0);

	if (fd == -EHOSTUNREACH) {
		fprintf(stderr, "crctl: cannot resolve %s\n", host);
	} else if (fd < 0) {
		fprintf(stderr, "crctl: cannot reach crd on %s port %u: %s\n", host, opt.port,
			strerror(-fd));
	} else {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){30, 0},
			   sizeof(struct timeval));
		return fd;
	}
	return -1;
}

static void _show_progress(const char *text, void *arg)
{
	(void)arg;
	if (opt.tty)
		fprintf(stderr, "\r\033[K%s ...", text);
}

/* One request to the crd at addr; reply text in buf. Returns an exit code. */
static int _ask(const char *addr, uint32_t cmd, uint32_t jobid, char *buf, size_t len, int quiet)
{
	char *args = json_dumps(opt.args, JSON_COMPACT);
	char *cred = NULL;
	struct cr_buf req, msg;
	munge_ctx_t ctx;
	munge_err_t e;
	uint32_t code;
	int fd, ret;

	cr_buf_init(&req);
	cr_pack_u32(&req, CR_PROTO_VERSION);
	cr_pack_u32(&req, cmd);
	cr_pack_u32(&req, jobid);
	cr_pack_u32(&req, 0);
	cr_pack_str(&req, args ? args : "{}");
	free(args);
	ctx = munge_ctx_create();
	if (ctx && opt.munge_socket[0])
		munge_ctx_set(ctx, MUNGE_OPT_SOCKET, opt.munge_socket);
	e = ctx ? munge_encode(&cred, ctx, req.data, req.len) : EMUNGE_NO_MEMORY;
	if (ctx)
		munge_ctx_destroy(ctx);
	cr_buf_free(&req);
	if (e != EMUNGE_SUCCESS) {
		fprintf(stderr, "crctl: munge: %s\n", munge_strerror(e));
		return EX_FAIL;
	}
	fd = _connect(addr);
	if (fd < 0) {
		free(cred);
		return EX_FAIL;
	}
	cr_buf_init(&msg);
	cr_pack_str(&msg, cred);
	free(cred);
	ret = cr_send(fd, CR_MSG_CTL, &msg, NULL, 0);
	cr_buf_free(&msg);
	if (!ret) {
		if (cmd == CR_CTL_CREATE || cmd == CR_CTL_VACATE || cmd == CR_CTL_REQUEUE ||
		    cmd == CR_CTL_RESTART || cmd == CR_CTL_EVACUATE)
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){0, 0},
				   sizeof(struct timeval));
		ret = cr_recv_reply_progress(fd, &code, buf, len, _show_progress, NULL);
		if (opt.tty)
			fprintf(stderr, "\r\033[K");
	}
	close(fd);
	if (ret) {
		fprintf(stderr, "crctl: no answer from crd on %s: %s\n", addr, strerror(-ret));
		return EX_FAIL;
	}
	if (code) {
		if (quiet < 2 && (!quiet || code != CR_E_NOJOB) && jobid)
			fprintf(stderr, "crctl: job %u: %s\n", jobid, buf);
		else if (quiet < 2 && !jobid)
			fprintf(stderr, "crctl: %s\n", buf);
		return _err_exit(code);
	}
	return EX_OK;
}

/*
 * One request to the job's crd (its batch host's, or any node's for a job
 * that ended); quiet 1: no message when it has no container, 2: none at all.
 */
static int _request(uint32_t cmd, uint32_t jobid, char *buf, size_t len, int quiet)
{
	int offline_ok = cmd == CR_CTL_LIST || cmd == CR_CTL_ERROR || cmd == CR_CTL_RESTART;
	char addr[256];
	int ret;

	ret = _crd_addr(jobid, addr, sizeof(addr), quiet, offline_ok);
	return ret ? ret : _ask(addr, cmd, jobid, buf, len, quiet);
}

static void _print_list(uint32_t jobid, json_t *arr)
{
	size_t i;
	json_t *e;
	char ts[32], nodes[256];

	if (json_array_size(arr) == 0) {
		printf("Job %u: no committed checkpoints\n", jobid);
		return;
	}
	printf("%-8s %-5s %-20s %14s %s\n", "JOBID", "SEQ", "TIME", "BYTES", "NODES");
	json_array_foreach(arr, i, e)
	{
		time_t t = json_integer_value(json_object_get(e, "time"));
		json_t *n = json_object_get(e, "nodes"), *v;
		size_t k, off = 0;

		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", localtime(&t));
		nodes[0] = '\0';
		json_array_foreach(n, k, v)
		{
			off += snprintf(nodes + off, off < sizeof(nodes) ? sizeof(nodes) - off : 0,
					"%s%s", k ? "," : "",
					json_is_string(v) ? json_string_value(v) : "?");
		}
		if (json_is_false(json_object_get(e, "verified"))) {
			printf("%-8u %-5lld refused: %s\n", jobid,
			       (long long)json_integer_value(json_object_get(e, "seq")),
			       json_string_value(json_object_get(e, "error")));
			continue;
		}
		printf("%-8u %-5lld %-20s %14lld %s\n", jobid,
		       (long long)json_integer_value(json_object_get(e, "seq")), ts,
		       (long long)json_integer_value(json_object_get(e, "bytes")), nodes);
	}
}

/* Human output of create/vacate/requeue/restart/error; 0 when text is not JSON. */
static int _print_result(uint32_t cmd, uint32_t jobid, const char *text)
{
	json_t *o = json_loads(text, 0, NULL), *ph;
	char ts[32];
	time_t t;

	if (!json_is_object(o)) {
		json_decref(o);
		return 0;
	}
	ph = json_object_get(o, "phases");
	switch (cmd) {
	case CR_CTL_CREATE:
	case CR_CTL_VACATE:
	case CR_CTL_REQUEUE:
		printf("Job %u: checkpoint %lld committed: %.1f MiB from %lld node(s) in %.2f s "
		       "(freeze %.2f of which network lock %.2f, dump %.2f, commit %.2f, %s "
		       "%.2f)%s\n",
		       jobid, (long long)json_integer_value(json_object_get(o, "seq")),
		       json_integer_value(json_object_get(o, "bytes")) / 1048576.0,
		       (long long)json_integer_value(json_object_get(o, "nodes")),
		       json_real_value(json_object_get(o, "total")),
		       json_real_value(json_object_get(ph, "freeze")),
		       json_real_value(json_object_get(ph, "netlock")),
		       json_real_value(json_object_get(ph, "dump")),
		       json_real_value(json_object_get(ph, "commit")),
		       cmd == CR_CTL_CREATE ? "resume" : "end",
		       json_real_value(json_object_get(ph, "release")),
		       cmd == CR_CTL_VACATE    ? "; job vacated"
		       : cmd == CR_CTL_REQUEUE ? "; job requeued"
					       : "");
		break;
	case CR_CTL_RESTART:
		if (json_is_true(json_object_get(o, "from_scratch"))) {
			printf("Job %u starts from the top at its next start (its checkpoints are "
			       "set aside)%s\n",
			       jobid,
			       json_is_true(json_object_get(o, "released")) ? "; released" : "");
			break;
		}
		printf("Submitted batch job %lld (restart of job %u from checkpoint %lld)\n",
		       (long long)json_integer_value(json_object_get(o, "jobid")), jobid,
		       (long long)json_integer_value(json_object_get(o, "seq")));
		break;
	case CR_CTL_ERROR:
		if (!json_object_get(o, "error")) {
			printf("Job %u: no checkpoint error\n", jobid);
			break;
		}
		t = json_integer_value(json_object_get(o, "time"));
		ts[0] = '\0';
		if (t)
			strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S ", localtime(&t));
		printf("Job %u: %s%s: %s\n", jobid, ts, json_string_value(json_object_get(o, "op")),
		       json_string_value(json_object_get(o, "error")));
		break;
	default:
		json_decref(o);
		return 0;
	}
	json_decref(o);
	return 1;
}

/* What Slurm has: the Requeue flag crd sets, and what slurm-cr noted in AdminComment. */
static void _show_slurm(uint32_t jobid)
{
	job_info_msg_t *jobs = NULL;
	const char *cont;
	job_info_t *j;

	if (slurm_load_job(&jobs, jobid, SHOW_ALL) == 0 && jobs && jobs->record_count >= 1) {
		j = &jobs->job_array[0];
		/* slurmjob.h: "slurm-cr(...,continues=N)" in the AdminComment */
		cont = j->admin_comment ? strstr(j->admin_comment, "continues=") : NULL;
		printf("   Requeue=%u Restarts=%u Continues=%lu (crd makes every --checkpoint job "
		       "requeueable)\n",
		       j->requeue, j->restart_cnt, cont ? strtoul(cont + 10, NULL, 10) : 0);
		if (j->admin_comment && *j->admin_comment)
			printf("   AdminComment=%s\n", j->admin_comment);
	}
	if (jobs)
		slurm_free_job_info_msg(jobs);
}

static int _show(const char *text)
{
	json_t *o = json_loads(text, 0, NULL);
	long long interval;

	if (!o) {
		fprintf(stderr, "crctl: bad answer from crd\n");
		return EX_FAIL;
	}
	if (opt.json) {
		printf("%s\n", text);
		json_decref(o);
		return EX_OK;
	}
	interval = json_integer_value(json_object_get(o, "interval"));
	printf("JobId=%lld Node=%s Container=job%lld-slot%lld Slot=%lld State=%s\n",
	       (long long)json_integer_value(json_object_get(o, "jobid")),
	       json_string_value(json_object_get(o, "node")),
	       (long long)json_integer_value(json_object_get(o, "jobid")),
	       (long long)json_integer_value(json_object_get(o, "slot")),
	       (long long)json_integer_value(json_object_get(o, "slot")),
	       json_string_value(json_object_get(o, "state")));
	printf("   Hostname=%s Address=%s\n", json_string_value(json_object_get(o, "hostname")),
	       json_string_value(json_object_get(o, "address")));
	printf("   Checkpoint=%s Interval=%lld CheckpointDir=%s\n",
	       json_is_true(json_object_get(o, "enabled")) ? "enabled" : "disabled", interval,
	       json_string_value(json_object_get(o, "checkpoint_dir")));
	printf("   UserId=%lld MonitorPid=%lld InitPid=%lld RelayPid=%lld NodeList=%s\n",
	       (long long)json_integer_value(json_object_get(o, "uid")),
	       (long long)json_integer_value(json_object_get(o, "monitor_pid")),
	       (long long)json_integer_value(json_object_get(o, "init_pid")),
	       (long long)json_integer_value(json_object_get(o, "relay_pid")),
	       json_string_value(json_object_get(o, "nodelist")));
	_show_slurm(json_integer_value(json_object_get(o, "jobid")));
	json_decref(o);
	return EX_OK;
}

static int _list_one(uint32_t jobid, json_t *all, int quiet)
{
	static char buf[CR_MSG_MAX];
	json_t *arr;
	int ret;

	ret = _request(CR_CTL_LIST, jobid, buf, sizeof(buf), quiet);
	if (ret)
		return ret;
	arr = json_loads(buf, 0, NULL);
	if (!json_is_array(arr)) {
		json_decref(arr);
		fprintf(stderr, "crctl: bad answer from crd\n");
		return EX_FAIL;
	}
	if (all) {
		size_t i;
		json_t *e;
		json_array_foreach(arr, i, e)
		{
			json_object_set_new(e, "jobid", json_integer(jobid));
			json_array_append(all, e);
		}
	} else if (opt.json) {
		printf("%s\n", buf);
	} else {
		_print_list(jobid, arr);
	}
	json_decref(arr);
	return EX_OK;
}

/* Without a JOBID: every running job of the caller's that is checkpointable. */
static int _list_all(void)
{
	job_info_msg_t *jobs = NULL;
	json_t *all = json_array();
	uid_t me = getuid();
	int ret = EX_OK;
	char *s;

	if (slurm_load_jobs(0, &jobs, SHOW_ALL) != 0 || !jobs) {
		fprintf(stderr, "crctl: %s\n", slurm_strerror(slurm_get_errno()));
		json_decref(all);
		return EX_FAIL;
	}
	for (uint32_t i = 0; i < jobs->record_count; i++) {
		job_info_t *j = &jobs->job_array[i];
		if ((j->job_state & JOB_STATE_BASE) != JOB_RUNNING || !j->batch_host)
			continue;
		if (me != 0 && j->user_id != me)
			continue;
		if (opt.json)
			_list_one(j->job_id, all, 1);
		else if (_list_one(j->job_id, NULL, 1) == EX_FAIL)
			ret = EX_FAIL;
	}
	slurm_free_job_info_msg(jobs);
	if (opt.json) {
		s = json_dumps(all, JSON_COMPACT);
		printf("%s\n", s ? s : "[]");
		free(s);
	}
	json_decref(all);
	return ret;
}

/* One job of an evacuated node: requeued from a checkpoint taken now, left, or failed. */
static json_t *_evacuate_job(uint32_t jobid, const char *node, const char *why)
{
	static char buf[CR_MSG_MAX];
	json_t *r, *res;
	int ret;

	buf[0] = '\0';
	json_object_set_new(opt.args, "Why", json_string(why));
	ret = _request(CR_CTL_REQUEUE, jobid, buf, sizeof(buf), 2);
	json_object_del(opt.args, "Why");
	if (ret == EX_OK) {
		res = json_loads(buf, 0, NULL);
		r = json_pack("{s:I, s:s, s:O?, s:O?, s:O?}", "jobid", (json_int_t)jobid, "outcome",
			      "requeued", "seq", json_object_get(res, "seq"), "seconds",
			      json_object_get(res, "total"), "bytes",
			      json_object_get(res, "bytes"));
		json_decref(res);
		if (!opt.json)
			printf("Job %u: checkpoint %lld committed in %.2f s; requeued (not onto %s "
			       "while it is drained)\n",
			       jobid, (long long)json_integer_value(json_object_get(r, "seq")),
			       json_real_value(json_object_get(r, "seconds")), node);
	} else if (ret == EX_NOTCKPT) {
		r = json_pack("{s:I, s:s, s:s}", "jobid", (json_int_t)jobid, "outcome", "left",
			      "why", buf);
		if (!opt.json)
			printf("Job %u: not checkpointable: left to finish on %s\n", jobid, node);
	} else {
		if (!buf[0])
			snprintf(buf, sizeof(buf),
				 "it is no longer running, or its crd did not answer");
		r = json_pack("{s:I, s:s, s:s}", "jobid", (json_int_t)jobid, "outcome", "failed",
			      "error", buf);
		if (!opt.json)
			printf("Job %u: not requeued, it runs on on %s: %s\n", jobid, node, buf);
	}
	fflush(stdout);
	return r;
}

/* crctl evacuate NODE: crd on NODE drains it and names its jobs; each is requeued in turn. */
static int _evacuate(void)
{
	static char buf[CR_MSG_MAX];
	char node[256], addr[256], why[512];
	int ret, failed = 0;
	json_t *o, *jobs, *j, *out;
	size_t i;

	if (!json_object_get(opt.args, "Reason")) {
		struct passwd *pw = getpwuid(getuid());
		snprintf(why, sizeof(why), "crctl evacuate by %s", pw ? pw->pw_name : "?");
		json_object_set_new(opt.args, "Reason", json_string(why));
	}
	snprintf(node, sizeof(node), "%s", json_string_value(json_object_get(opt.args, "Node")));
	ret = _node_addr(node, addr, sizeof(addr));
	if (!ret)
		ret = _ask(addr, CR_CTL_EVACUATE, 0, buf, sizeof(buf), 0);
	if (ret)
		return ret;
	o = json_loads(buf, 0, NULL);
	jobs = json_object_get(o, "jobs");
	snprintf(why, sizeof(why), "crctl evacuate %s: %s", node,
		 json_string_value(json_object_get(opt.args, "Reason")));
	json_object_del(opt.args, "Node");
	json_object_del(opt.args, "Reason");
	if (!opt.json)
		printf("Node %s drained (%s); %zu running job(s) on it\n", node,
		       json_string_value(json_object_get(o, "reason")), json_array_size(jobs));
	fflush(stdout);
	out = json_array();
	json_array_foreach(jobs, i, j)
	{
		json_t *r =
			_evacuate_job(json_integer_value(json_object_get(j, "jobid")), node, why);
		failed |= !strcmp(json_string_value(json_object_get(r, "outcome")), "failed");
		json_array_append_new(out, r);
	}
	json_object_set_new(o, "jobs", out);
	json_object_set_new(o, "drained", json_true());
	if (opt.json) {
		char *s = json_dumps(o, JSON_COMPACT);
		printf("%s\n", s ? s : "{}");
		free(s);
	}
	json_decref(o);
	return failed ? EX_PARTIAL : EX_OK;
}

static int _parse_jobid(const char *s, uint32_t *jobid)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v == 0 || v > UINT32_MAX)
		return -1;
	*jobid = v;
	return 0;
}

/* What subcommand @ci was given fits it: -1 to go on, or EX_USAGE (said why). */
static int _check_cmd_args(int ci, uint32_t jobid)
{
	if (json_object_get(opt.args, "FromScratch") && cmds[ci].cmd != CR_CTL_RESTART) {
		fprintf(stderr, "crctl: --from-scratch is for restart\n");
		return EX_USAGE;
	}
	if ((cmds[ci].cmd == CR_CTL_EVACUATE) != !!json_object_get(opt.args, "Node") ||
	    (json_object_get(opt.args, "Reason") && cmds[ci].cmd != CR_CTL_EVACUATE)) {
		fprintf(stderr, "crctl: evacuate needs a NODE, and --reason is evacuate's\n");
		return EX_USAGE;
	}
	if (cmds[ci].needs_job && !jobid) {
		fprintf(stderr, "crctl: %s needs a JOBID\n", cmds[ci].name);
		return EX_USAGE;
	}
	return -1;
}

/* Returns -1 to go on, or the exit code. */
static int _parse_args(int argc, char **argv, int *ci, uint32_t *jobid, const char **cfile)
{
	int ch;

	static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
						 {"json", no_argument, NULL, 'j'},
						 {NULL, 0, NULL, 0}};
	while ((ch = getopt_long(argc, argv, "+f:hj", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			*cfile = optarg;
			break;
		case 'h':
			_usage(stdout);
			return EX_OK;
		case 'j':
			opt.json = 1;
			break;
		default:
			_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		_usage(stderr);
		return EX_USAGE;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[optind], cmds[i].name))
			*ci = i;
	if (*ci < 0) {
		fprintf(stderr, "crctl: unknown subcommand \"%s\" (see crctl --help)\n",
			argv[optind]);
		return EX_USAGE;
	}
	for (int i = optind + 1; i < argc; i++) {
		char *end;
		if (!strcmp(argv[i], "--json")) {
			opt.json = 1;
		} else if (!strncasecmp(argv[i], "ImageDir=", 9) && argv[i][9] == '/') {
			json_object_set_new(opt.args, "ImageDir", json_string(argv[i] + 9));
		} else if (!strncasecmp(argv[i], "MaxWait=", 8) &&
			   strtol(argv[i] + 8, &end, 10) > 0 && !*end) {
			json_object_set_new(opt.args, "MaxWait",
					    json_integer(strtol(argv[i] + 8, NULL, 10)));
		} else if (!strncmp(argv[i], "--reason=", 9) && argv[i][9]) {
			json_object_set_new(opt.args, "Reason", json_string(argv[i] + 9));
		} else if (cmds[*ci].cmd == CR_CTL_EVACUATE && argv[i][0] != '-' &&
			   !json_object_get(opt.args, "Node")) {
			json_object_set_new(opt.args, "Node", json_string(argv[i]));
		} else if (!strcmp(argv[i], "--from-scratch")) {
			json_object_set_new(opt.args, "FromScratch", json_true());
		} else if (!strcasecmp(argv[i], "StickToNodes")) {
			json_object_set_new(opt.args, "StickToNodes", json_true());
		} else if (!strncmp(argv[i], "--exclude=", 10) && argv[i][10]) {
			json_object_set_new(opt.args, "exclude", json_string(argv[i] + 10));
		} else if ((!strcmp(argv[i], "--exclude") || !strcmp(argv[i], "-x")) &&
			   i + 1 < argc) {
			json_object_set_new(opt.args, "exclude", json_string(argv[++i]));
		} else if (!strncmp(argv[i], "--nodes=", 8) && strtol(argv[i] + 8, &end, 10) > 0 &&
			   !*end) {
			json_object_set_new(opt.args, "nodes",
					    json_integer(strtol(argv[i] + 8, NULL, 10)));
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			_usage(stdout);
			return EX_OK;
		} else if (*jobid || _parse_jobid(argv[i], jobid)) {
			fprintf(stderr, "crctl: %s: unexpected argument \"%s\"\n", cmds[*ci].name,
				argv[i]);
			return EX_USAGE;
		}
	}
	return _check_cmd_args(*ci, *jobid);
}

int main(int argc, char **argv)
{
	static char buf[CR_MSG_MAX];
	const char *cfile = getenv("CR_CONF");
	struct cr_conf c;
	char err[512];
	uint32_t jobid = 0;
	int ci = -1, ret;

	opt.args = json_object();
	opt.tty = isatty(2);
	ret = _parse_args(argc, argv, &ci, &jobid, &cfile);
	if (ret >= 0)
		return ret;
	cr_conf_defaults(&c);
	if (cfile && cr_conf_load(&c, cfile, err, sizeof(err))) {
		fprintf(stderr, "crctl: %s\n", err);
		return EX_FAIL;
	}
	if (!cfile && access(CR_CONF_DEFAULT, R_OK) == 0 &&
	    cr_conf_load(&c, CR_CONF_DEFAULT, err, sizeof(err))) {
		fprintf(stderr, "crctl: %s\n", err);
		return EX_FAIL;
	}
	opt.port = c.port;
	slurm_init(NULL);
	_slurm_conf();
	if (cmds[ci].cmd == CR_CTL_LIST) {
		ret = jobid ? _list_one(jobid, NULL, 0) : _list_all();
		goto out;
	}
	if (cmds[ci].cmd == CR_CTL_EVACUATE) {
		ret = _evacuate();
		goto out;
	}
	ret = _request(cmds[ci].cmd, jobid, buf, sizeof(buf), 0);
	if (ret)
		goto out;
	if (cmds[ci].cmd == CR_CTL_SHOW)
		ret = _show(buf);
	else if (opt.json || !_print_result(cmds[ci].cmd, jobid, buf))
		printf("%s\n", buf);
out:
	slurm_fini();
	return ret;
}
