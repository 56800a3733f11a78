// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The job container: new pid, mount, ipc, uts and time namespaces, a private
 * tmpfs on /tmp and /dev/shm, a fresh /proc, and a small init at pid 1.
 *
 * The init reaps, starts the batch script (pid 2) from a copy inside the
 * container when the monitor sends SPAWN, forwards the signals the monitor
 * sends and those sent to it from inside the container, and reports the
 * script's wait status with EXIT; then it exits, which kills whatever the
 * script left behind. It exits as well when the monitor goes away.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cr.h>
#include <dirent.h>
#include <jansson.h>
#include <slurm/slurm.h>

#include "container.h"
#include "digest.h"
#include "tmparchive.h"
#include "glue.h"
#include "jobnet.h"
#include "jobpeers.h"
#include "log.h"
#include "proto.h"
#include "slotinit.h"
#include "topo.h"
#include "userfs.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define SCRIPT_DIR  "/tmp/.slurm-cr"
#define SCRIPT_COPY SCRIPT_DIR "/slurm_script"
#define MAX_STRS    65536

struct spawn_req {
	uint32_t uid, gid, umask;
	const gid_t *groups;
	uint32_t ngroups;
	const void *cpumask;
	uint32_t cpumask_len;
	char **argv;
	char **envp;
	int fds[5]; /* stdin, stdout, stderr, script, cwd */
};

static int _copy_script(int in, uid_t uid, gid_t gid)
{
	char buf[65536];
	ssize_t n;
	int out, ret = -EIO;

	if (mkdir(SCRIPT_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	out = open(SCRIPT_COPY, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0500);
	if (out < 0)
		return -errno;
	if (lseek(in, 0, SEEK_SET) < 0 && errno != ESPIPE)
		goto out;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			goto out;
	if (n < 0 || fchown(out, uid, gid) < 0 || fchmod(out, 0500) < 0)
		goto out;
	ret = 0;
out:
	if (ret)
		ret = -errno;
	close(out);
	return ret;
}

static int _unpack_strv(struct cr_msg *m, char ***out)
{
	uint32_t n;
	const char *s;
	char **v;

	if (cr_unpack_u32(m, &n) || n > MAX_STRS)
		return -EPROTO;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		if (cr_unpack_str(m, &s)) {
			free(v);
			return -EPROTO;
		}
		v[i] = (char *)s;
	}
	*out = v;
	return 0;
}

/* The script's process, between fork and exec: never returns. */
static void _exec_script(struct spawn_req *r, struct cr_msg *m)
{
	uint32_t nrlim, res;
	uint64_t cur, max;
	struct rlimit rl;
	sigset_t all;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	setsid();
	/*
	 * What the script daemonizes is reparented to it, not to the init: the
	 * whole job stays one tree below the script, which is what is checkpointed
	 * (kept across execve; libcr restores it with the task).
	 */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* rlimits follow the groups in the message; already bounds-checked. */
	if (cr_unpack_u32(m, &nrlim) == 0) {
		for (uint32_t i = 0; i < nrlim; i++) {
			if (cr_unpack_u32(m, &res) || cr_unpack_u64(m, &cur) ||
			    cr_unpack_u64(m, &max))
				break;
			rl.rlim_cur = cur;
			rl.rlim_max = max;
			if (setrlimit(res, &rl) < 0) {
				/* No CAP_SYS_RESOURCE: keep the hard limit we have. */
				getrlimit(res, &rl);
				rl.rlim_cur = cur < rl.rlim_max ? cur : rl.rlim_max;
				setrlimit(res, &rl);
			}
		}
	}
	if (r->cpumask_len)
		sched_setaffinity(0, r->cpumask_len, r->cpumask);
	umask(r->umask);
	for (int i = 0; i < 3; i++)
		if (dup2(r->fds[i], i) < 0)
			_exit(127);
	if (fchdir(r->fds[4]) < 0)
		dprintf(2, "slurm-cr: cannot enter the job's working directory: %s\n",
			strerror(errno));
	if (setgroups(r->ngroups, r->groups) < 0 || setresgid(r->gid, r->gid, r->gid) < 0 ||
	    setresuid(r->uid, r->uid, r->uid) < 0) {
		dprintf(2, "slurm-cr: cannot become uid %u: %s\n", r->uid, strerror(errno));
		_exit(127);
	}
	syscall(SYS_close_range, 3, ~0U, 0);
	r->argv[0] = SCRIPT_COPY;
	execve(SCRIPT_COPY, r->argv, r->envp);
	dprintf(2, "slurm-cr: cannot run the batch script: %s\n", strerror(errno));
	_exit(127);
}

/*
 * The launch profile of a checkpointable MPI job: what the user set wins.
 * Open MPI 4.1.4's default odls gives every rank a pseudo-terminal for its
 * output, which no checkpoint carries (it has no parameter to turn that
 * off): pspawn starts the ranks on mpirun's own stdout and stderr. Its TCP
 * traffic goes over the slot's address, which moves with the job (an
 * interface list excludes the other, so either set by the user wins), by
 * transports a checkpoint can carry (ob1 over self, vader, tcp; no
 * ofi/psm/ucx). Across nodes mpirun starts orted through cr-rsh (its Slurm
 * launcher, which wins whenever SLURM_JOBID is set, would use srun, refused
 * in the container); no_tree_spawn makes orted daemonize, so no cr-rsh stays
 * in the tree after the launch. MPICH's Hydra under Slurm starts its proxies
 * with srun as well: on one node the fork launcher starts them itself,
 * across nodes cr-rsh does (kept for the proxy's life, its stream a
 * connection of the job); UCX (Debian's MPICH is ch4:ucx) over TCP and
 * shared memory only.
 */
enum { ANY_NODES, ONE_NODE, MANY_NODES };
static const struct {
	const char *set, *unless;
	int when;
} mpi_profile[] = {
	{"OMPI_MCA_odls=pspawn", "OMPI_MCA_odls=", ANY_NODES},
	{"OMPI_MCA_btl_tcp_if_include=eth0", "OMPI_MCA_btl_tcp_if_", ANY_NODES},
	{"OMPI_MCA_oob_tcp_if_include=eth0", "OMPI_MCA_oob_tcp_if_", ANY_NODES},
	{"OMPI_MCA_pml=ob1", "OMPI_MCA_pml=", ANY_NODES},
	{"OMPI_MCA_btl=self,vader,tcp", "OMPI_MCA_btl=", ANY_NODES},
	{"OMPI_MCA_mtl=^ofi,psm,psm2", "OMPI_MCA_mtl=", ANY_NODES},
	{"OMPI_MCA_osc=^ucx", "OMPI_MCA_osc=", ANY_NODES},
	{"UCX_TLS=tcp,sm,self", "UCX_TLS=", ANY_NODES},
	{"HYDRA_LAUNCHER=fork", "HYDRA_LAUNCHER=", ONE_NODE},
	{"OMPI_MCA_plm=rsh", "OMPI_MCA_plm=", MANY_NODES},
	{"OMPI_MCA_plm_rsh_agent=", "OMPI_MCA_plm_rsh_agent=", MANY_NODES},
	{"OMPI_MCA_plm_rsh_no_tree_spawn=1", "OMPI_MCA_plm_rsh_no_tree_spawn=", MANY_NODES},
	{"HYDRA_LAUNCHER=ssh", "HYDRA_LAUNCHER=", MANY_NODES},
	{"HYDRA_LAUNCHER_EXEC=", "HYDRA_LAUNCHER_EXEC=", MANY_NODES},
	{"HYDRA_IFACE=eth0", "HYDRA_IFACE=", MANY_NODES},
};
#define NPROFILE (sizeof(mpi_profile) / sizeof(mpi_profile[0]))

static int _env_has(char **envp, const char *prefix)
{
	for (size_t i = 0; envp[i]; i++)
		if (!strncmp(envp[i], prefix, strlen(prefix)))
			return 1;
	return 0;
}

/* The profile's entries for this job into v from o: a value ending in '=' is the agent's path. */
static void _profile(char **envp, const struct cr_job *ji, const struct cr_conf *conf, char **v,
		     size_t o)
{
	static char agent[2][PATH_MAX + 64];
	hostlist_t hl = slurm_hostlist_create(ji->nodelist);
	int many = hl && slurm_hostlist_count(hl) > 1, na = 0;
	size_t len;

	if (hl)
		slurm_hostlist_destroy(hl);
	for (size_t i = 0; i < NPROFILE; i++) {
		if ((mpi_profile[i].when == ONE_NODE && many) ||
		    (mpi_profile[i].when == MANY_NODES && !many) ||
		    _env_has(envp, mpi_profile[i].unless))
			continue;
		len = strlen(mpi_profile[i].set);
		if (mpi_profile[i].set[len - 1] != '=') {
			v[o++] = (char *)mpi_profile[i].set;
			continue;
		}
		snprintf(agent[na], sizeof(agent[na]), "%s%s", mpi_profile[i].set,
			 conf->launch_agent);
		v[o++] = agent[na++];
	}
}

/*
 * The job sees its resolved settings, not what it asked for; crd's socket
 * (cr-rsh asks it); and the launch profile.
 */
static char **_job_env(char **envp, const struct cr_job *ji, const struct cr_conf *conf)
{
	static char host[128], interval[64], dir[PATH_MAX + 32], sock[160];
	size_t n = 0, o = 0;
	char **v;

	while (envp[n])
		n++;
	v = calloc(n + 5 + NPROFILE, sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], "SLURM_CHECKPOINT=", 17) &&
		    strncmp(envp[i], "SLURM_CHECKPOINT_DIR=", 21) &&
		    strncmp(envp[i], "SLURM_CR_CONTAINER=", 19) &&
		    strncmp(envp[i], "SLURM_CR_SOCKET=", 16))
			v[o++] = envp[i];
	snprintf(host, sizeof(host), "SLURM_CR_CONTAINER=job%u-slot%u", ji->jobid, ji->slot);
	snprintf(interval, sizeof(interval), "SLURM_CHECKPOINT=%lds", ji->interval);
	snprintf(dir, sizeof(dir), "SLURM_CHECKPOINT_DIR=%s", ji->ckpt_dir);
	v[o++] = host;
	v[o++] = interval;
	v[o++] = dir;
	snprintf(sock, sizeof(sock), "SLURM_CR_SOCKET=%s", conf->socket_path);
	v[o++] = sock;
	_profile(envp, ji, conf, v, o);
	return v;
}

/* SPAWN from the monitor: uid gid umask groups cpumask rlimits argv envp; 5 fds. */
static pid_t _spawn(struct cr_msg *m, const struct cr_job *ji, const struct cr_conf *conf)
{
	struct spawn_req r = {0};
	const void *p;
	uint32_t len, nrlim, u;
	uint64_t x;
	size_t rlim_pos;
	char **envp;
	pid_t pid = -1;

	if (m->nfds != 5 || cr_unpack_u32(m, &r.uid) || cr_unpack_u32(m, &r.gid) ||
	    cr_unpack_u32(m, &r.umask) || cr_unpack_bytes(m, &p, &len) || len % sizeof(gid_t) ||
	    len > 65536 * sizeof(gid_t))
		return -EPROTO;
	r.groups = p;
	r.ngroups = len / sizeof(gid_t);
	if (cr_unpack_bytes(m, &r.cpumask, &r.cpumask_len))
		return -EPROTO;
	rlim_pos = m->pos;
	if (cr_unpack_u32(m, &nrlim) || nrlim > 64)
		return -EPROTO;
	for (uint32_t i = 0; i < nrlim; i++)
		if (cr_unpack_u32(m, &u) || cr_unpack_u64(m, &x) || cr_unpack_u64(m, &x))
			return -EPROTO;
	if (_unpack_strv(m, &r.argv))
		return -EPROTO;
	if (!r.argv[0] || _unpack_strv(m, &envp) || cr_unpack_done(m)) {
		free(r.argv);
		return -EPROTO;
	}
	r.envp = _job_env(envp, ji, conf);
	free(envp);
	if (!r.envp) {
		free(r.argv);
		return -ENOMEM;
	}
	memcpy(r.fds, m->fds, sizeof(r.fds));
	if (_copy_script(r.fds[3], r.uid, r.gid) < 0) {
		dprintf(r.fds[2], "slurm-cr: cannot copy the batch script into the container\n");
		goto out;
	}
	pid = fork();
	if (pid == 0) {
		m->pos = rlim_pos;
		_exec_script(&r, m);
	}
out:
	free(r.argv);
	free(r.envp);
	return pid;
}

/* Empty a directory of the container's (its tmpfs), never following a link. */
static void _wipe(int dfd)
{
	struct dirent *d;
	DIR *dir;
	int sub;

	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return;
	}
	while ((d = readdir(dir))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (unlinkat(dirfd(dir), d->d_name, 0) == 0 || errno != EISDIR)
			continue;
		sub = openat(dirfd(dir), d->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0)
			_wipe(sub);
		unlinkat(dirfd(dir), d->d_name, AT_REMOVEDIR);
	}
	closedir(dir);
}

static void _wipe_tmpfs(void)
{
	const char *dirs[] = {"/tmp", "/dev/shm"};

	for (size_t i = 0; i < 2; i++) {
		int fd = open(dirs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			_wipe(fd);
	}
}

/* An archive of the slot into dir, each chunk checked against the slot's digests as read. */
static int _extract(int nodefd, const char *name, const char *dir, const struct node_digests *d,
		    char *err, size_t errlen)
{
	int dfd, ret;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return ret;
	}
	ret = archive_restore_digested(dfd, nodefd, name, d->files, 0, err, errlen);
	close(dfd);
	return ret;
}

/*
 * Restored tasks get a time namespace of their own whose offsets make
 * CLOCK_MONOTONIC and CLOCK_BOOTTIME go on from their checkpointed values.
 */
static int _time_ns(json_t *clocks, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		clockid_t id;
	} clk[] = {{"monotonic", CLOCK_MONOTONIC}, {"boottime", CLOCK_BOOTTIME}};
	char buf[128];
	struct timespec now;
	long long off;
	int fd, n;

	if (!json_is_object(clocks) || !json_object_get(clocks, "monotonic"))
		return 0;
	if (unshare(CLONE_NEWTIME) < 0) {
		fd = -errno;
		snprintf(err, errlen, "unshare(CLONE_NEWTIME): %s", strerror(-fd));
		return fd;
	}
	fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		fd = -errno;
		snprintf(err, errlen, "/proc/self/timens_offsets: %s", strerror(-fd));
		return fd;
	}
	for (size_t i = 0; i < 2; i++) {
		clock_gettime(clk[i].id, &now);
		off = json_integer_value(json_object_get(clocks, clk[i].name)) -
		      (now.tv_sec * 1000000000LL + now.tv_nsec);
		/* seconds toward minus infinity, nanoseconds in [0, 1e9) */
		n = snprintf(buf, sizeof(buf), "%s %lld %lld\n", clk[i].name,
			     off >= 0 ? off / 1000000000LL : -((-off + 999999999LL) / 1000000000LL),
			     ((off % 1000000000LL) + 1000000000LL) % 1000000000LL);
		if (write(fd, buf, n) != n) {
			snprintf(err, errlen, "time namespace offsets (%s): %s", clk[i].name,
				 strerror(errno));
			close(fd);
			return -EIO;
		}
	}
	close(fd);
	return 0;
}

/*
 * The owner policy: no more than the job's user has, and the bounding set
 * and limits of the batch step's task ("step", read by node.c from the
 * relay, which this pid namespace cannot see; without it our own, root's;
 * RLIM_INFINITY travels as -1). no_new_privs is ours (off): the script is
 * started without it.
 */
static int _owner(json_t *args, const struct job_user *u, struct cr_owner *owner)
{
	json_t *step = json_object_get(args, "step");
	int ret;

	*owner = (struct cr_owner){
		.uid = u->uid, .gid = u->gid, .groups = u->groups, .ngroups = u->ngroups};
	ret = cr_owner_from_task(getpid(), owner);
	for (size_t i = 0; !ret && json_is_object(step) && i < 16; i++) {
		json_t *l = json_array_get(json_object_get(step, "limits"), i);

		owner->cap_bnd = json_integer_value(json_object_get(step, "cap_bnd"));
		owner->rlim[i].rlim_cur = (uint64_t)json_integer_value(json_array_get(l, 0));
		owner->rlim[i].rlim_max = (uint64_t)json_integer_value(json_array_get(l, 1));
	}
	return ret;
}

/*
 * As the job's user: the slot's digests (checked against the manifest's, in
 * args "files"), then its /tmp and /dev/shm, each chunk checked as read.
 */
static int _unpack_slot(int nodefd, json_t *args, const struct job_user *u, struct node_digests *d,
			char *err, size_t errlen)
{
	int ret;

	ret = user_fs_enter(u, err, errlen);
	if (!ret)
		ret = digests_load(nodefd, json_object_get(args, "files"), d, err, errlen);
	if (!ret)
		ret = _extract(nodefd, "tmp.tar", "/tmp", d, err, errlen);
	if (!ret)
		ret = _extract(nodefd, "shm.tar", "/dev/shm", d, err, errlen);
	user_fs_leave();
	return ret;
}

/* RESTORE: args; fds: the slot's image directory [, the relay's stdin, stdout, stderr]. */
/* The job's slots where they are restored, this one first; through our own fd (jobpeers.h). */
static void _restore_hosts(json_t *args, int hosts_fd)
{
	json_int_t self = json_integer_value(json_object_get(args, "self"));
	struct job_peer *p;
	size_t n;

	if (jobpeers_from_json(json_object_get(args, "peers"), &p, &n)) {
		log_warnx("container: RESTORE without the job's slots: hosts file kept");
		return;
	}
	if (self >= 0 && (size_t)self < n)
		jobpeers_hosts_fd(hosts_fd, p, n, (size_t)self);
	free(p);
}

static int _restore(struct cr_msg *m, const struct cr_job *ji, int hosts_fd, struct cr_restored **r,
		    char *err, size_t errlen)
{
	struct cr_inherit_fd inh[3] = {{"stdin", -1}, {"stdout", -1}, {"stderr", -1}};
	struct cr_owner owner = {0};
	/* Our own namespace, the container's: sockets are rebuilt while nothing moves. */
	struct cr_restore_opts ro = {.rollback_files = true, .owner = &owner, .net_lock = true};
	struct node_digests d = {0};
	int *cpumap = NULL, *cpuall = NULL;
	const char *text, *host;
	struct job_user u;
	json_t *args;
	char path[64];
	int ret, logfd, null = -1;

	if (m->nfds < 1 || cr_unpack_str(m, &text) || cr_unpack_done(m) ||
	    !(args = json_loads(text, 0, NULL))) {
		snprintf(err, errlen, "bad RESTORE");
		return -EPROTO;
	}
	/* The job network: the other ends of connections to other nodes' slots. */
	ro.peer_net = (uint32_t)json_integer_value(json_object_get(args, "peer_net"));
	ro.peer_net_prefix =
		(unsigned int)json_integer_value(json_object_get(args, "peer_net_prefix"));
	/* The slot's name where it was checkpointed: what its processes knew. */
	host = json_string_value(json_object_get(args, "hostname"));
	if (host && *host && sethostname(host, strlen(host)) < 0)
		log_warn("container: sethostname %s", host);
	_restore_hosts(args, hosts_fd);
	ret = user_lookup(ji->uid, ji->gid, &u, err, errlen);
	if (!ret)
		ret = _unpack_slot(m->fds[0], args, &u, &d, err, errlen);
	if (ret || json_integer_value(json_object_get(args, "ntasks")) == 0)
		goto out;
	/* A non-batch slot's root has its stdio on /dev/null, as when it started. */
	if (!ji->batch && m->nfds == 1)
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (m->nfds != 4 && null < 0) {
		snprintf(err, errlen, "no stdio for the restored tasks");
		ret = -EPROTO;
		goto out;
	}
	ret = _time_ns(json_object_get(args, "clocks"), err, errlen);
	if (!ret)
		ret = _owner(args, &u, &owner);
	for (int i = 0; i < 3; i++)
		inh[i].fd = null >= 0 ? null : m->fds[1 + i];
	ro.inherit = inh;
	ro.ninherit = 3;
	/* Every byte of the image is read once, checked against these, then used. */
	ro.digests = d.image;
	/* the CPU map crd computed for this node (topo.h) */
	if (!ret && topo_args_map(args, &cpumap, &ro.ncpu_map, &cpuall, &ro.ncpu_all)) {
		snprintf(err, errlen, "bad cpumap in RESTORE");
		ret = -EPROTO;
	}
	ro.cpu_map = cpumap;
	ro.cpu_all = cpuall;
	snprintf(path, sizeof(path), "/proc/self/fd/%d/image", m->fds[0]);
	if (!ret)
		ret = user_fs_enter(&u, err, errlen);
	if (ret)
		goto out;
	logfd = libcr_log_begin();
	ret = cr_restore(path, &ro, r);
	libcr_log_end(logfd, err, errlen);
	user_fs_leave();
out:
	if (ret && !*err)
		snprintf(err, errlen, "restore failed: %s", strerror(-ret));
	if (ret)
		_wipe_tmpfs();
	if (null >= 0)
		close(null);
	digests_free(&d);
	free(cpumap);
	free(cpuall);
	json_decref(args);
	return ret;
}

static void _send_err_str(int ctl, const char *text)
{
	cr_send_err(ctl, CR_E_FAILED, "%s", text);
}

/* What the init holds: the script (or the restored root) and a restore not yet resumed. */
struct init {
	int ctl;
	const struct cr_job *ji;
	const struct cr_conf *conf;
	pid_t script;
	pid_t slotroot; /* a non-batch slot's root (slotinit.h) */
	struct cr_restored *restored;
	int hosts_fd; /* the container's /etc/hosts, the file itself */
};

/* A non-batch slot's root, fresh: cr-rsh's commands start below it. */
static void _init_slot_root(struct init *in)
{
	char err[512] = "";
	pid_t pid;

	if (in->ji->batch || in->slotroot > 0)
		return;
	pid = slot_root_start(in->ji, in->conf->launch_agent, err, sizeof(err));
	if (pid < 0) {
		log_warnx("container: job %u: no slot root (cr-rsh cannot start commands here): %s",
			  in->ji->jobid, err);
		return;
	}
	in->slotroot = pid;
}

/* The slot root goes before a restore: its pid and socket are the restored tree's. */
static void _init_drop_slot_root(struct init *in)
{
	int status;

	if (in->slotroot <= 0)
		return;
	kill(in->slotroot, SIGKILL);
	while (waitpid(in->slotroot, &status, 0) < 0 && errno == EINTR)
		;
	in->slotroot = 0;
}

/*
 * RESUME 2: the restored tree's files back to the checkpoint, the tasks still
 * stopped; what is cut kept first in @keep (a directory of the job's user,
 * written as that user), when the node sent one.
 */
static void _init_rollback(struct init *in, const struct cr_rollback_keep *keep)
{
	int ret;

	if (!in->restored) {
		cr_send_ok(in->ctl, "nothing to roll back");
		return;
	}
	if (keep) {
		setfsgid(in->ji->gid);
		setfsuid(in->ji->uid);
	}
	ret = cr_rollback_keep(in->restored, keep);
	if (keep) {
		setfsuid(0);
		setfsgid(0);
	}
	if (!ret) {
		cr_send_ok(in->ctl, "rolled back");
		return;
	}
	/* Undone here at once: nothing of this attempt may run or stay stopped. */
	cr_abort(in->restored);
	in->restored = NULL;
	_wipe_tmpfs();
	cr_send_err(in->ctl, CR_E_FAILED, "cannot roll the job's files back to the checkpoint: %s",
		    strerror(-ret));
}

/* RESUME: how 1 resumes what was restored, 0 aborts it, 2 rolls its files back. */
static void _init_resume(struct init *in, uint32_t how, const struct cr_rollback_keep *keep)
{
	pid_t root;

	if (how == 2) {
		_init_rollback(in, keep);
	} else if (!in->restored) {
		if (!how)
			_wipe_tmpfs();
		cr_send_ok(in->ctl, how ? "nothing to resume" : "aborted");
	} else if (!how) {
		cr_abort(in->restored);
		in->restored = NULL;
		_wipe_tmpfs();
		cr_send_ok(in->ctl, "aborted");
	} else {
		root = cr_restored_root(in->restored);
		if (cr_resume(in->restored)) {
			in->restored = NULL;
			_send_err_str(in->ctl, "cannot resume the restored tasks");
		} else if (!in->ji->batch) {
			/* The restored slot root, with what it had started. */
			in->restored = NULL;
			in->slotroot = root;
			cr_send_ok(in->ctl, "resumed");
		} else {
			in->restored = NULL;
			in->script = root;
			cr_send_u32(in->ctl, CR_MSG_STARTED, in->script);
		}
	}
	/* Nothing of a checkpoint runs here (aborted, failed, none): a fresh slot root. */
	if (!in->restored)
		_init_slot_root(in);
}

/*
 * RESTORE: every attempt starts from an empty container. A tree an earlier
 * attempt rebuilt and nobody resumed or aborted (its coordinator timed out
 * or died) is aborted first, whatever it left in /tmp goes.
 */
static void _init_restore(struct init *in, struct cr_msg *m)
{
	char err[1024] = "";
	int ret;

	if (in->script != 0) {
		_send_err_str(in->ctl, "the job already runs in this container");
		return;
	}
	if (in->restored) {
		log_warnx("container: job %u: an earlier restore was left stopped: aborting it",
			  in->ji->jobid);
		cr_abort(in->restored);
		in->restored = NULL;
	}
	_init_drop_slot_root(in);
	_wipe_tmpfs();
	fault_point_at(NULL, "rebuild");
	ret = _restore(m, in->ji, in->hosts_fd, &in->restored, err, sizeof(err));
	if (!in->restored)
		_init_slot_root(in);
	/* Only a digest mismatch makes the checkpoint bad; an I/O error may pass. */
	if (ret)
		cr_send_err(in->ctl,
			    ret == -EBADMSG				      ? CR_E_BADIMG
			    : ret == -EIO || ret == -ENOMEM || ret == -ESTALE ? CR_E_AGAIN
									      : CR_E_FAILED,
			    "%s", err);
	else
		cr_send_ok(in->ctl, "restored");
}

/* One message from the monitor: SPAWN, RESTORE, RESUME (both answered) or SIGNAL. */
static void _init_msg(struct init *in, struct cr_msg *m)
{
	int fresh = in->script == 0 && !in->restored;
	uint32_t signo;

	if (m->hdr.type == CR_MSG_SPAWN && fresh) {
		in->script = _spawn(m, in->ji, in->conf);
		if (in->script < 0) {
			cr_send_u32(in->ctl, CR_MSG_EXIT, 127 << 8);
			_exit(0);
		}
		cr_send_u32(in->ctl, CR_MSG_STARTED, in->script);
	} else if (m->hdr.type == CR_MSG_RESTORE) {
		_init_restore(in, m);
	} else if (m->hdr.type == CR_MSG_RESUME) {
		struct cr_rollback_keep keep = {.dirfd = m->nfds == 1 ? m->fds[0] : -1};

		if (cr_unpack_u32(m, &signo) ||
		    (m->nfds == 1 && cr_unpack_u64(m, &keep.max_copy)) || cr_unpack_done(m))
			_send_err_str(in->ctl, "bad RESUME");
		else if (in->script != 0)
			_send_err_str(in->ctl, "the job already runs in this container");
		else
			_init_resume(in, signo, keep.dirfd >= 0 ? &keep : NULL);
	} else if (m->hdr.type == CR_MSG_SIGNAL && !cr_unpack_u32(m, &signo) &&
		   !cr_unpack_done(m) && signo > 0 && signo < NSIG && in->script > 0) {
		kill(in->script, signo);
	}
}

/* A signal to the init: the script's end, or one to pass on to the script. */
static void _init_signal(struct init *in, int sfd)
{
	struct signalfd_siginfo si;
	int status;
	pid_t pid;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGCHLD) {
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid == in->slotroot) {
				log_warnx("container: job %u: the slot root ended (status %#x)",
					  in->ji->jobid, status);
				in->slotroot = 0;
			}
			if (pid != in->script)
				continue;
			cr_send_u32(in->ctl, CR_MSG_EXIT, status);
			_exit(0);
		}
	} else if (in->script > 0 && si.ssi_pid != 0) {
		/* From inside the container (outside senders read as 0). */
		kill(in->script, si.ssi_signo);
	}
}

/*
 * Something was made or renamed in /etc: a rename over the node's /etc/hosts
 * detaches our bind mount in every namespace; put it back, from our fd.
 */
static void _init_hosts(struct init *in, int ifd)
{
	char buf[4096], path[64];
	struct stat ours, now;

	while (read(ifd, buf, sizeof(buf)) > 0)
		; /* which name does not matter: /etc/hosts is checked below */
	if (fstat(in->hosts_fd, &ours) < 0 ||
	    (!stat("/etc/hosts", &now) && now.st_dev == ours.st_dev && now.st_ino == ours.st_ino))
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", in->hosts_fd);
	if (mount(path, "/etc/hosts", NULL, MS_BIND, NULL) < 0)
		log_warn("container: job %u: cannot bind its hosts file again", in->ji->jobid);
}

static void _init_main(int ctl, const struct cr_job *ji, const struct cr_conf *conf, int hosts_fd)
{
	struct init in = {.ctl = ctl, .ji = ji, .conf = conf, .hosts_fd = hosts_fd};
	struct pollfd pfd[3];
	struct cr_msg m;
	sigset_t all;
	int sfd, ifd;

	log_setproc("cr-init");
	prctl(PR_SET_NAME, "cr-init");
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	sfd = signalfd(-1, &all, SFD_CLOEXEC);
	if (sfd < 0)
		_exit(1);
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		log_warn("container: mount /proc");
	ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ifd >= 0 && inotify_add_watch(ifd, "/etc", IN_CREATE | IN_MOVED_TO) < 0)
		log_warn("container: cannot watch /etc");
	_init_slot_root(&in);
	pfd[0] = (struct pollfd){.fd = ctl, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
	pfd[2] = (struct pollfd){.fd = ifd, .events = POLLIN};
	for (;;) {
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (pfd[1].revents & POLLIN)
			_init_signal(&in, sfd);
		if (pfd[2].revents & POLLIN)
			_init_hosts(&in, ifd);
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (cr_recv(ctl, &m))
				_exit(0); /* the monitor is gone: so is the container */
			_init_msg(&in, &m);
			cr_msg_free(&m);
		}
	}
}

/* In the helper: new namespaces, private mounts, then fork the init. */
static void _helper_main(const struct cr_job *ji, const struct cr_conf *conf, const char *hosts,
			 int ctl, int report)
{
	const char *tmpfs_opts = "mode=1777";
	int hosts_fd;
	pid_t pid;

	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID | CLONE_NEWTIME |
		    CLONE_NEWNET) < 0) {
		log_warn("container: unshare");
		_exit(1);
	}
	/* Opened in the new mount namespace: the init binds it again from there. */
	hosts_fd = open(hosts, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	/* Time offsets stay 0 until a restore sets them. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, tmpfs_opts) < 0 ||
	    mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, tmpfs_opts) < 0 ||
	    hosts_fd < 0 || mount(hosts, "/etc/hosts", NULL, MS_BIND, NULL) < 0) {
		log_warn("container: private mounts");
		_exit(1);
	}
	if (sethostname(ji->hostname, strlen(ji->hostname)) < 0) {
		log_warn("container: sethostname %s", ji->hostname);
		_exit(1);
	}
	pid = fork();
	if (pid < 0) {
		log_warn("container: fork init");
		_exit(1);
	}
	if (pid == 0) {
		close(report);
		_init_main(ctl, ji, conf, hosts_fd);
	}
	if (write(report, &pid, sizeof(pid)) != sizeof(pid))
		_exit(1);
	_exit(0);
}

int container_create(const struct cr_job *ji, const struct cr_conf *conf, const char *hosts,
		     const struct job_peer *peers, size_t npeers, int *ctl_fd, pid_t *init_pid,
		     char *err, size_t errlen)
{
	int sp[2], rp[2], status, ret;
	pid_t helper, pid = -1;

	snprintf(err, errlen, "the container could not be created");
	ret = jobpeers_hosts("/etc/hosts", hosts, peers, npeers, npeers > 1 ? ji->slot : 0);
	if (ret)
		return ret;
	ret = -EIO;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return -errno;
	if (pipe2(rp, O_CLOEXEC) < 0) {
		ret = -errno;
		goto out_sp;
	}
	helper = fork();
	if (helper < 0) {
		ret = -errno;
		goto out_rp;
	}
	if (helper == 0) {
		close(sp[0]);
		close(rp[0]);
		_helper_main(ji, conf, hosts, sp[1], rp[1]);
	}
	close(rp[1]);
	rp[1] = -1;
	if (read(rp[0], &pid, sizeof(pid)) != sizeof(pid))
		pid = -1;
	waitpid(helper, &status, 0);
	if (pid <= 0) {
		log_warnx("container: job %u: the container could not be created", ji->jobid);
		goto out_rp;
	}
	ret = jobnet_attach(ji->jobid, ji->unit, ji->addr, pid, err, errlen);
	if (ret) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		goto out_rp;
	}
	/* The init was reparented to us: we are a child subreaper. */
	*init_pid = pid;
	*ctl_fd = sp[0];
	sp[0] = -1;
	ret = 0;
out_rp:
	close(rp[0]);
	if (rp[1] >= 0)
		close(rp[1]);
out_sp:
	if (sp[0] >= 0)
		close(sp[0]);
	close(sp[1]);
	return ret;
}
