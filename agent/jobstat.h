/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A job's status on this node, as its monitor keeps it, and the client side
 * of the monitor's socket (StateDir/job<ID>.sock). The status travels as
 * JSON (STATUS reply, StateDir/job<ID>.json, `crctl show`); this file is
 * the one place that encodes and decodes it. A request asks once and hands
 * the struct down.
 */
#ifndef CR_JOBSTAT_H
#define CR_JOBSTAT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "ctx.h"
#include "proto.h"

/* What crd knows about a job on this node when it creates the container. */
struct cr_job {
	uint32_t jobid;
	uint32_t uid;
	uint32_t gid;
	long interval;	/* seconds, CR_INTERVAL_DEFAULT already resolved */
	uint32_t slot;	/* which of the job's slots the container holds */
	uint32_t unit;	/* 0: the node's container from the prolog; more hold more slots */
	uint32_t batch; /* this node is the batch host */
	char hostname[64];
	char ckpt_dir[PATH_MAX];
	char nodelist[1024];
	uint32_t restart_from; /* crctl restart: the ended job this one resumes */
	uint32_t addr;	       /* the slot's address in the job network (host order) */
	uint32_t flags;	       /* CR_JOB_* (relay.h): --checkpoint-continue */
	/* batch host, after a restore: the node of each slot, comma-separated ("": the nodelist's)
	 */
	char placement[1024];
};

/*
 * Containers of one job on one node: a restore onto fewer nodes than the
 * checkpoint has slots puts several here (MaxSlotsPerNode), each with its own
 * monitor, pid and network namespace and address, numbered by unit.
 */
#define CR_MAX_UNITS CR_MAX_SLOTS_PER_NODE

enum job_state {
	JS_IDLE,      /* container up, no script */
	JS_RESTORING, /* the batch step came: resuming it from a checkpoint */
	JS_RUNNING,   /* the batch script (or what was restored) runs in it */
	JS_EXITED,    /* the script ended; the container is gone */
	JS_UNKNOWN,   /* a state this crd does not know */
};

struct job_status {
	struct cr_job ji;
	enum job_state state;
	int enabled;				/* checkpoints allowed (crctl enable/disable) */
	pid_t monitor_pid, init_pid, relay_pid; /* host pids; 0: none */
	pid_t script_pid;			/* in the container's pid namespace */
	time_t started;
	int exit_status; /* JS_EXITED only */
};

const char *jobstat_state_name(enum job_state state);

/*
 * A container's files beside its monitor: StateDir/job<ID>.EXT for unit 0,
 * job<ID>.u<UNIT>.EXT for another; buf is "" when the path does not fit.
 */
enum jobstat_file {
	JOBSTAT_SOCK,	/* the monitor's socket */
	JOBSTAT_STATE,	/* its status (JSON), kept for crd's restarts */
	JOBSTAT_HOSTS,	/* the container's /etc/hosts (jobpeers_hosts) */
	JOBSTAT_ROUTES, /* the node's routes to the job's slots on other nodes (jobnet_routes) */
	JOBSTAT_LOCK,	/* one monitor per container at a time (below) */
};
void jobstat_path(const struct crd_ctx *ctx, uint32_t jobid, uint32_t unit, enum jobstat_file file,
		  char *buf, size_t len);
/* A state file's name (job<ID>.json, job<ID>.u<UNIT>.json): 0, or -EINVAL for other names. */
int jobstat_parse_name(const char *name, uint32_t *jobid, uint32_t *unit);

/*
 * One monitor per container on a node at a time: the monitor holds a POSIX
 * record lock on StateDir/job<ID>.lock from before it makes its files until
 * it exits, after it removed them. A record lock belongs to the process, so
 * the container and the coordinator it forks never hold it. A requeued run's
 * prolog can come while the previous run's monitor still tears down: the new
 * one must not start before, or the old one removes the new one's socket,
 * state and routes.
 */
/* The monitor's claim: the lock's fd (kept open until exit), or -EBUSY, or -errno. */
int jobstat_claim(const struct crd_ctx *ctx, uint32_t jobid, uint32_t unit);
/* Wait up to ms for the monitor of jobid's unit to exit: 0, or -EBUSY (*holder: its pid). */
int jobstat_wait_gone(const struct crd_ctx *ctx, uint32_t jobid, uint32_t unit, int ms,
		      pid_t *holder);

/* The status as JSON text (malloc'd; NULL: out of memory); node: added as "node" unless NULL. */
char *jobstat_encode(const struct job_status *js, const char *node);

/* Connect to a job's monitor; -ENOENT when the job has none here. */
int jobstat_connect(const struct crd_ctx *ctx, uint32_t jobid, uint32_t unit);

/* One request to a job's monitor; the reply's code and text (copied to buf). */
int jobstat_ask(const struct crd_ctx *ctx, uint32_t jobid, uint32_t unit, uint32_t type,
		const struct cr_buf *b, const int *fds, int nfds, int timeout_s, uint32_t *code,
		char *buf, size_t len);

/* The job's status here: 0, -ENOENT (no monitor), -EIO or -EPROTO (a bad answer). */
int jobstat_get(const struct crd_ctx *ctx, uint32_t jobid, uint32_t unit, struct job_status *js);
/*
 * A RESTORE request for the container (node.c's JSON): the slot of the
 * checkpoint it now holds ("self") and, on the batch host, the node of each
 * slot ("placement", names of the node list's): the next checkpoint asks
 * those (coord.c). A placement that names another node is not kept. 0, or
 * -EPROTO.
 */
int jobstat_restored(struct cr_job *ji, const char *restore_req);
/*
 * The batch host's placement as indices into the job's @n nodes, into @at
 * (MAX_NODES of them): how many slots; 0 when there is none, or a bad one
 * (logged).
 */
size_t jobstat_placement(const struct cr_job *ji, size_t n, size_t *at);
/* The container of jobid here that holds slot: its status; -ENOENT when none does. */
int jobstat_find_slot(const struct crd_ctx *ctx, uint32_t jobid, uint32_t slot,
		      struct job_status *js);

#endif
