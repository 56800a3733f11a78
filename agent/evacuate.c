// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * crctl evacuate, crd's part: drain the node (as root: slurmctld lets only
 * its admins do it, and Operators in cr.conf need not be Slurm admins), then
 * name the running jobs with a slot on it. The drain comes first, so that no
 * job starts there meanwhile and no job requeued off it comes back to it.
 * The checkpoints are crctl's to ask, one job at a time, of each job's batch
 * host, which is where a job-wide checkpoint is coordinated.
 */
#include <errno.h>
#include <pwd.h>
#include <slurm/slurm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drain.h"
#include "evacuate.h"
#include "log.h"
#include "proto.h"

/* Root, SlurmUser and Operators: not a job's owner, it is no job's request. */
static int _is_operator(const struct crd_ctx *ctx, uid_t uid)
{
	struct passwd *pw;

	if (uid == 0 || uid == ctx->slurm_uid)
		return 1;
	pw = getpwuid(uid);
	return pw && cr_conf_is_operator(&ctx->conf, pw->pw_name);
}

static int _drain(const char *node, const char *reason, uid_t uid, char *err, size_t errlen)
{
	update_node_msg_t m;

	slurm_init_update_node_msg(&m);
	m.node_names = (char *)node;
	m.node_state = NODE_STATE_DRAIN;
	m.reason = (char *)reason;
	m.reason_uid = uid;
	if (slurm_update_node(&m) == 0)
		return 0;
	snprintf(err, errlen, "cannot drain node %s: %s", node, slurm_strerror(slurm_get_errno()));
	return -EIO;
}

/* Running jobs whose node list has node, into arr. */
static int _jobs_on(const char *node, json_t *arr, char *err, size_t errlen)
{
	job_info_msg_t *jobs = NULL;
	hostlist_t hl;

	if (slurm_load_jobs(0, &jobs, SHOW_ALL) != 0 || !jobs) {
		snprintf(err, errlen, "cannot list jobs: %s", slurm_strerror(slurm_get_errno()));
		return -EIO;
	}
	for (uint32_t i = 0; i < jobs->record_count; i++) {
		job_info_t *j = &jobs->job_array[i];

		if ((j->job_state & JOB_STATE_BASE) != JOB_RUNNING || !j->nodes)
			continue;
		hl = slurm_hostlist_create(j->nodes);
		if (hl && slurm_hostlist_find(hl, node) >= 0)
			json_array_append_new(arr, json_pack("{s:I, s:s, s:I}", "jobid",
							     (json_int_t)j->job_id, "batch_host",
							     j->batch_host ? j->batch_host : "",
							     "uid", (json_int_t)j->user_id));
		if (hl)
			slurm_hostlist_destroy(hl);
	}
	slurm_free_job_info_msg(jobs);
	return 0;
}

void evacuate_request(const struct crd_ctx *ctx, int fd, uid_t uid, json_t *opts)
{
	const char *node = json_string_value(json_object_get(opts, "Node"));
	const char *reason = json_string_value(json_object_get(opts, "Reason"));
	json_t *arr, *o;
	char err[512], marked[256], *s;

	if (!_is_operator(ctx, uid)) {
		log_info("ctl: uid %u may not evacuate a node", uid);
		cr_send_err(fd, CR_E_PERM,
			    "uid %u is not permitted to evacuate a node: operators only", uid);
		return;
	}
	if (!node || !*node || !reason || !*reason) {
		cr_send_err(fd, CR_E_FAILED, "evacuate: no node or no reason");
		return;
	}
	/* The mark tells the jobs' own drain watch (drain.c) that crctl requeues them. */
	snprintf(marked, sizeof(marked), "%.200s " DRAIN_EVACUATE_MARK, reason);
	if (_drain(node, marked, uid, err, sizeof(err))) {
		log_warnx("ctl: uid %u: evacuate: %s", uid, err);
		cr_send_err(fd, CR_E_FAILED, "%s", err);
		return;
	}
	log_info("ctl: uid %u: node %s drained (%s); evacuating it", uid, node, reason);
	arr = json_array();
	if (_jobs_on(node, arr, err, sizeof(err))) {
		json_decref(arr);
		cr_send_err(fd, CR_E_FAILED, "node %s drained, but %s", node, err);
		return;
	}
	o = json_pack("{s:s, s:s, s:o}", "node", node, "reason", reason, "jobs", arr);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (s)
		cr_send_ok(fd, s);
	else
		cr_send_err(fd, CR_E_FAILED, "out of memory");
	free(s);
	json_decref(o);
}
