// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The local door (crd's unix socket), served in a crd worker: a job's
 * container is created at its prolog (JOB_START) and removed at its epilog
 * (JOB_END), both from root; the batch step's relay (HELLO) is checked
 * (uid, cgroups, parent) and handed to the job's monitor; cr-rsh's launch
 * requests (RSH) go to launch.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <slurm/slurm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "jobstat.h"
#include "launch.h"
#include "local.h"
#include "log.h"
#include "monitor.h"
#include "proto.h"
#include "relay.h"
#include "store.h"
#include "userfs.h"

#define BATCH_STEP 0xfffffffbU

static int _peer(int fd, struct ucred *uc)
{
	socklen_t len = sizeof(*uc);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, uc, &len);
}

static uint32_t _slot_of(const char *nodelist, const char *node)
{
	hostlist_t hl;
	int i;

	if (!*nodelist)
		return 0;
	hl = slurm_hostlist_create(nodelist);
	if (!hl)
		return 0;
	i = slurm_hostlist_find(hl, node);
	slurm_hostlist_destroy(hl);
	return i < 0 ? 0 : i;
}

/*
 * The job's nodes and batch host, from slurmctld (the prolog's environment
 * does not have them everywhere). A --checkpoint job must also be
 * requeueable: a node failure requeues it and it resumes from its checkpoint,
 * and a restore that fails requeues it held (slurm_requeue needs the flag).
 * Set on the batch host, logged at info; `crctl show` shows it.
 */
static void _job_layout(const struct crd_ctx *ctx, struct cr_job *ji, const char *node)
{
	job_info_msg_t *jobs = NULL;
	job_desc_msg_t desc;
	job_info_t *j;
	int requeue = -1;

	if (!ctx->slurm_ok)
		return;
	if (slurm_load_job(&jobs, ji->jobid, SHOW_ALL) != 0 || !jobs || jobs->record_count != 1) {
		log_warnx("job %u: slurmctld: %s; slot from the prolog's node list", ji->jobid,
			  slurm_strerror(slurm_get_errno()));
		goto out;
	}
	j = &jobs->job_array[0];
	if (j->nodes && strlen(j->nodes) < sizeof(ji->nodelist))
		snprintf(ji->nodelist, sizeof(ji->nodelist), "%s", j->nodes);
	ji->slot = _slot_of(ji->nodelist, node);
	ji->batch = j->batch_host && !strcmp(j->batch_host, node);
	requeue = j->requeue;
out:
	if (jobs)
		slurm_free_job_info_msg(jobs);
	if (!ji->batch || requeue < 0)
		return;
	if (requeue > 0) {
		log_info("job %u: Requeue=1 already (a failed restore requeues it held)",
			 ji->jobid);
		return;
	}
	slurm_init_job_desc_msg(&desc);
	desc.job_id = ji->jobid;
	desc.requeue = 1;
	if (slurm_update_job(&desc) != 0)
		log_warnx("job %u: cannot set Requeue=1 (a node failure will not requeue it, a "
			  "failed restore cannot hold it): %s",
			  ji->jobid, slurm_strerror(slurm_get_errno()));
	else
		log_info("job %u: Requeue=1 set: --checkpoint jobs are requeueable (a node failure "
			 "requeues it, a failed restore requeues it held)",
			 ji->jobid);
}

/* The job's own checkpoint directory: <CheckpointDir>/<user>, or its --checkpoint-dir. */
static int _ckpt_dir(const struct crd_ctx *ctx, struct cr_job *ji, const char *dir, char *err,
		     size_t errlen)
{
	struct job_user u;
	int ret = user_lookup(ji->uid, ji->gid, &u, err, errlen);

	return ret ? ret
		   : store_user_dir(ctx->conf.checkpoint_dir, dir, u.name, ji->ckpt_dir,
				    sizeof(ji->ckpt_dir), err, errlen);
}

/* The previous run's monitor (a requeue) may still be removing its files. */
static int _previous_gone(int fd, const struct crd_ctx *ctx, uint32_t jobid)
{
	pid_t holder = 0;
	int ret = jobstat_wait_gone(ctx, jobid, 0, 15000, &holder);

	if (!ret)
		return 0;
	log_warnx("job %u: the container of a previous run (monitor %d) is not removed: %s", jobid,
		  (int)holder, strerror(-ret));
	cr_send_err(fd, CR_E_FAILED,
		    "slurm-cr: job %u: the container of a previous run on this node is not "
		    "removed (monitor %d): %s",
		    jobid, (int)holder, strerror(-ret));
	return ret;
}

/* End the job's containers here from unit @from on; how many there were. */
static int _end_units(const struct crd_ctx *ctx, uint32_t jobid, uint32_t from)
{
	uint32_t code;
	char buf[256];
	int ret, n = 0;

	for (uint32_t unit = from; unit < CR_MAX_UNITS; unit++) {
		ret = jobstat_ask(ctx, jobid, unit, CR_MSG_JOB_END, NULL, NULL, 0, 10, &code, buf,
				  sizeof(buf));
		if (ret == -ENOENT || ret == -ECONNREFUSED)
			continue;
		n++;
		if (ret)
			log_warnx("job %u: monitor of unit %u did not confirm the end: %s", jobid,
				  unit, strerror(-ret));
	}
	return n;
}

static void _job_start(const struct crd_ctx *ctx, int fd, struct cr_msg *m)
{
	struct cr_job ji = {0};
	const char *dir, *node, *nodelist;
	uint32_t version, interval, code;
	struct job_status st;
	char err[512];

	if (cr_unpack_u32(m, &version) || version != CR_PROTO_VERSION ||
	    cr_unpack_u32(m, &ji.jobid) || cr_unpack_u32(m, &ji.uid) || cr_unpack_u32(m, &ji.gid) ||
	    cr_unpack_u32(m, &interval) || cr_unpack_str(m, &dir) || cr_unpack_str(m, &node) ||
	    cr_unpack_str(m, &nodelist) || cr_unpack_u32(m, &ji.restart_from) ||
	    (cr_unpack_done(m) && (cr_unpack_u32(m, &ji.flags) || cr_unpack_done(m))) ||
	    strlen(dir) >= sizeof(ji.ckpt_dir) || strlen(nodelist) >= sizeof(ji.nodelist)) {
		log_warnx("bad JOB_START request (%u bytes): closing", m->hdr.len);
		return;
	}
	if (jobstat_get(ctx, ji.jobid, 0, &st) == 0) {
		if (st.state == JS_IDLE || (ji.flags & CR_JOB_ENSURE)) {
			log_info("job %u: its container is up already (monitor %d)", ji.jobid,
				 (int)st.monitor_pid);
			cr_send_ok(fd, "exists");
			return;
		}
		/* A previous run's (requeued job, missed epilog): replace it. */
		log_info("job %u: replacing the container of a previous run (%s)", ji.jobid,
			 jobstat_state_name(st.state));
		jobstat_ask(ctx, ji.jobid, 0, CR_MSG_JOB_END, NULL, NULL, 0, 10, &code, err,
			    sizeof(err));
	}
	/* More containers of a previous run (a restore onto fewer nodes): they go too. */
	_end_units(ctx, ji.jobid, 1);
	if (_previous_gone(fd, ctx, ji.jobid))
		return;
	ji.interval = (int32_t)interval < 0 ? ctx->conf.default_interval : (long)interval;
	snprintf(ji.nodelist, sizeof(ji.nodelist), "%s", nodelist);
	ji.slot = _slot_of(nodelist, node);
	ji.batch = ji.slot == 0;
	_job_layout(ctx, &ji, node);
	/* The allocation's node name: mpirun takes its own node for the one Slurm allotted. */
	snprintf(ji.hostname, sizeof(ji.hostname), "%s", node);
	if (_ckpt_dir(ctx, &ji, dir, err, sizeof(err)) ||
	    monitor_spawn(ctx, &ji, err, sizeof(err))) {
		log_warnx("job %u: %s", ji.jobid, err);
		cr_send_err(fd, CR_E_FAILED, "slurm-cr: job %u: %s", ji.jobid, err);
		return;
	}
	log_info("job %u: container %s created for uid %u", ji.jobid, ji.hostname, ji.uid);
	cr_send_ok(fd, ji.hostname);
}

static void _job_end(const struct crd_ctx *ctx, int fd, struct cr_msg *m)
{
	uint32_t version, jobid;

	if (cr_unpack_u32(m, &version) || version != CR_PROTO_VERSION || cr_unpack_u32(m, &jobid) ||
	    cr_unpack_done(m)) {
		log_warnx("bad JOB_END request (%u bytes): closing", m->hdr.len);
		return;
	}
	if (!_end_units(ctx, jobid, 0)) {
		cr_send_ok(fd, "none");
		return;
	}
	log_info("job %u: ended on this node", jobid);
	cr_send_ok(fd, "ended");
}

/* Is pid the batch task of jobid: its parent is that job's batch slurmstepd? */
static int _check_parent(pid_t pid, uint32_t jobid, char *why, size_t len)
{
	char path[64], buf[512], want[64];
	int ppid = 0, fd;
	ssize_t n;
	char *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f || !fgets(buf, sizeof(buf), f) || !(p = strrchr(buf, ')')) ||
	    sscanf(p + 1, " %*c %d", &ppid) != 1) {
		if (f)
			fclose(f);
		snprintf(why, len, "cannot read %s", path);
		return -EPERM;
	}
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", ppid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "slurmstepd: [%u.batch]", jobid);
	if (strcmp(buf, want)) {
		snprintf(why, len, "parent %d of pid %d is \"%.64s\", not \"%s\"", ppid, pid, buf,
			 want);
		return -EPERM;
	}
	return 0;
}

static void _hello(const struct crd_ctx *ctx, int fd, struct cr_msg *m)
{
	uint32_t version, jobid, stepid, code;
	struct ucred uc;
	struct cr_buf b;
	struct job_status st;
	char why[512] = "", buf[256];
	int pidfd = -1, ret;

	if (cr_unpack_u32(m, &version) || cr_unpack_u32(m, &jobid) || cr_unpack_u32(m, &stepid) ||
	    cr_unpack_done(m) || version != CR_PROTO_VERSION) {
		log_warnx("bad HELLO request (%u bytes): closing", m->hdr.len);
		return;
	}
	if (_peer(fd, &uc) < 0) {
		log_warn("HELLO: SO_PEERCRED");
		return;
	}
	pidfd = syscall(SYS_pidfd_open, uc.pid, 0);
	if (stepid != BATCH_STEP) {
		snprintf(why, sizeof(why), "step %u is not a batch step", stepid);
		goto refuse;
	}
	if (jobstat_get(ctx, jobid, 0, &st)) {
		snprintf(why, sizeof(why), "job %u has no container on this node", jobid);
		goto refuse;
	}
	if (uc.uid != st.ji.uid) {
		snprintf(why, sizeof(why), "peer uid %u is not the job's", uc.uid);
		goto refuse;
	}
	if (cgroup_check_step(uc.pid, jobid, ctx->conf.node_name, "batch", why, sizeof(why)) ||
	    _check_parent(uc.pid, jobid, why, sizeof(why)))
		goto refuse;
	if (pidfd < 0 || syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0) {
		snprintf(why, sizeof(why), "pid %d went away", uc.pid);
		goto refuse;
	}
	cr_buf_init(&b);
	cr_pack_u32(&b, uc.pid);
	ret = jobstat_ask(ctx, jobid, 0, CR_MSG_ADOPT, &b, &fd, 1, 10, &code, buf, sizeof(buf));
	cr_buf_free(&b);
	if (ret || code) {
		log_warnx("job %u: monitor refused relay %d: %s", jobid, uc.pid,
			  ret ? strerror(-ret) : buf);
		if (ret)
			cr_send_err(fd, CR_E_FAILED, "the job's monitor does not answer");
	}
	goto out;
refuse:
	log_warnx("job %u: refusing relay pid %d uid %u: %s", jobid, uc.pid, uc.uid, why);
	cr_send_err(fd, CR_E_PERM, "slurm-cr: not this job's batch task: %s", why);
out:
	if (pidfd >= 0)
		close(pidfd);
}

void local_request(const struct crd_ctx *ctx, int fd, struct cr_msg *first)
{
	struct cr_msg m = *first;
	struct ucred uc;

	/* the gate read the message with read(): file descriptors sent with it are gone */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){5, 0}, sizeof(struct timeval));
	if ((m.hdr.type == CR_MSG_JOB_START || m.hdr.type == CR_MSG_JOB_END) &&
	    (_peer(fd, &uc) < 0 || uc.uid != 0)) {
		log_warnx("%s from non-root peer: closing", cr_msg_name(m.hdr.type));
		goto out;
	}
	switch (m.hdr.type) {
	case CR_MSG_JOB_START:
		_job_start(ctx, fd, &m);
		break;
	case CR_MSG_JOB_END:
		_job_end(ctx, fd, &m);
		break;
	case CR_MSG_HELLO:
		_hello(ctx, fd, &m);
		break;
	case CR_MSG_RSH:
		launch_request(ctx, fd, &m);
		break;
	default:
		log_warnx("unexpected %s on the local socket: closing", cr_msg_name(m.hdr.type));
	}
out:
	cr_msg_free(&m);
}
