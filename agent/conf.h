/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cr.conf: Key=Value lines, slurm.conf style, keys case-insensitive. */
#ifndef CR_CONF_H
#define CR_CONF_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define CR_CONF_DEFAULT "/etc/slurm/cr.conf"
#define CR_PORT_DEFAULT 6830
#ifndef CR_LAUNCH_AGENT_DEFAULT
#define CR_LAUNCH_AGENT_DEFAULT "/usr/libexec/slurm-cr/cr-rsh"
#endif

/* MaxSlotsPerNode's bound: containers of one job on a node (jobstat.h units). */
#define CR_MAX_SLOTS_PER_NODE 16

/* MaxWait's bound: a day (its milliseconds fit an int). */
#define CR_MAX_WAIT_LIMIT 86400

struct cr_conf {
	char node_name[256];
	char checkpoint_dir[PATH_MAX];
	uint32_t port;
	char socket_path[108];
	char state_dir[PATH_MAX];
	char log_file[PATH_MAX];
	uint32_t keep_count;
	long default_interval;	 /* seconds */
	char operators[1024];	 /* comma-separated user names */
	char key_file[PATH_MAX]; /* the manifest MAC key: root-only, the same on every node */
	uint32_t max_wait;	 /* up to CR_MAX_WAIT_LIMIT seconds a checkpoint or restore may take
				    before it aborts */
	uint32_t rollback_keep_mib; /* RollbackKeep=: MiB a restore copies of what it cuts */
	char completed[16];	    /* CompletedJobCheckpoints: "remove" or "keep" */
	char restore_failure[8];    /* RestoreFailure: "hold" (requeue held) or "fail" */
	/* --checkpoint-continue (continue.c): allowed, how often per job, how long before the end
	 */
	char allow_continue[4];	   /* AllowContinue: "yes" or "no" */
	uint32_t max_continues;	   /* MaxContinues: continuations per job */
	uint32_t continue_lead;	   /* ContinueLead: seconds before the time limit */
	char evacuate_on_drain[4]; /* EvacuateOnDrain: "yes" or "no" (drain.c) */
	/* MaxSlotsPerNode: a restore onto fewer nodes puts up to this many slots on one */
	uint32_t max_slots_per_node;
	/* JobNetwork: the job containers' addresses, an IPv4 prefix (host order) */
	uint32_t job_net;
	uint32_t job_net_prefix;
	/* JobNetworkRegistry: the address blocks' claims, shared ("": CheckpointDir/.jobnet) */
	char job_net_registry[PATH_MAX];
	/* LaunchAgent: cr-rsh, run inside the job containers (the same path on every node) */
	char launch_agent[PATH_MAX];
};

void cr_conf_defaults(struct cr_conf *c);
/* Returns 0, or -errno with a message naming the file and line in err. */
int cr_conf_load(struct cr_conf *c, const char *path, char *err, size_t errlen);
/* Is user (by name) listed in Operators? */
int cr_conf_is_operator(const struct cr_conf *c, const char *user);

#endif /* CR_CONF_H */
