// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The per-job monitor: forked by crd, detached (setsid, reparented away from
 * crd) so that crd can restart under running jobs. It is the parent of the
 * job's container on this node, owns StateDir/job<ID>.{sock,json}, and
 * connects the batch step's relay with the container's init:
 *
 *	relay --SPAWN(argv, env; stdio, script, cwd)--> monitor --SPAWN(+uid,
 *	groups, umask, rlimits, cpus read from the kernel)--> init
 *	relay --SIGNAL--> monitor --> init;  init --EXIT(status)--> monitor --> relay
 *
 * crd talks to it over the socket: ADOPT (a verified relay's connection),
 * STATUS, SET (enable/disable), JOB_END.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "container.h"
#include "glue.h"
#include "continue.h"
#include "coord.h"
#include "drain.h"
#include "jobaddr.h"
#include "jobnet.h"
#include "jobpeers.h"
#include "jobstat.h"
#include "log.h"
#include "monitor.h"
#include "nodeloss.h"
#include "preempt.h"
#include "proto.h"
#include "relay.h"
#include "slurmjob.h"
#include "stepcreds.h"
#include "store.h"
#include "userfs.h"

enum coord_kind {
	CO_NONE,
	CO_RESTORE,  /* at the batch step's start */
	CO_PERIODIC, /* at the job's interval */
	CO_CONTINUE, /* before the time limit, then requeued (--checkpoint-continue) */
	CO_PREEMPT,  /* preempted: within the grace time, then requeued or ended */
	CO_DRAIN,    /* a node of the job drained: requeued off it (EvacuateOnDrain) */
};

struct monitor {
	const struct crd_ctx *ctx;
	struct cr_job ji;
	int listen_fd;
	int ctl_fd; /* to the init */
	int relay_fd;
	pid_t init_pid;
	pid_t relay_pid;
	pid_t script_pid; /* in the container's pid namespace */
	enum job_state state;
	int enabled;
	int exit_status;
	time_t started;
	int in_step;	     /* the init sits in a step's cgroups (extern or batch) */
	struct cr_msg spawn; /* the relay's SPAWN, kept while a restore is tried */
	int have_spawn;
	int pending_fd; /* a node request waiting for the init's answer */
	uint32_t pending_type;
	int dropping; /* the init drops a restored tree nobody waits for: its answer is ours */
	pid_t coord_pid;
	enum coord_kind coord_kind;
	time_t last_ckpt;	/* end of the last periodic checkpoint attempt (or the start) */
	int coord_report;	/* the coordinator child's message */
	struct cont cont;	/* --checkpoint-continue */
	struct preempt preempt; /* a preemption's grace time */
	struct drain drain;	/* EvacuateOnDrain */
	int lost_node;		/* the script ended with a node lost: the job requeued */
};

static void _status(const struct monitor *mon, struct job_status *js)
{
	*js = (struct job_status){
		.ji = mon->ji,
		.state = mon->state,
		.enabled = mon->enabled,
		.monitor_pid = getpid(),
		.init_pid = mon->init_pid,
		.relay_pid = mon->relay_pid,
		.script_pid = mon->script_pid,
		.started = mon->started,
		.exit_status = mon->exit_status,
	};
}

static char *_status_json(struct monitor *mon)
{
	struct job_status js;

	_status(mon, &js);
	return jobstat_encode(&js, NULL);
}

static void _save_state(struct monitor *mon)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	char *s = _status_json(mon);
	int fd;

	if (!s)
		return;
	jobstat_path(mon->ctx, mon->ji.jobid, mon->ji.unit, JOBSTAT_STATE, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s) || rename(tmp, path) < 0)
		log_warn("monitor: cannot save %s", path);
	if (fd >= 0)
		close(fd);
	free(s);
}

static void _kill_container(struct monitor *mon)
{
	if (mon->init_pid > 0)
		kill(mon->init_pid, SIGKILL);
}

static void _drop_relay(struct monitor *mon, const char *why)
{
	if (mon->relay_fd < 0)
		return;
	log_info("job %u: relay %d: %s", mon->ji.jobid, mon->relay_pid, why);
	close(mon->relay_fd);
	mon->relay_fd = -1;
}

/* Hand the relay's SPAWN to the init: the script starts from the top. */
static void _forward_spawn(struct monitor *mon, struct cr_msg *m)
{
	struct cr_buf b;
	int ret;

	cr_buf_init(&b);
	ret = stepcreds_pack(mon->ji.jobid, mon->ji.uid, mon->relay_pid, &b);
	/* argv and env follow the version unchanged; init checks their framing. */
	if (!ret) {
		cr_pack_raw(&b, m->data + m->pos, m->hdr.len - CR_HDR_SIZE - m->pos);
		ret = cr_send(mon->ctl_fd, CR_MSG_SPAWN, &b, m->fds, m->nfds);
	}
	cr_buf_free(&b);
	if (ret) {
		errno = -ret;
		log_warn("job %u: cannot start the script", mon->ji.jobid);
		cr_send_err(mon->relay_fd, CR_E_FAILED, "cannot start the batch script: %s",
			    strerror(-ret));
		_drop_relay(mon, "SPAWN failed");
		return;
	}
	mon->state = JS_RUNNING;
	mon->last_ckpt = time(NULL);
	_save_state(mon);
}

static void _start_coord(struct monitor *mon, enum coord_kind kind);

static void _relay_spawn(struct monitor *mon, struct cr_msg *m)
{
	uint32_t version;

	if (mon->state != JS_IDLE) {
		cr_send_err(mon->relay_fd, CR_E_FAILED, "the job's container already ran a script");
		_drop_relay(mon, "second SPAWN");
		return;
	}
	if (m->nfds != 5 || cr_unpack_u32(m, &version) || version != CR_PROTO_VERSION) {
		cr_send_err(mon->relay_fd, CR_E_PROTO, "bad SPAWN request");
		_drop_relay(mon, "bad SPAWN");
		return;
	}
	if (!mon->ji.batch) {
		_forward_spawn(mon, m);
		return;
	}
	/* A requeued or restarted job resumes from its checkpoint, if it has one. */
	mon->spawn = *m;
	mon->have_spawn = 1;
	m->data = NULL;
	m->nfds = 0;
	mon->state = JS_RESTORING;
	_save_state(mon);
	_start_coord(mon, CO_RESTORE);
}

static void _relay_msg(struct monitor *mon)
{
	struct cr_msg m;
	uint32_t signo;
	int ret;

	ret = cr_recv(mon->relay_fd, &m);
	if (ret) {
		if (mon->state == JS_RESTORING && mon->coord_pid > 0)
			kill(mon->coord_pid, SIGKILL);
		if (mon->state == JS_RUNNING || mon->state == JS_RESTORING) {
			/* The task slurmstepd waits on is gone: so goes the job. */
			log_warnx("job %u: relay %d gone while the script runs: killing the "
				  "container",
				  mon->ji.jobid, mon->relay_pid);
			_kill_container(mon);
		}
		_drop_relay(mon, ret == -ECONNRESET ? "closed" : "read error");
		return;
	}
	switch (m.hdr.type) {
	case CR_MSG_SPAWN:
		_relay_spawn(mon, &m);
		break;
	case CR_MSG_SIGNAL:
		if (cr_unpack_u32(&m, &signo) || cr_unpack_done(&m) || !signo || signo >= NSIG) {
			_drop_relay(mon, "bad SIGNAL length");
			break;
		}
		if (signo == SIGTERM && !mon->coord_pid)
			preempt_on_term(mon->ctx, &mon->ji, &mon->preempt);
		log_debug("job %u: forwarding signal %u", mon->ji.jobid, signo);
		cr_send_u32(mon->ctl_fd, CR_MSG_SIGNAL, signo);
		break;
	default:
		log_warnx("job %u: unexpected %s from the relay", mon->ji.jobid,
			  cr_msg_name(m.hdr.type));
		_drop_relay(mon, "protocol error");
	}
	cr_msg_free(&m);
}

/* A tree rebuilt for a helper that is gone (timed out) would stay stopped: abort it now. */
static int _drop_orphan(struct monitor *mon, struct cr_msg *m)
{
	struct cr_buf b;
	char c;

	if (mon->pending_type != CR_MSG_RESTORE || m->hdr.type != CR_MSG_OK ||
	    recv(mon->pending_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) != 0)
		return 0;
	log_warnx("job %u: the restore finished after its node helper left: aborting it",
		  mon->ji.jobid);
	cr_buf_init(&b);
	cr_pack_u32(&b, 0);
	mon->dropping = cr_send(mon->ctl_fd, CR_MSG_RESUME, &b, NULL, 0) == 0;
	cr_buf_free(&b);
	close(mon->pending_fd);
	mon->pending_fd = -1;
	return 1;
}

/* The init answered a node request (RESTORE, RESUME): pass it on. */
static void _answer_pending(struct monitor *mon, struct cr_msg *m)
{
	const char *text = "";
	uint32_t code = 0;

	if (mon->dropping) {
		mon->dropping = 0;
		return;
	}
	if (mon->pending_fd < 0 || _drop_orphan(mon, m))
		return;
	if ((m->hdr.type == CR_MSG_ERR && cr_unpack_u32(m, &code)) || cr_unpack_str(m, &text) ||
	    cr_unpack_done(m)) {
		log_warnx("job %u: malformed %s from the init", mon->ji.jobid,
			  cr_msg_name(m->hdr.type));
		cr_send_err(mon->pending_fd, CR_E_PROTO, "malformed %s from the container's init",
			    cr_msg_name(m->hdr.type));
	} else if (m->hdr.type == CR_MSG_ERR)
		cr_send_err(mon->pending_fd, code ? code : CR_E_FAILED, "%s", text);
	else
		cr_send_ok(mon->pending_fd, text);
	close(mon->pending_fd);
	mon->pending_fd = -1;
}

static void _init_msg(struct monitor *mon)
{
	struct cr_msg m;
	uint32_t v;

	if (cr_recv(mon->ctl_fd, &m)) {
		close(mon->ctl_fd);
		mon->ctl_fd = -1;
		mon->dropping = 0;
		if (mon->pending_fd >= 0) {
			cr_send_err(mon->pending_fd, CR_E_FAILED, "the container's init is gone");
			close(mon->pending_fd);
			mon->pending_fd = -1;
		}
		return;
	}
	if (m.hdr.type == CR_MSG_OK || m.hdr.type == CR_MSG_ERR) {
		_answer_pending(mon, &m);
		cr_msg_free(&m);
		return;
	}
	if ((m.hdr.type != CR_MSG_STARTED && m.hdr.type != CR_MSG_EXIT) || cr_unpack_u32(&m, &v) ||
	    cr_unpack_done(&m)) {
		log_warnx("job %u: bad %s from the init", mon->ji.jobid, cr_msg_name(m.hdr.type));
		cr_msg_free(&m);
		return;
	}
	if (m.hdr.type == CR_MSG_STARTED) {
		mon->script_pid = v;
		if (mon->state == JS_RESTORING) {
			/* What was restored runs: it is the script now, with its name and address.
			 */
			mon->state = JS_RUNNING;
			jobnet_live(mon->init_pid, mon->ji.hostname, sizeof(mon->ji.hostname),
				    &mon->ji.addr);
			mon->last_ckpt = time(NULL);
			log_info("job %u: resumed from its checkpoint in %s", mon->ji.jobid,
				 mon->ji.hostname);
			if (mon->pending_fd >= 0) {
				cr_send_ok(mon->pending_fd, "started");
				close(mon->pending_fd);
				mon->pending_fd = -1;
			}
			_save_state(mon);
		} else {
			log_info("job %u: batch script started in %s", mon->ji.jobid,
				 mon->ji.hostname);
		}
	} else {
		mon->exit_status = v;
		mon->state = JS_EXITED;
		log_info("job %u: batch script ended, status %#x", mon->ji.jobid, v);
		mon->lost_node = nodeloss_requeue(mon->ctx, &mon->ji, (int)v);
		_save_state(mon);
	}
	/* Reported to the relay once the init is reaped (EXIT) or now (STARTED). */
	if (m.hdr.type == CR_MSG_STARTED && mon->relay_fd >= 0)
		cr_send_u32(mon->relay_fd, CR_MSG_STARTED, v);
	cr_msg_free(&m);
}

static void _report_exit(struct monitor *mon)
{
	/* Requeued: slurmctld ends the batch step; its status is not the job's. */
	if (mon->relay_fd < 0 || mon->lost_node)
		return;
	cr_send_u32(mon->relay_fd, CR_MSG_EXIT, mon->exit_status);
	_drop_relay(mon, "script ended");
}

/* Exits 0 (done), 10 (nothing to restore), 11 (restore failed, job held) or 1 (failed). */
static void _coord_child(struct monitor *mon, enum coord_kind kind, int report)
{
	char msg[2048] = "", why[2048] = "";
	json_t *result = NULL;
	int ret, held = 0;

	close(mon->listen_fd);
	if (mon->ctl_fd >= 0)
		close(mon->ctl_fd);
	if (mon->relay_fd >= 0)
		close(mon->relay_fd);
	if (kind == CO_RESTORE) {
		struct coord_restore_opts o = {.ckdir = mon->ji.ckpt_dir,
					       .src_jobid = mon->ji.restart_from,
					       .uid = mon->ji.uid,
					       .gid = mon->ji.gid};
		ret = coord_restore(mon->ctx, mon->ji.jobid, &o, why, sizeof(why));
		snprintf(msg, sizeof(msg), "%s", why);
		/* Held (requeued) or failed, with the reason: what the job's stderr is told. */
		if (ret < 0)
			held = slurmjob_restore_failed(mon->ctx, mon->ji.jobid, why, msg,
						       sizeof(msg));
	} else {
		struct coord_opts o = {.op = COORD_PERIODIC};
		struct job_status st;

		if (kind == CO_CONTINUE)
			continue_opts(&mon->cont, &o);
		else if (kind == CO_PREEMPT)
			preempt_opts(&mon->preempt, &o);
		else if (kind == CO_DRAIN)
			drain_opts(&mon->drain, &o);
		_status(mon, &st);
		ret = coord_checkpoint(mon->ctx, &st, &o, &result, msg, sizeof(msg));
		json_decref(result);
	}
	if (write(report, msg, strlen(msg)) < 0)
		log_warn("monitor: coordinator report");
	_exit(ret == 0 ? 0 : ret == COORD_FRESH ? 10 : held ? 11 : 1);
}

static void _start_coord(struct monitor *mon, enum coord_kind kind)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		log_warn("job %u: pipe", mon->ji.jobid);
		return;
	}
	pid = fork();
	if (pid < 0) {
		log_warn("job %u: fork", mon->ji.jobid);
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		close(p[0]);
		log_setproc(kind == CO_RESTORE	  ? "coord-restore"
			    : kind == CO_CONTINUE ? "coord-continue"
			    : kind == CO_PREEMPT  ? "coord-preempt"
			    : kind == CO_DRAIN	  ? "coord-drain"
						  : "coord-periodic");
		_coord_child(mon, kind, p[1]);
	}
	close(p[1]);
	mon->coord_report = p[0];
	mon->coord_pid = pid;
	mon->coord_kind = kind;
}

/*
 * The restore failed (the job requeued held, or to fail): the job's stderr
 * says why and the batch step ends, as a task, with status 1 (never as a
 * plugin failure). A tree some node already runs (the others failed) goes.
 */
static void _restore_failed(struct monitor *mon, const char *line, int held)
{
	log_warnx("job %u: %s", mon->ji.jobid, held ? "held after a failed restore" : line);
	if (mon->have_spawn && write(mon->spawn.fds[2], line, strlen(line)) < 0)
		log_warn("job %u: cannot tell the job's stderr", mon->ji.jobid);
	if (mon->state == JS_RUNNING) {
		_kill_container(mon);
		return;
	}
	if (mon->state != JS_RESTORING)
		return;
	mon->exit_status = 1 << 8;
	mon->state = JS_EXITED;
	_report_exit(mon);
	_save_state(mon);
}

static void _coord_done(struct monitor *mon, int status)
{
	char msg[2048] = "";
	ssize_t n;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;

	n = mon->coord_report >= 0 ? read(mon->coord_report, msg, sizeof(msg) - 1) : -1;
	msg[n > 0 ? n : 0] = '\0';
	if (mon->coord_report >= 0)
		close(mon->coord_report);
	mon->coord_report = -1;
	mon->coord_pid = 0;
	if (mon->coord_kind == CO_CONTINUE && code)
		continue_failed(&mon->ji, &mon->cont, msg);
	if (mon->coord_kind == CO_PREEMPT && code)
		preempt_failed(&mon->ji, &mon->preempt, msg);
	if (mon->coord_kind == CO_DRAIN && code)
		drain_failed(&mon->ji, &mon->drain, msg);
	if (mon->coord_kind == CO_CONTINUE || mon->coord_kind == CO_PREEMPT ||
	    mon->coord_kind == CO_DRAIN)
		return;
	if (mon->coord_kind == CO_PERIODIC) {
		mon->last_ckpt = time(NULL);
		if (code)
			log_warnx("job %u: periodic checkpoint failed: %s", mon->ji.jobid, msg);
		return;
	}
	if (code == 10 && mon->state == JS_RESTORING) {
		mon->state = JS_IDLE;
		_forward_spawn(mon, &mon->spawn);
	} else if (code == 0) {
		log_info("job %u: %s", mon->ji.jobid, msg);
	} else {
		_restore_failed(mon, *msg ? msg : "slurm-cr: the restore failed\n", code == 11);
	}
	cr_msg_free(&mon->spawn);
	mon->have_spawn = 0;
}

static void _reap(struct monitor *mon)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == mon->coord_pid) {
			_coord_done(mon, status);
			continue;
		}
		if (pid != mon->init_pid)
			continue;
		/* Whatever the init said before it went is still in the socket. */
		while (mon->ctl_fd >= 0)
			_init_msg(mon);
		mon->init_pid = 0;
		if (mon->state == JS_RUNNING) {
			/* Killed from outside (scancel's SIGKILL) before it reported. */
			mon->exit_status = WIFSIGNALED(status) ? WTERMSIG(status) : status;
			mon->state = JS_EXITED;
		}
		log_info("job %u: container init %d ended", mon->ji.jobid, pid);
		_report_exit(mon);
		_save_state(mon);
	}
}

/*
 * Until a relay takes the container into the batch step, keep it in the job's
 * extern step (PrologFlags=Contain), which slurmd creates right after the
 * prolog: then Slurm owns it on every node and kills it at the job's end even
 * if the epilog cannot reach us. Returns the poll timeout to use.
 */
static int _join_extern(struct monitor *mon)
{
	if (mon->in_step || mon->init_pid <= 0 || time(NULL) - mon->started > 60)
		return -1;
	/* Tests: the extern step found late, as when slurmd is slow to make it. */
	if (time(NULL) - mon->started < fault_delay(mon->ctx, "join-extern"))
		return 100;
	if (cgroup_join_extern(mon->ctx->conf.node_name, mon->ji.uid, mon->ji.jobid, mon->init_pid))
		return 100;
	mon->in_step = 1;
	log_info("job %u: container in the extern step's cgroups", mon->ji.jobid);
	return -1;
}

/*
 * The poll timeout: short while the container waits for the extern step;
 * then a slow check that the job is still on this node (its cgroups: with
 * PrologFlags=Contain they live as long as the job), so that a missed epilog
 * (crd or slurmd down at the job's end) does not leave the container behind.
 */
/* An event's checkpoint: w seconds until it is due (0: start it now, <0: none); *t shortened. */
static void _due(struct monitor *mon, int w, enum coord_kind kind, int *t)
{
	if (w == 0)
		_start_coord(mon, kind);
	else if (w > 0 && (long long)w * 1000 < *t)
		*t = w * 1000;
}

static int _timeout(struct monitor *mon)
{
	int t = _join_extern(mon);
	time_t now = time(NULL);

	if (t < 0)
		t = 30000;
	/* Checkpoints of the job's own: from the batch host, while the script runs, one at a time.
	 */
	if (!mon->ji.batch || mon->state != JS_RUNNING || !mon->enabled)
		return t;
	if (!mon->coord_pid && mon->ji.interval > 0) {
		time_t due = mon->last_ckpt + mon->ji.interval;
		_due(mon, now >= due ? 0 : (int)(due - now), CO_PERIODIC, &t);
	}
	if (!mon->coord_pid && (mon->ji.flags & CR_JOB_CONTINUE))
		_due(mon, continue_wait(mon->ctx, &mon->ji, &mon->cont, now), CO_CONTINUE, &t);
	if (!mon->coord_pid)
		_due(mon, preempt_wait(mon->ctx, &mon->ji, &mon->preempt, now), CO_PREEMPT, &t);
	if (!mon->coord_pid)
		_due(mon, drain_wait(mon->ctx, &mon->ji, &mon->drain, now), CO_DRAIN, &t);
	return t;
}

static void _adopt(struct monitor *mon, int cfd, struct cr_msg *m)
{
	uint32_t pid;

	if (m->nfds != 1 || cr_unpack_u32(m, &pid) || cr_unpack_done(m)) {
		cr_send_err(cfd, CR_E_PROTO, "bad ADOPT");
		return;
	}
	if (mon->relay_fd >= 0 || mon->state != JS_IDLE || mon->init_pid <= 0) {
		cr_send_err(m->fds[0], CR_E_FAILED, "job %u: the container is %s", mon->ji.jobid,
			    mon->relay_fd >= 0 ? "already in use" : jobstat_state_name(mon->state));
		cr_send_err(cfd, CR_E_FAILED, "busy");
		return;
	}
	if (cgroup_move_like(mon->init_pid, pid) < 0) {
		cr_send_err(m->fds[0], CR_E_FAILED,
			    "cannot move the container into the step's cgroups");
		cr_send_err(cfd, CR_E_FAILED, "cgroup");
		return;
	}
	mon->in_step = 1;
	mon->relay_fd = m->fds[0];
	m->nfds = 0;
	mon->relay_pid = pid;
	cr_send_ok(mon->relay_fd, mon->ji.hostname);
	cr_send_ok(cfd, "adopted");
	log_info("job %u: relay %d adopted", mon->ji.jobid, pid);
	_save_state(mon);
}

/*
 * RESTORE and RESUME go to the init, which answers when it is done: the
 * connection waits in pending_fd. RESTORE carries the image directory; on
 * the batch host the relay's stdio goes along, for the restored root.
 */
static int _to_init(struct monitor *mon, int cfd, struct cr_msg *m)
{
	int fds[4], nfds = 0, ret;
	const char *text;
	struct cr_buf b;

	if (mon->pending_fd >= 0 || mon->dropping || mon->ctl_fd < 0) {
		cr_send_err(cfd, CR_E_BUSY, "the container is busy or gone");
		return 0;
	}
	if (m->hdr.type == CR_MSG_RESTORE) {
		if (m->nfds != 1) {
			cr_send_err(cfd, CR_E_PROTO, "bad RESTORE");
			return 0;
		}
		fds[nfds++] = m->fds[0];
		/* the slot this container now holds; on the batch host, where each one is */
		if (!cr_unpack_str(m, &text) && !jobstat_restored(&mon->ji, text))
			_save_state(mon);
		if (mon->have_spawn)
			for (int i = 0; i < 3; i++)
				fds[nfds++] = mon->spawn.fds[i];
	} else if (m->nfds > 1) {
		cr_send_err(cfd, CR_E_PROTO, "bad RESUME");
		return 0;
	} else if (m->nfds) { /* a rollback's keep directory */
		fds[nfds++] = m->fds[0];
	}
	cr_buf_init(&b);
	cr_pack_raw(&b, m->data, m->hdr.len - CR_HDR_SIZE);
	ret = cr_send(mon->ctl_fd, m->hdr.type, &b, fds, nfds);
	cr_buf_free(&b);
	if (ret) {
		cr_send_err(cfd, CR_E_FAILED, "cannot reach the container's init: %s",
			    strerror(-ret));
		return 0;
	}
	mon->pending_fd = cfd;
	mon->pending_type = m->hdr.type;
	return 2;
}

/* One request from crd per connection. Returns 1 when the job ends, 2 when cfd is kept. */
static int _crd_request(struct monitor *mon, int cfd)
{
	struct cr_msg m;
	uint32_t on;
	char *s;
	int done = 0;

	if (cr_recv(cfd, &m))
		return 0;
	switch (m.hdr.type) {
	case CR_MSG_RESTORE:
	case CR_MSG_RESUME:
		done = _to_init(mon, cfd, &m);
		break;
	case CR_MSG_ADOPT:
		_adopt(mon, cfd, &m);
		break;
	case CR_MSG_STATUS:
		s = _status_json(mon);
		if (cr_unpack_done(&m) || !s)
			cr_send_err(cfd, CR_E_PROTO, "bad STATUS");
		else
			cr_send_ok(cfd, s);
		free(s);
		break;
	case CR_MSG_SET:
		if (cr_unpack_u32(&m, &on) || cr_unpack_done(&m)) {
			cr_send_err(cfd, CR_E_PROTO, "bad SET");
			break;
		}
		mon->enabled = !!on;
		_save_state(mon);
		cr_send_ok(cfd, mon->enabled ? "enabled" : "disabled");
		break;
	case CR_MSG_JOB_END:
		if (cr_unpack_done(&m)) {
			cr_send_err(cfd, CR_E_PROTO, "bad JOB_END");
			break;
		}
		done = 1;
		break;
	default:
		log_warnx("job %u: unexpected %s from crd", mon->ji.jobid, cr_msg_name(m.hdr.type));
		cr_send_err(cfd, CR_E_PROTO, "unexpected %s", cr_msg_name(m.hdr.type));
	}
	cr_msg_free(&m);
	return done;
}

/* CompletedJobCheckpoints=remove: a job that ended well needs no checkpoint. */
static void _remove_checkpoints(struct monitor *mon)
{
	struct job_user u;
	char err[512];
	int ret;

	if (!mon->ji.batch || mon->state != JS_EXITED || mon->exit_status != 0 ||
	    strcmp(mon->ctx->conf.completed, "remove"))
		return;
	if (user_lookup(mon->ji.uid, mon->ji.gid, &u, err, sizeof(err)) ||
	    user_fs_enter(&u, err, sizeof(err))) {
		log_warnx("job %u: %s", mon->ji.jobid, err);
		user_fs_leave();
		return;
	}
	ret = store_remove_job(mon->ji.ckpt_dir, mon->ji.jobid, err, sizeof(err));
	if (ret && ret != -ENOENT)
		log_warnx("job %u: removing its checkpoints: %s", mon->ji.jobid, err);
	if (mon->ji.restart_from &&
	    store_remove_job(mon->ji.ckpt_dir, mon->ji.restart_from, err, sizeof(err)))
		log_warnx("job %u: removing job %u's checkpoints: %s", mon->ji.jobid,
			  mon->ji.restart_from, err);
	user_fs_leave();
	if (!ret || ret == -ENOENT)
		jobaddr_release(mon->ctx, mon->ji.jobid, mon->ji.restart_from);
	/* A requeue of the completed job starts it from the top: nothing was lost. */
	if (mon->ctx->slurm_ok)
		slurmjob_note(mon->ji.jobid, 0, SLURMJOB_CHECKPOINTED,
			      "completed; checkpoints removed");
	log_info("job %u: completed, its checkpoints removed", mon->ji.jobid);
}

static void _finish(struct monitor *mon, int cfd)
{
	char path[PATH_MAX];
	int status;

	if (mon->coord_pid > 0) {
		if (mon->coord_kind == CO_PREEMPT)
			preempt_failed(&mon->ji, &mon->preempt, "");
		kill(mon->coord_pid, SIGKILL);
		waitpid(mon->coord_pid, &status, 0);
		mon->coord_pid = 0;
	}
	_kill_container(mon);
	if (mon->init_pid > 0)
		waitpid(mon->init_pid, &status, 0);
	mon->init_pid = 0;
	if (mon->state == JS_RUNNING) {
		mon->exit_status = SIGKILL;
		mon->state = JS_EXITED;
	}
	_report_exit(mon);
	_remove_checkpoints(mon);
	jobstat_path(mon->ctx, mon->ji.jobid, mon->ji.unit, JOBSTAT_SOCK, path, sizeof(path));
	unlink(path);
	jobstat_path(mon->ctx, mon->ji.jobid, mon->ji.unit, JOBSTAT_STATE, path, sizeof(path));
	unlink(path);
	jobstat_path(mon->ctx, mon->ji.jobid, mon->ji.unit, JOBSTAT_HOSTS, path, sizeof(path));
	unlink(path);
	jobstat_path(mon->ctx, mon->ji.jobid, mon->ji.unit, JOBSTAT_ROUTES, path, sizeof(path));
	jobnet_routes_drop(path);
	jobnet_detach(mon->ji.jobid, mon->ji.unit);
	/* Last, still holding it: the next monitor of this job id may start. */
	jobstat_path(mon->ctx, mon->ji.jobid, mon->ji.unit, JOBSTAT_LOCK, path, sizeof(path));
	unlink(path);
	log_info("job %u: container removed", mon->ji.jobid);
	if (cfd >= 0)
		cr_send_ok(cfd, "removed");
}

static void _monitor_loop(struct monitor *mon)
{
	struct signalfd_siginfo si;
	struct pollfd pfd[4];
	sigset_t set;
	int sfd, cfd, n;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		fatal("monitor: signalfd");
	for (;;) {
		pfd[0] = (struct pollfd){.fd = mon->listen_fd, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
		pfd[2] = (struct pollfd){.fd = mon->ctl_fd, .events = POLLIN};
		pfd[3] = (struct pollfd){.fd = mon->relay_fd, .events = POLLIN};
		n = poll(pfd, 4, _timeout(mon));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal("monitor: poll");
		}
		if (n == 0 && time(NULL) - mon->started > 60 &&
		    !cgroup_job_alive(mon->ctx->conf.node_name, mon->ji.uid, mon->ji.jobid)) {
			log_info("job %u: no longer on this node and no epilog came",
				 mon->ji.jobid);
			_finish(mon, -1);
			return;
		}
		if (pfd[2].revents)
			_init_msg(mon);
		if (pfd[1].revents & POLLIN) {
			if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGCHLD) {
				log_info("job %u: monitor got signal %u, removing the container",
					 mon->ji.jobid, si.ssi_signo);
				_finish(mon, -1);
				return;
			}
			_reap(mon);
		}
		if (pfd[3].revents)
			_relay_msg(mon);
		if (pfd[0].revents & POLLIN) {
			cfd = accept4(mon->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (cfd < 0)
				continue;
			setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){5, 0},
				   sizeof(struct timeval));
			switch (_crd_request(mon, cfd)) {
			case 1:
				_finish(mon, cfd);
				close(cfd);
				return;
			case 2:
				break;
			default:
				close(cfd);
			}
		}
	}
}

/* The container, named and addressed as slot of the job, with routes to the job's other slots. */
static int _container_up(struct monitor *mon, char *err, size_t errlen)
{
	const struct cr_job *ji = &mon->ji;
	char hosts[PATH_MAX], routes[PATH_MAX];
	struct job_peer *peers = NULL, self = {0};
	uint32_t block = 0;
	size_t n = 0;
	int ret;

	/* the job's addresses: the same block on every node, never another live job's */
	ret = ji->unit ? 0 : jobaddr_claim(mon->ctx, &mon->ji, &block, err, errlen);
	if (ret)
		return ret;
	self.addr = ji->addr;
	snprintf(self.name, sizeof(self.name), "%s", ji->hostname);
	snprintf(self.node, sizeof(self.node), "%s", mon->ctx->conf.node_name);
	/*
	 * A node list we cannot expand (or not naming us): a job of one slot. A
	 * unit made for a restore has its slot's address; the restore gives it
	 * its peers, and unit 0's routes serve it.
	 */
	if (ji->unit || jobpeers_fresh(&mon->ctx->conf, block, ji->nodelist, &peers, &n) ||
	    ji->slot >= n || strcmp(peers[ji->slot].node, self.node)) {
		free(peers);
		peers = &self;
		n = 1;
	}
	jobstat_path(mon->ctx, ji->jobid, ji->unit, JOBSTAT_HOSTS, hosts, sizeof(hosts));
	jobstat_path(mon->ctx, ji->jobid, ji->unit, JOBSTAT_ROUTES, routes, sizeof(routes));
	ret = container_create(ji, &mon->ctx->conf, hosts, peers, n, &mon->ctl_fd, &mon->init_pid,
			       err, errlen);
	if (!ret && n > 1)
		ret = jobnet_routes(routes, self.node, peers, n, err, errlen);
	if (peers != &self)
		free(peers);
	return ret;
}

static void _monitor_main(const struct crd_ctx *ctx, const struct cr_job *ji, int ready)
{
	struct monitor m, *mon = &m;

	char path[PATH_MAX], msg[256] = "", err[256];
	int ret;

	memset(mon, 0, sizeof(*mon));
	mon->ctx = ctx;
	mon->ji = *ji;
	mon->coord_report = -1;
	mon->ctl_fd = mon->relay_fd = mon->pending_fd = -1;
	mon->enabled = 1;
	mon->started = time(NULL);
	if (ji->unit)
		snprintf(path, sizeof(path), "crd-job%u.u%u", ji->jobid, ji->unit);
	else
		snprintf(path, sizeof(path), "crd-job%u", ji->jobid);
	log_setproc(path);
	prctl(PR_SET_NAME, path);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	ret = jobstat_claim(ctx, ji->jobid, ji->unit);
	if (ret < 0) {
		snprintf(msg, sizeof(msg), "another monitor of the job runs here: %s",
			 strerror(-ret));
		goto fail;
	}
	jobstat_path(ctx, ji->jobid, ji->unit, JOBSTAT_SOCK, path, sizeof(path));
	mon->listen_fd = cr_unix_listen(path, 0600);
	if (mon->listen_fd < 0) {
		snprintf(msg, sizeof(msg), "cannot listen on %.180s: %s", path,
			 strerror(-mon->listen_fd));
		goto fail;
	}
	ret = _container_up(mon, err, sizeof(err));
	if (ret) {
		snprintf(msg, sizeof(msg), "cannot create the container: %.200s", err);
		unlink(path);
		goto fail;
	}
	_save_state(mon);
	log_info("job %u: container %s up, init %d", ji->jobid, ji->hostname, mon->init_pid);
	if (write(ready, "", 1) != 1)
		log_warn("monitor: ready");
	close(ready);
	_monitor_loop(mon);
	exit(0);
fail:
	log_warnx("job %u: %s", ji->jobid, msg);
	if (write(ready, msg, strlen(msg) + 1) < 0)
		log_warn("monitor: ready");
	exit(1);
}

int monitor_spawn(const struct crd_ctx *ctx, const struct cr_job *ji, char *err, size_t errlen)
{
	char buf[256];
	int p[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		/* Detach: own session, parent is not crd, crd's sockets closed. */
		close(p[0]);
		setsid();
		signal(SIGPIPE, SIG_IGN);
		if (fork() != 0)
			_exit(0);
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0)
			dup2(devnull, 0);
		for (int fd = 3; fd < 1024; fd++)
			if (fd != p[1] && fd != log_getfd())
				close(fd);
		_monitor_main(ctx, ji, p[1]);
	}
	close(p[1]);
	waitpid(pid, &status, 0);
	/* The monitor answers within its container's creation time. */
	struct pollfd pfd = {.fd = p[0], .events = POLLIN};
	n = poll(&pfd, 1, 10000) == 1 ? read(p[0], buf, sizeof(buf) - 1) : -1;
	close(p[0]);
	if (n == 1 && buf[0] == '\0')
		return 0;
	if (n > 1) {
		buf[n] = '\0';
		snprintf(err, errlen, "%s", buf);
	} else {
		snprintf(err, errlen, "the job monitor did not start");
	}
	return -EIO;
}
