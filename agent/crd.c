// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * crd: the slurm-cr node agent. One per node, root.
 *
 * Listens on SocketPath (unix: spank_cr.so's prolog/epilog and the batch
 * step's relay) and on Port (TCP: crctl, munge-authenticated). Each job's
 * container is owned by a detached per-job monitor (monitor.c), so crd keeps
 * no job state of its own: StateDir holds it and crd can restart at any time.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <munge.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <slurm/slurm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crd.h"
#include "interval.h"
#include "log.h"
#include "proto.h"

#define BATCH_STEP 0xfffffffbU

struct cr_conf conf;

static struct {
	int slurm_ok; /* libslurm initialised: slurmctld reachable */
	uid_t slurm_uid;
	char munge_socket[PATH_MAX];
	volatile sig_atomic_t quit;
} crd = {.slurm_uid = 0};

static void _usage(FILE *f)
{
	fprintf(f, "usage: crd [-dh] [-f config]\n"
		   "  -f PATH  configuration file (default " CR_CONF_DEFAULT ")\n"
		   "  -d       debug logging\n"
		   "  -h       this help\n"
		   "crd runs in the foreground and logs to stderr or LogFile.\n");
}

/*
 * SlurmUser and the munge socket (AuthInfo=socket=...), read from slurm.conf:
 * $SLURM_CONF, else slurm.conf next to cr.conf, else /etc/slurm/slurm.conf.
 * $CR_MUNGE_SOCKET overrides the socket.
 */
static void _load_slurm_conf(const char *cfile)
{
	const char *path = getenv("SLURM_CONF"), *env = getenv("CR_MUNGE_SOCKET");
	char line[4096], sibling[PATH_MAX], *v, *p;
	struct passwd *pw;
	FILE *f;

	snprintf(sibling, sizeof(sibling), "%s", cfile);
	p = strrchr(sibling, '/');
	snprintf(p ? p + 1 : sibling, sizeof(sibling) - (p ? p + 1 - sibling : 0), "slurm.conf");
	if (!path)
		path = access(sibling, R_OK) == 0 ? sibling : "/etc/slurm/slurm.conf";
	f = fopen(path, "re");
	if (!f) {
		log_warn("cannot read %s (set SLURM_CONF): only root may use crctl, default munge "
			 "socket",
			 path);
	}
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "#\n")] = '\0';
		if (!(v = strchr(line, '=')))
			continue;
		*v++ = '\0';
		v[strcspn(v, " \t")] = '\0';
		if (!strcasecmp(line, "SlurmUser") && (pw = getpwnam(v)))
			crd.slurm_uid = pw->pw_uid;
		if (!strcasecmp(line, "AuthInfo") && (p = strstr(v, "socket=")))
			snprintf(crd.munge_socket, sizeof(crd.munge_socket), "%.*s",
				 (int)strcspn(p + 7, ","), p + 7);
	}
	if (f) {
		fclose(f);
		slurm_init(path);
		crd.slurm_ok = 1;
	}
	if (env)
		snprintf(crd.munge_socket, sizeof(crd.munge_socket), "%s", env);
	log_info("%s: SlurmUser uid %u, munge socket %s", path, crd.slurm_uid,
		 crd.munge_socket[0] ? crd.munge_socket : "(default)");
}

static int _peer(int fd, struct ucred *uc)
{
	socklen_t len = sizeof(*uc);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, uc, &len);
}

const char *crd_munge_socket(void)
{
	return crd.munge_socket;
}

/* A request to a job's monitor; reply text copied to buf. */
int ask_monitor(uint32_t jobid, uint32_t type, const struct cr_buf *b, const int *fds, int nfds,
		uint32_t *code, char *buf, size_t len)
{
	return ask_monitor_timeout(jobid, type, b, fds, nfds, 10, code, buf, len);
}

int ask_monitor_timeout(uint32_t jobid, uint32_t type, const struct cr_buf *b, const int *fds,
			int nfds, int timeout_s, uint32_t *code, char *buf, size_t len)
{
	int fd, ret;

	fd = monitor_connect(jobid);
	if (fd < 0)
		return fd;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){timeout_s, 0},
		   sizeof(struct timeval));
	ret = cr_send(fd, type, b, fds, nfds);
	if (!ret)
		ret = cr_recv_reply(fd, code, buf, len);
	close(fd);
	return ret;
}

int job_status(uint32_t jobid, json_t **out)
{
	static char buf[16384];
	uint32_t code;
	int ret;

	ret = ask_monitor(jobid, CR_MSG_STATUS, NULL, NULL, 0, &code, buf, sizeof(buf));
	if (ret)
		return ret;
	if (code)
		return -EIO;
	*out = json_loads(buf, 0, NULL);
	return *out ? 0 : -EPROTO;
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
 * requeueable: a node failure requeues it and it resumes from its checkpoint.
 */
static void _job_layout(struct cr_job *ji, const char *node)
{
	job_info_msg_t *jobs = NULL;
	job_desc_msg_t desc;
	job_info_t *j;
	int requeue = -1;

	if (!crd.slurm_ok)
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
	if (requeue != 0 || !ji->batch)
		return;
	slurm_init_job_desc_msg(&desc);
	desc.job_id = ji->jobid;
	desc.requeue = 1;
	if (slurm_update_job(&desc) != 0)
		log_warnx("job %u: cannot make it requeueable: %s", ji->jobid,
			  slurm_strerror(slurm_get_errno()));
	else
		log_info("job %u: made requeueable (--checkpoint jobs are)", ji->jobid);
}

static void _job_start(int fd, struct cr_msg *m)
{
	struct cr_job ji = {0};
	const char *dir, *node, *nodelist;
	uint32_t version, interval, code;
	const char *state;
	json_t *st;
	char err[512];

	if (cr_unpack_u32(m, &version) || version != CR_PROTO_VERSION ||
	    cr_unpack_u32(m, &ji.jobid) || cr_unpack_u32(m, &ji.uid) || cr_unpack_u32(m, &ji.gid) ||
	    cr_unpack_u32(m, &interval) || cr_unpack_str(m, &dir) || cr_unpack_str(m, &node) ||
	    cr_unpack_str(m, &nodelist) || cr_unpack_u32(m, &ji.restart_from) ||
	    cr_unpack_done(m) || strlen(dir) >= sizeof(ji.ckpt_dir) ||
	    strlen(nodelist) >= sizeof(ji.nodelist)) {
		log_warnx("bad JOB_START request (%u bytes): closing", m->hdr.len);
		return;
	}
	if (job_status(ji.jobid, &st) == 0) {
		state = json_string_value(json_object_get(st, "state"));
		if (state && !strcmp(state, "idle")) {
			json_decref(st);
			cr_send_ok(fd, "exists");
			return;
		}
		/* A previous run's (requeued job, missed epilog): replace it. */
		log_info("job %u: replacing the container of a previous run (%s)", ji.jobid,
			 state ? state : "?");
		json_decref(st);
		ask_monitor(ji.jobid, CR_MSG_JOB_END, NULL, NULL, 0, &code, err, sizeof(err));
	}
	ji.interval = (int32_t)interval < 0 ? conf.default_interval : (long)interval;
	snprintf(ji.ckpt_dir, sizeof(ji.ckpt_dir), "%s", *dir ? dir : conf.checkpoint_dir);
	snprintf(ji.nodelist, sizeof(ji.nodelist), "%s", nodelist);
	ji.slot = _slot_of(nodelist, node);
	ji.batch = ji.slot == 0;
	_job_layout(&ji, node);
	snprintf(ji.hostname, sizeof(ji.hostname), "job%u-slot%u", ji.jobid, ji.slot);
	if (monitor_spawn(&ji, err, sizeof(err))) {
		log_warnx("job %u: %s", ji.jobid, err);
		cr_send_err(fd, CR_E_FAILED, "slurm-cr: job %u: %s", ji.jobid, err);
		return;
	}
	log_info("job %u: container %s created for uid %u", ji.jobid, ji.hostname, ji.uid);
	cr_send_ok(fd, ji.hostname);
}

static void _job_end(int fd, struct cr_msg *m)
{
	uint32_t version, jobid, code;
	char buf[256];
	int ret;

	if (cr_unpack_u32(m, &version) || version != CR_PROTO_VERSION || cr_unpack_u32(m, &jobid) ||
	    cr_unpack_done(m)) {
		log_warnx("bad JOB_END request (%u bytes): closing", m->hdr.len);
		return;
	}
	ret = ask_monitor(jobid, CR_MSG_JOB_END, NULL, NULL, 0, &code, buf, sizeof(buf));
	if (ret == -ENOENT || ret == -ECONNREFUSED) {
		cr_send_ok(fd, "none");
		return;
	}
	if (ret)
		log_warnx("job %u: monitor did not confirm the end: %s", jobid, strerror(-ret));
	else
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

static void _hello(int fd, struct cr_msg *m)
{
	uint32_t version, jobid, stepid, code;
	struct ucred uc;
	struct cr_buf b;
	json_t *st = NULL;
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
	if (job_status(jobid, &st)) {
		snprintf(why, sizeof(why), "job %u has no container on this node", jobid);
		goto refuse;
	}
	if (uc.uid != json_integer_value(json_object_get(st, "uid"))) {
		snprintf(why, sizeof(why), "peer uid %u is not the job's", uc.uid);
		goto refuse;
	}
	if (cgroup_check_step(uc.pid, jobid, "batch", why, sizeof(why)) ||
	    _check_parent(uc.pid, jobid, why, sizeof(why)))
		goto refuse;
	if (pidfd < 0 || syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0) {
		snprintf(why, sizeof(why), "pid %d went away", uc.pid);
		goto refuse;
	}
	cr_buf_init(&b);
	cr_pack_u32(&b, uc.pid);
	ret = ask_monitor(jobid, CR_MSG_ADOPT, &b, &fd, 1, &code, buf, sizeof(buf));
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
	json_decref(st);
}

static void _unix_client(int fd)
{
	struct cr_msg m;
	struct ucred uc;
	int ret;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){5, 0}, sizeof(struct timeval));
	ret = cr_recv(fd, &m);
	if (ret) {
		if (ret != -ECONNRESET)
			log_warnx("local client: bad message: %s", strerror(-ret));
		return;
	}
	if ((m.hdr.type == CR_MSG_JOB_START || m.hdr.type == CR_MSG_JOB_END) &&
	    (_peer(fd, &uc) < 0 || uc.uid != 0)) {
		log_warnx("%s from non-root peer: closing", cr_msg_name(m.hdr.type));
		goto out;
	}
	if (m.nfds) {
		log_warnx("%s with file descriptors: closing", cr_msg_name(m.hdr.type));
		goto out;
	}
	switch (m.hdr.type) {
	case CR_MSG_JOB_START:
		_job_start(fd, &m);
		break;
	case CR_MSG_JOB_END:
		_job_end(fd, &m);
		break;
	case CR_MSG_HELLO:
		_hello(fd, &m);
		break;
	default:
		log_warnx("unexpected %s on the local socket: closing", cr_msg_name(m.hdr.type));
	}
out:
	cr_msg_free(&m);
}

static void _signal(int sig)
{
	if (sig != SIGCHLD)
		crd.quit = 1;
}

#define MAX_WORKERS 128

static int nworkers;

static void _reap_workers(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		nworkers--;
}

/*
 * One request per connection, served by a forked worker: a slow or bad
 * client never blocks crd or other jobs, and a crash takes only the worker.
 */
static void _serve(int lfd, int ufd, int tfd, int tcp)
{
	int cfd;
	pid_t pid;

	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	if (nworkers >= MAX_WORKERS) {
		log_warnx("%d requests in progress: refusing a %s connection", nworkers,
			  tcp ? "crctl" : "local");
		close(cfd);
		return;
	}
	pid = fork();
	if (pid < 0) {
		log_warn("fork");
		close(cfd);
		return;
	}
	if (pid == 0) {
		signal(SIGCHLD, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		close(ufd);
		close(tfd);
		if (tcp)
			ctl_request(cfd, crd.munge_socket, crd.slurm_uid);
		else
			_unix_client(cfd);
		_exit(0);
	}
	nworkers++;
	close(cfd);
}

/* Re-adopt: every monitor in StateDir that answers is kept; stale files go. */
static void _readopt(void)
{
	struct dirent *d;
	unsigned jobid;
	char path[PATH_MAX];
	json_t *st;
	DIR *dir;

	dir = opendir(conf.state_dir);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (sscanf(d->d_name, "job%u.json", &jobid) != 1 || !strstr(d->d_name, ".json") ||
		    strstr(d->d_name, ".tmp"))
			continue;
		if (job_status(jobid, &st) == 0) {
			log_info("job %u: re-adopted (%s, state %s)", jobid,
				 json_string_value(json_object_get(st, "hostname")),
				 json_string_value(json_object_get(st, "state")));
			json_decref(st);
			continue;
		}
		log_info("job %u: monitor gone, removing its state", jobid);
		monitor_state_path(jobid, path, sizeof(path));
		unlink(path);
		monitor_sock_path(jobid, path, sizeof(path));
		unlink(path);
	}
	closedir(dir);
}

static int _tcp_listen(uint16_t port)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	int fd, on = 1, off = 0;

	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	sa.sin6_addr = in6addr_any;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		int saved = errno;
		close(fd);
		return -saved;
	}
	return fd;
}

static void _mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		fatal("mkdir %s", buf);
}

int main(int argc, char **argv)
{
	const char *cfile = CR_CONF_DEFAULT;
	char err[512], sockdir[PATH_MAX];
	struct pollfd pfd[2];
	int c, debug = 0, ufd, tfd;

	static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	while ((c = getopt_long(argc, argv, "df:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			cfile = optarg;
			break;
		case 'h':
			_usage(stdout);
			return 0;
		default:
			_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		_usage(stderr);
		return 2;
	}
	cr_conf_defaults(&conf);
	if (cr_conf_load(&conf, cfile, err, sizeof(err))) {
		fprintf(stderr, "crd: %s\n", err);
		return 1;
	}
	if (log_init("crd", conf.log_file, debug))
		fatal("cannot open LogFile %s", conf.log_file);
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGTERM, &(struct sigaction){.sa_handler = _signal}, NULL);
	sigaction(SIGINT, &(struct sigaction){.sa_handler = _signal}, NULL);
	sigaction(SIGCHLD, &(struct sigaction){.sa_handler = _signal}, NULL);
	_mkdirs(conf.state_dir, 0700);
	snprintf(sockdir, sizeof(sockdir), "%s", conf.socket_path);
	*strrchr(sockdir, '/') = '\0';
	if (*sockdir)
		_mkdirs(sockdir, 0755);
	ufd = cr_unix_listen(conf.socket_path, 0666);
	if (ufd < 0) {
		errno = -ufd;
		fatal("cannot listen on %s", conf.socket_path);
	}
	tfd = _tcp_listen(conf.port);
	if (tfd < 0) {
		errno = -tfd;
		fatal("cannot listen on port %u", conf.port);
	}
	_readopt();
	_load_slurm_conf(cfile);
	log_info("node %s ready: socket %s, port %u, state %s", conf.node_name, conf.socket_path,
		 conf.port, conf.state_dir);
	while (!crd.quit) {
		pfd[0] = (struct pollfd){.fd = ufd, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = tfd, .events = POLLIN};
		_reap_workers();
		if (poll(pfd, 2, 1000) <= 0)
			continue;
		if (pfd[0].revents & POLLIN)
			_serve(ufd, ufd, tfd, 0);
		if (pfd[1].revents & POLLIN)
			_serve(tfd, ufd, tfd, 1);
	}
	log_info("exiting; job monitors keep running");
	unlink(conf.socket_path);
	if (crd.slurm_ok)
		slurm_fini();
	return 0;
}
