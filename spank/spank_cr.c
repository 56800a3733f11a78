// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * spank_cr.so: --checkpoint[=interval] and --checkpoint-dir=DIR.
 *
 * Thin: options are checked here, everything else is crd's. Hooks:
 *   allocator/local  validate, publish SLURM_CHECKPOINT(_DIR), refuse srun
 *                    inside a checkpointable job
 *   job_prolog       ask crd to create the job's container on this node
 *   task_init        batch step of a --checkpoint job: become the relay
 *   remote, steps    refuse job steps of a --checkpoint job
 *   job_epilog       ask crd to remove the container
 *
 * plugstack.conf argument: socket=PATH (crd's SocketPath; "%n" is replaced
 * by the node name); by default SocketPath from /etc/slurm/cr.conf, or
 * /run/slurm-cr/crd.sock.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "interval.h"
#include "proto.h"
#include "relay.h"

/* Built with hidden visibility: only what Slurm looks up is exported. */
#pragma GCC visibility push(default)
#include <slurm/spank.h>
SPANK_PLUGIN(spank_cr, 1);
#pragma GCC visibility pop

#define BATCH_STEP    0xfffffffbU
#define EXTERN_STEP   0xfffffffcU
#define FIRST_SPECIAL 0xfffffff0U /* extern, batch, interactive, pending... */
#define SRUN_REFUSED                                                                               \
	"srun inside a --checkpoint job is not supported yet; use mpirun or run the tasks from "   \
	"the batch script"

static struct {
	int requested;
	long interval; /* CR_INTERVAL_DEFAULT: the cluster's */
	int have_dir;
	int cont; /* --checkpoint-continue */
	char dir[PATH_MAX];
	char sock[108];
} cr = {.interval = CR_INTERVAL_DEFAULT};

static int _opt_checkpoint(int val, const char *arg, int remote)
{
	char err[256];
	long secs;

	(void)val;
	(void)remote;
	if (cr_interval_parse(arg, &secs, err, sizeof(err))) {
		slurm_error("--checkpoint: %s", err);
		return -1;
	}
	cr.requested = 1;
	cr.interval = secs;
	return 0;
}

static int _set_dir(const char *arg)
{
	if (!arg || !strcmp(arg, "(null)") || arg[0] != '/') {
		slurm_error("--checkpoint-dir: \"%s\" is not an absolute path", arg ? arg : "");
		return -1;
	}
	if (strlen(arg) >= sizeof(cr.dir)) {
		slurm_error("--checkpoint-dir: path too long");
		return -1;
	}
	memcpy(cr.dir, arg, strlen(arg) + 1);
	cr.have_dir = 1;
	return 0;
}

static int _opt_dir(int val, const char *arg, int remote)
{
	(void)val;
	(void)remote;
	return _set_dir(arg);
}

static int _opt_continue(int val, const char *arg, int remote)
{
	(void)val;
	(void)arg;
	(void)remote;
	cr.cont = 1;
	return 0;
}

static struct spank_option cr_opts[] = {
	{"checkpoint", "interval",
	 "Make the job checkpointable (batch jobs): checkpoint every interval (minutes, "
	 "[days-]hours:minutes:seconds or 30s/15m/2h/1d; 0 = only on request; without a value "
	 "the cluster's default)",
	 2, 0, _opt_checkpoint},
	{"checkpoint-dir", "dir", "Directory for the job's checkpoints (default: the cluster's)", 1,
	 1, _opt_dir},
	{"checkpoint-continue", NULL,
	 "With --checkpoint: at the time limit, checkpoint the job, requeue it and continue "
	 "from that checkpoint (if the cluster allows it)",
	 0, 2, _opt_continue},
	SPANK_OPTIONS_TABLE_END,
};

static void _sock_path(const char *tmpl, const char *node)
{
	size_t o = 0;

	for (const char *p = tmpl; *p && o < sizeof(cr.sock) - 1; p++) {
		if (p[0] == '%' && p[1] == 'n') {
			o += snprintf(cr.sock + o, sizeof(cr.sock) - o, "%s", node);
			if (o >= sizeof(cr.sock))
				o = sizeof(cr.sock) - 1;
			p++;
		} else {
			cr.sock[o++] = *p;
		}
	}
	cr.sock[o] = '\0';
}

static const char *_sock_tmpl; /* socket= argument */

static void _resolve_sock(spank_t sp)
{
	static struct cr_conf c;
	char node[256] = "", err[512];

	if (!_sock_tmpl) {
		/* The node's crd configuration says where crd listens. */
		cr_conf_defaults(&c);
		if (access(CR_CONF_DEFAULT, R_OK) == 0 &&
		    cr_conf_load(&c, CR_CONF_DEFAULT, err, sizeof(err)))
			slurm_error("spank_cr: %s", err);
		_sock_tmpl = c.socket_path;
	}

	if (spank_context() == S_CTX_REMOTE)
		spank_getenv(sp, "SLURMD_NODENAME", node, sizeof(node));
	if (!node[0] && getenv("SLURMD_NODENAME"))
		snprintf(node, sizeof(node), "%s", getenv("SLURMD_NODENAME"));
	if (!node[0])
		gethostname(node, sizeof(node) - 1);
	_sock_path(_sock_tmpl, node);
}

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	for (int i = 0; i < ac; i++) {
		if (!strncmp(av[i], "socket=", 7))
			_sock_tmpl = av[i] + 7;
		else
			slurm_error("spank_cr: unknown argument \"%s\" ignored", av[i]);
	}
	for (struct spank_option *o = cr_opts; o->name; o++)
		spank_option_register(sp, o);
	return 0;
}

/* The directory sbatch's command line gives the job (-D/--chdir; the last wins), into buf. */
static int _cmdline_chdir(char *buf, size_t len)
{
	char args[16384], *a, *end;
	const char *val = NULL;
	ssize_t n;
	int fd;

	fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, args, sizeof(args) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	args[n] = '\0';
	end = args + n;
	for (a = args + strlen(args) + 1; a < end; a += strlen(a) + 1) {
		if ((!strcmp(a, "-D") || !strcmp(a, "--chdir")) && a + strlen(a) + 1 < end)
			val = a + strlen(a) + 1;
		else if (!strncmp(a, "--chdir=", 8))
			val = a + 8;
		else if (!strncmp(a, "-D", 2) && a[2])
			val = a + 2;
	}
	if (!val)
		return 0;
	snprintf(buf, len, "%s", val);
	return 1;
}

/*
 * sbatch --checkpoint: the job's working directory must not be one the job
 * container hides (its /tmp and /dev/shm are private): the job could neither
 * be checkpointed nor restored there. Refused at submission, with the reason.
 * The directory is sbatch's -D/--chdir when its command line has one, else
 * the current one (a script's own #SBATCH --chdir is not seen here).
 */
static int _check_workdir(void)
{
	static const char *const hidden[] = {"/tmp", "/dev/shm"};
	char dir[PATH_MAX], real[PATH_MAX];
	int given = _cmdline_chdir(dir, sizeof(dir));

	if (!given && !getcwd(dir, sizeof(dir)))
		return 0;
	if (!realpath(dir, real))
		snprintf(real, sizeof(real), "%s", dir);
	for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
		size_t n = strlen(hidden[i]);

		if (strncmp(real, hidden[i], n) || (real[n] && real[n] != '/'))
			continue;
		slurm_error(
			"--checkpoint: the job's working directory %s is under %s, which the "
			"job's container replaces with its own: the job could not be "
			"checkpointed or restored there. Submit from a directory on shared "
			"storage, or give one with --chdir%s",
			real, hidden[i],
			given ? ""
			      : " on sbatch's command line (an #SBATCH --chdir in the script is "
				"not seen at submission)");
		return -1;
	}
	return 0;
}

/*
 * sbatch --checkpoint-continue: refused at once where the cluster does not
 * allow it. sbatch knows the cluster's wish from cr.conf on the submit host
 * ($CR_CONF, else /etc/slurm/cr.conf, as crctl); crd on the batch node
 * decides again from its own (a job that slipped past here just ends at its
 * time limit there).
 */
static int _check_continue(void)
{
	const char *path = getenv("CR_CONF");
	struct cr_conf c;
	char err[512];

	if (!path)
		path = CR_CONF_DEFAULT;
	cr_conf_defaults(&c);
	if (access(path, R_OK) == 0 && cr_conf_load(&c, path, err, sizeof(err))) {
		slurm_error("--checkpoint-continue: %s", err);
		return -1;
	}
	if (!cr.requested) {
		slurm_error("--checkpoint-continue needs --checkpoint");
		return -1;
	}
	if (strcmp(c.allow_continue, "yes")) {
		slurm_error(
			"--checkpoint-continue is not allowed on this cluster (AllowContinue=no "
			"in %s): the job would end at its time limit",
			path);
		return -1;
	}
	return 0;
}

/* sbatch/salloc/srun: the environment variables, the published values. */
static int _local_post_opt(spank_t sp)
{
	char val[32], err[256];
	const char *env;
	long secs;

	if (spank_context() == S_CTX_LOCAL && getenv("SLURM_CR_CONTAINER")) {
		slurm_error(SRUN_REFUSED);
		return -1;
	}
	if (!cr.requested && (env = getenv("SLURM_CHECKPOINT"))) {
		if (cr_interval_parse(env, &secs, err, sizeof(err))) {
			slurm_error("SLURM_CHECKPOINT: %s", err);
			return -1;
		}
		cr.requested = 1;
		cr.interval = secs;
	}
	if (cr.cont && _check_continue())
		return -1;
	if (!cr.requested)
		return 0;
	if (spank_context() == S_CTX_LOCAL && getenv("SLURM_JOB_ID")) {
		slurm_error(SRUN_REFUSED);
		return -1;
	}
	if (spank_context() == S_CTX_LOCAL || strcmp(program_invocation_short_name, "sbatch")) {
		/* An interactive allocation or step runs outside any container. */
		slurm_error("--checkpoint is supported for batch jobs only: submit the job with "
			    "sbatch");
		return -1;
	}
	if (_check_workdir())
		return -1;
	if (!cr.have_dir && (env = getenv("SLURM_CHECKPOINT_DIR")) && _set_dir(env))
		return -1;
	cr_interval_format(cr.interval, val, sizeof(val));
	/* The job control env reaches prolog/epilog as SPANK_*; the job sees its own. */
	spank_job_control_setenv(sp, "SLURM_CHECKPOINT", val, 1);
	setenv("SLURM_CHECKPOINT", val, 1);
	if (cr.cont)
		spank_job_control_setenv(sp, "SLURM_CHECKPOINT_CONTINUE", "1", 1);
	if (cr.have_dir) {
		spank_job_control_setenv(sp, "SLURM_CHECKPOINT_DIR", cr.dir, 1);
		setenv("SLURM_CHECKPOINT_DIR", cr.dir, 1);
	}
	return 0;
}

/* In slurmstepd: is this a --checkpoint job? */
static int _remote_requested(spank_t sp)
{
	char buf[64], err[256];
	long secs;

	if (cr.requested)
		return 1;
	if (spank_getenv(sp, "SLURM_CHECKPOINT", buf, sizeof(buf)) != ESPANK_SUCCESS)
		return 0;
	if (!strcmp(buf, "default"))
		buf[0] = '\0';
	if (cr_interval_parse(buf, &secs, err, sizeof(err)))
		return 0;
	cr.requested = 1;
	cr.interval = secs;
	return 1;
}

/*
 * The batch and extern steps make sure the container exists (JOB_START again;
 * crd answers "exists" when the prolog made it): slurmd does not run the
 * prolog again for a requeued job on a node that ran it within the
 * credential's lifetime ("reissued job credential"), and the new run would
 * find no container there.
 */
static void _ensure_container(spank_t sp, uint32_t stepid)
{
	char node[256] = "", nodelist[1024] = "", dir[PATH_MAX] = "", of[32] = "", err[512];
	uint32_t jobid = 0;
	uid_t uid = 0;
	gid_t gid = 0;

	if (spank_get_item(sp, S_JOB_ID, &jobid) || spank_get_item(sp, S_JOB_UID, &uid) ||
	    spank_get_item(sp, S_JOB_GID, &gid) ||
	    spank_getenv(sp, "SLURM_JOB_NODELIST", nodelist, sizeof(nodelist)) != ESPANK_SUCCESS)
		return;
	_resolve_sock(sp);
	if (spank_getenv(sp, "SLURMD_NODENAME", node, sizeof(node)) != ESPANK_SUCCESS)
		gethostname(node, sizeof(node) - 1);
	if (!cr.have_dir)
		spank_getenv(sp, "SLURM_CHECKPOINT_DIR", dir, sizeof(dir));
	spank_getenv(sp, "SLURM_CR_RESTART_OF", of, sizeof(of));
	if (cr_job_notify(cr.sock, 1, jobid, uid, gid, cr.interval, cr.have_dir ? cr.dir : dir,
			  node, nodelist, strtoul(of, NULL, 10),
			  CR_JOB_ENSURE | (cr.cont ? CR_JOB_CONTINUE : 0), err, sizeof(err)))
		slurm_error("spank_cr: job %u step %#x: cannot make sure of the job container: %s",
			    jobid, stepid, err);
}

int slurm_spank_init_post_opt(spank_t sp, int ac, char **av)
{
	uint32_t stepid = 0;

	(void)ac;
	(void)av;
	switch (spank_context()) {
	case S_CTX_ALLOCATOR:
	case S_CTX_LOCAL:
		return _local_post_opt(sp);
	case S_CTX_REMOTE:
		if (spank_get_item(sp, S_JOB_STEPID, &stepid) != ESPANK_SUCCESS)
			return 0;
		if (stepid < FIRST_SPECIAL && _remote_requested(sp)) {
			slurm_error(SRUN_REFUSED);
			return -1;
		}
		if ((stepid == BATCH_STEP || stepid == EXTERN_STEP) && _remote_requested(sp))
			_ensure_container(sp, stepid);
		return 0;
	default:
		return 0;
	}
}

/* Prolog/epilog: options and published values arrive in the environment. */
static int _script_requested(spank_t sp)
{
	char *arg = NULL, err[256];
	const char *env;
	long secs;

	if (spank_option_getopt(sp, &cr_opts[0], &arg) == ESPANK_SUCCESS) {
		if (cr_interval_parse(arg, &secs, err, sizeof(err)))
			secs = CR_INTERVAL_DEFAULT;
	} else if ((env = getenv("SPANK_SLURM_CHECKPOINT"))) {
		if (cr_interval_parse(strcmp(env, "default") ? env : NULL, &secs, err, sizeof(err)))
			secs = CR_INTERVAL_DEFAULT;
	} else {
		return 0;
	}
	cr.requested = 1;
	cr.interval = secs;
	arg = NULL;
	if (spank_option_getopt(sp, &cr_opts[1], &arg) == ESPANK_SUCCESS && arg && arg[0] == '/')
		snprintf(cr.dir, sizeof(cr.dir), "%s", arg);
	else if ((env = getenv("SPANK_SLURM_CHECKPOINT_DIR")) && env[0] == '/')
		snprintf(cr.dir, sizeof(cr.dir), "%s", env);
	cr.cont = spank_option_getopt(sp, &cr_opts[2], &arg) == ESPANK_SUCCESS ||
		  getenv("SPANK_SLURM_CHECKPOINT_CONTINUE");
	return 1;
}

int slurm_spank_job_prolog(spank_t sp, int ac, char **av)
{
	uint32_t jobid = 0;
	uid_t uid = 0;
	gid_t gid = 0;
	char node[256] = "", err[512];
	const char *nodelist = getenv("SLURM_JOB_NODELIST"), *restart;
	int64_t t0;

	(void)ac;
	(void)av;
	if (!_script_requested(sp))
		return 0;
	if (spank_get_item(sp, S_JOB_ID, &jobid) || spank_get_item(sp, S_JOB_UID, &uid) ||
	    spank_get_item(sp, S_JOB_GID, &gid)) {
		slurm_error("spank_cr: prolog: cannot get the job's id and user");
		return -1;
	}
	_resolve_sock(sp);
	snprintf(node, sizeof(node), "%s",
		 getenv("SLURMD_NODENAME") ? getenv("SLURMD_NODENAME") : "");
	if (!node[0])
		gethostname(node, sizeof(node) - 1);
	restart = getenv("SPANK_SLURM_CHECKPOINT_RESTART");
	t0 = cr_now_ms();
	if (cr_job_notify(cr.sock, 1, jobid, uid, gid, cr.interval, cr.dir, node,
			  nodelist ? nodelist : node, restart ? strtoul(restart, NULL, 10) : 0,
			  cr.cont ? CR_JOB_CONTINUE : 0, err, sizeof(err))) {
		slurm_error("spank_cr: job %u: cannot create the job container: %s", jobid, err);
		return -1;
	}
	/* what a flood of crd's port must not lengthen (cluster-crd-flood reads it) */
	slurm_info("spank_cr: job %u: JOB_START answered in %lld ms", jobid,
		   (long long)(cr_now_ms() - t0));
	return 0;
}

int slurm_spank_job_epilog(spank_t sp, int ac, char **av)
{
	uint32_t jobid = 0;
	char err[512];

	(void)ac;
	(void)av;
	if (!_script_requested(sp) || spank_get_item(sp, S_JOB_ID, &jobid))
		return 0;
	_resolve_sock(sp);
	if (cr_job_notify(cr.sock, 0, jobid, 0, 0, 0, "", "", "", 0, 0, err, sizeof(err)))
		slurm_error("spank_cr: job %u: removing the job container: %s", jobid, err);
	return 0;
}

int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
	uint32_t jobid = 0, stepid = 0;
	char **argv = NULL, **envp = NULL, err[512];
	int argc = 0;

	(void)ac;
	(void)av;
	if (spank_get_item(sp, S_JOB_STEPID, &stepid) || stepid != BATCH_STEP ||
	    !_remote_requested(sp))
		return 0;
	if (spank_get_item(sp, S_JOB_ID, &jobid) || spank_get_item(sp, S_JOB_ARGV, &argc, &argv) ||
	    spank_get_item(sp, S_JOB_ENV, &envp) || argc < 1) {
		slurm_error("spank_cr: job %u: cannot get the batch script's argv/env", jobid);
		return -1;
	}
	_resolve_sock(sp);
	/* Only failures come back: the relay otherwise ends as the script does. */
	cr_relay_run(cr.sock, jobid, stepid, argv, envp, err, sizeof(err));
	slurm_error("spank_cr: job %u: cannot run the batch script in its container: %s", jobid,
		    err);
	dprintf(2, "slurm-cr: job %u: cannot run the batch script in its container: %s\n", jobid,
		err);
	return -1;
}
