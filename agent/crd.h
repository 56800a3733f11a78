/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* crd internals shared by crd.c, monitor.c, container.c and cgroup.c. */
#ifndef CR_CRD_H
#define CR_CRD_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"
#include "proto.h"

/* What crd knows about a job on this node: the monitor's state file. */
struct cr_job {
	uint32_t jobid;
	uint32_t uid;
	uint32_t gid;
	long interval; /* seconds, CR_INTERVAL_DEFAULT already resolved */
	uint32_t slot;
	uint32_t batch; /* this node is the batch host */
	char hostname[64];
	char ckpt_dir[PATH_MAX];
	char nodelist[1024];
	uint32_t restart_from; /* crctl restart: the ended job this one resumes */
};

extern struct cr_conf conf;

/* monitor.c */
void monitor_sock_path(uint32_t jobid, char *buf, size_t len);
void monitor_state_path(uint32_t jobid, char *buf, size_t len);
/* Fork a detached monitor for the job, wait until its container is up. */
int monitor_spawn(const struct cr_job *ji, char *err, size_t errlen);
/* Connect to a job's monitor; -ENOENT when the job has none here. */
int monitor_connect(uint32_t jobid);

/* container.c: run by the monitor. */
int container_create(const struct cr_job *ji, int *ctl_fd, pid_t *init_pid);

/* crd.c */
int ask_monitor(uint32_t jobid, uint32_t type, const struct cr_buf *b, const int *fds, int nfds,
		uint32_t *code, char *buf, size_t len);
int ask_monitor_timeout(uint32_t jobid, uint32_t type, const struct cr_buf *b, const int *fds,
			int nfds, int timeout_s, uint32_t *code, char *buf, size_t len);
const char *crd_munge_socket(void);
struct json_t;
int job_status(uint32_t jobid, struct json_t **out);

/* ctl.c: one crctl or coordinator request on a TCP connection. */
void ctl_request(int fd, const char *munge_socket, uid_t slurm_uid);

/* node.c: this node's part of a checkpoint or restore (CR_MSG_NODE). */
void node_request(int fd, uint32_t op, uint32_t jobid, const char *args);
/* libcr's log goes to a memfd meanwhile; its first line becomes err (when empty). */
int libcr_log_begin(void);
void libcr_log_end(int fd, char *err, size_t errlen);
/* CR_FAULT=STEP[@NODE]: SIGKILL ourselves at STEP (tests of crashes mid-protocol). */
void fault_point(const char *step);

/* cgroup.c */
int cgroup_check_step(pid_t pid, uint32_t jobid, const char *step, char *why, size_t len);
int cgroup_move_like(pid_t pid, pid_t ref);
int cgroup_move_to_step(pid_t pid, const char *rel);

#endif
