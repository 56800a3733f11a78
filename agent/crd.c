// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * crd: the slurm-cr node agent. One per node, root.
 *
 * Listens on SocketPath (unix: spank_cr.so's prolog/epilog and the batch
 * step's relay; local.c) and on Port (TCP: crctl and other nodes'
 * coordinators, munge-authenticated; door.c). Each job's container is owned
 * by a detached per-job monitor (monitor.c), so crd keeps no job state of
 * its own: StateDir holds it and crd can restart at any time. This file only
 * starts, listens and dispatches each connection to a forked worker.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctx.h"
#include "door.h"
#include "gate.h"
#include "jobnet.h"
#include "jobstat.h"
#include "local.h"
#include "log.h"
#include "proto.h"

/*
 * Two pools of workers: the unix socket's (Slurm's prolog and epilog, the
 * relays and monitors) cannot be exhausted by clients of the TCP port.
 */
#define MAX_WORKERS    64  /* per door */
#define LOCAL_GATE_MAX 128 /* Slurm's prolog and epilog, and relays: few at once */
/* A TCP worker's exit status when the credential was refused: its source cools down. */
#define EXIT_UNAUTH 2
/*
 * TCP workers whose credential munged has not yet accepted: munged serves
 * Slurm too (2 threads by default), and unknown clients must not queue
 * Slurm's own credentials (the prolog's slurm_load_job) behind theirs.
 */
#define MAX_UNAUTH 4

/* A gate, what it reported last, and the workers serving what it let through. */
struct crd_door {
	struct gate gate;
	struct gate_stats reported; /* at the last _gate_report */
	pid_t pid[MAX_WORKERS];	    /* 0: a free place */
	struct in6_addr src[MAX_WORKERS];
	char authed[MAX_WORKERS]; /* the worker said its credential was good */
	int n, unauth;
};

/* The listening sockets and their doors: [0] the unix socket, [1] the TCP port. */
struct crd {
	const struct crd_ctx *ctx;
	int ufd, tfd, sfd; /* unix, TCP, signalfd */
	int afd[2];	   /* TCP workers -> crd: the pid whose credential munge accepted */
	struct crd_door door[2];
	int64_t reported_ms;
	sigset_t sigs;
};

static void _usage(FILE *f)
{
	fprintf(f, "usage: crd [-dh] [-f config]\n"
		   "  -f PATH  configuration file (default " CR_CONF_DEFAULT ")\n"
		   "  -d       debug logging\n"
		   "  -h       this help\n"
		   "crd runs in the foreground and logs to stderr or LogFile.\n");
}

/* A worker ended: its place is free; a refused credential cools its source down. */
static void _reaped(struct crd *d, pid_t pid, int status)
{
	for (int k = 0; k < 2; k++) {
		struct crd_door *o = &d->door[k];

		for (int i = 0; i < MAX_WORKERS; i++) {
			if (o->pid[i] != pid)
				continue;
			o->pid[i] = 0;
			o->n--;
			o->unauth -= !o->authed[i];
			if ((WIFEXITED(status) && WEXITSTATUS(status) == EXIT_UNAUTH) ||
			    (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM))
				gate_cool(&o->gate, &o->src[i], cr_now_ms(), GATE_COOL_MS);
			return;
		}
	}
}

static void _reap_workers(struct crd *d)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		_reaped(d, pid, status);
}

/*
 * In a worker: signals as they were before main() blocked them, crd's
 * sockets and the gates' other connections closed. @first: the
 * connection's first message, read by its gate.
 */
static void __attribute__((noreturn))
_worker(struct crd *d, int tcp, int cfd, struct cr_msg *first, int64_t deadline_ms)
{
	int64_t left = deadline_ms - cr_now_ms();
	int ret = 0;

	close(d->ufd);
	close(d->tfd);
	close(d->sfd);
	close(d->afd[0]);
	gate_fini(&d->door[0].gate);
	gate_fini(&d->door[1].gate);
	sigprocmask(SIG_UNBLOCK, &d->sigs, NULL);
	if (tcp && left <= 0)
		_exit(EXIT_UNAUTH);
	/* the gate's deadline holds until munge accepts the credential: SIGALRM ends us */
	if (tcp)
		setitimer(ITIMER_REAL,
			  &(struct itimerval){.it_value = {left / 1000, left % 1000 * 1000}}, NULL);
	if (tcp)
		ret = door_request(d->ctx, cfd, first, d->afd[1]);
	else
		local_request(d->ctx, cfd, first);
	_exit(ret == -EACCES ? EXIT_UNAUTH : 0);
}

/*
 * One request per connection, served by a forked worker: a slow or bad
 * client never blocks crd or other jobs, and a crash takes only the worker.
 * Connections whose first message is whole, while the door has workers to spare.
 */
static void _serve(struct crd *d, int tcp)
{
	struct crd_door *o = &d->door[tcp];
	struct in6_addr src;
	struct cr_msg m;
	int64_t deadline;
	pid_t pid;
	int cfd, i;

	while (o->n < MAX_WORKERS && (!tcp || o->unauth < MAX_UNAUTH) &&
	       gate_take(&o->gate, cr_now_ms(), &cfd, &m, &src, &deadline)) {
		pid = fork();
		if (pid < 0)
			log_warn("fork");
		if (pid == 0)
			_worker(d, tcp, cfd, &m, deadline);
		close(cfd);
		cr_msg_free(&m);
		if (pid < 0)
			continue;
		for (i = 0; o->pid[i]; i++)
			;
		o->pid[i] = pid;
		o->src[i] = src;
		o->authed[i] = !tcp;
		o->unauth += tcp;
		o->n++;
	}
}

/* TCP workers whose credential munge accepted: they no longer count as unknown. */
static void _authed(struct crd *d)
{
	struct crd_door *o = &d->door[1];
	pid_t pid;

	while (read(d->afd[0], &pid, sizeof(pid)) == sizeof(pid))
		for (int i = 0; i < MAX_WORKERS; i++)
			if (o->pid[i] == pid && !o->authed[i]) {
				o->authed[i] = 1;
				o->unauth--;
			}
}

/* Re-adopt: every monitor in StateDir that answers is kept; stale files go. */
static void _readopt(const struct crd_ctx *ctx)
{
	struct job_status st;
	struct dirent *d;
	uint32_t jobid, unit;
	char path[PATH_MAX];
	DIR *dir;

	dir = opendir(ctx->conf.state_dir);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (jobstat_parse_name(d->d_name, &jobid, &unit))
			continue;
		if (jobstat_get(ctx, jobid, unit, &st) == 0) {
			log_info("job %u: re-adopted (%s, unit %u, state %s)", jobid,
				 st.ji.hostname, unit, jobstat_state_name(st.state));
			continue;
		}
		log_info("job %u: monitor of unit %u gone, removing its state", jobid, unit);
		jobstat_path(ctx, jobid, unit, JOBSTAT_STATE, path, sizeof(path));
		unlink(path);
		jobstat_path(ctx, jobid, unit, JOBSTAT_SOCK, path, sizeof(path));
		unlink(path);
	}
	closedir(dir);
}

static int _tcp_listen(uint16_t port)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	int fd, on = 1, off = 0;

	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	sa.sin6_addr = in6addr_any;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 512) < 0) {
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

/* Options: 0 to go on, else main's exit code + 1. */
static int _options(int argc, char **argv, const char **cfile, int *debug)
{
	static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	int c;

	while ((c = getopt_long(argc, argv, "df:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			*debug = 1;
			break;
		case 'f':
			*cfile = optarg;
			break;
		case 'h':
			_usage(stdout);
			return 1;
		default:
			_usage(stderr);
			return 3;
		}
	}
	if (optind != argc) {
		_usage(stderr);
		return 3;
	}
	return 0;
}

/* StateDir, the unix socket and the TCP port; signals through a signalfd. */
static void _listen(struct crd *d, const struct cr_conf *conf)
{
	char sockdir[PATH_MAX];

	sigemptyset(&d->sigs);
	sigaddset(&d->sigs, SIGTERM);
	sigaddset(&d->sigs, SIGINT);
	sigaddset(&d->sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &d->sigs, NULL);
	d->sfd = signalfd(-1, &d->sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sfd < 0)
		fatal("signalfd");
	_mkdirs(conf->state_dir, 0700);
	snprintf(sockdir, sizeof(sockdir), "%s", conf->socket_path);
	*strrchr(sockdir, '/') = '\0';
	if (*sockdir)
		_mkdirs(sockdir, 0755);
	d->ufd = cr_unix_listen(conf->socket_path, 0666);
	if (d->ufd < 0) {
		errno = -d->ufd;
		fatal("cannot listen on %s", conf->socket_path);
	}
	d->tfd = _tcp_listen(conf->port);
	if (d->tfd < 0) {
		errno = -d->tfd;
		fatal("cannot listen on port %u", conf->port);
	}
}

/* What a gate turned away since the last report. */
static void _gate_report(struct crd_door *o, const char *what)
{
	const struct gate_stats *st = &o->gate.st;
	struct gate_stats *r = &o->reported;

	if (st->refused_addr != r->refused_addr || st->evicted != r->evicted ||
	    st->expired != r->expired || st->bad != r->bad || st->refused_cred != r->refused_cred)
		log_warnx("%s: since the last report, %lu connections closed (too many from "
			  "one source), %lu evicted (gate full), %lu past the %d ms deadline, %lu "
			  "malformed, %lu munge credentials refused (crd -d logs why); %zu "
			  "waiting, %d workers; held %lld ms at most",
			  what, st->refused_addr - r->refused_addr, st->evicted - r->evicted,
			  st->expired - r->expired, o->gate.conf.deadline_ms, st->bad - r->bad,
			  st->refused_cred - r->refused_cred, o->gate.n, o->n,
			  (long long)st->held_ms);
	*r = *st;
}

/* What the gates turned away, at most every 10 s: a flood shows in the log, not each client. */
static void _gate_reports(struct crd *d)
{
	char port[32];
	int64_t now = cr_now_ms();

	if (now - d->reported_ms < 10000)
		return;
	snprintf(port, sizeof(port), "port %u", d->ctx->conf.port);
	_gate_report(&d->door[0], d->ctx->conf.socket_path);
	_gate_report(&d->door[1], port);
	d->reported_ms = now;
}

/*
 * The listening sockets, the signalfd, the workers' pipe, then the gates'
 * connections being read (the unix socket's below *nu); how many pfd in all.
 */
static size_t _pollfds(struct crd *d, struct pollfd *pfd, size_t *nu)
{
	size_t n = 4;

	pfd[0] = (struct pollfd){.fd = d->ufd, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = d->tfd, .events = POLLIN};
	pfd[2] = (struct pollfd){.fd = d->sfd, .events = POLLIN};
	pfd[3] = (struct pollfd){.fd = d->afd[0], .events = POLLIN};
	n += gate_pollfds(&d->door[0].gate, pfd + n);
	*nu = n;
	n += gate_pollfds(&d->door[1].gate, pfd + n);
	return n;
}

/* Until SIGTERM or SIGINT: each connection to a worker, through its gate. */
static void _loop(struct crd *d)
{
	struct signalfd_siginfo si;
	struct pollfd pfd[4 + 2 * GATE_MAX];
	size_t n, nu;
	int wait, w;

	for (;;) {
		_authed(d); /* before the reaping: a worker may have said so and ended */
		_reap_workers(d);
		_serve(d, 0);
		_serve(d, 1);
		wait = gate_expire(&d->door[0].gate, cr_now_ms());
		w = gate_expire(&d->door[1].gate, cr_now_ms());
		wait = wait < 0 || (w >= 0 && w < wait) ? w : wait;
		_gate_reports(d);
		n = _pollfds(d, pfd, &nu);
		/* 100 ms at most: a source's cooling down ends without a wake-up */
		if (poll(pfd, n, wait < 0 || wait > 100 ? 100 : wait) <= 0)
			continue;
		while (read(d->sfd, &si, sizeof(si)) == sizeof(si))
			if (si.ssi_signo != SIGCHLD)
				return;
		for (size_t i = 4; i < n; i++)
			if (pfd[i].revents)
				gate_read(&d->door[i >= nu].gate, pfd[i].fd, cr_now_ms());
		if (pfd[0].revents & POLLIN)
			gate_accept(&d->door[0].gate, d->ufd, cr_now_ms());
		if (pfd[1].revents & POLLIN)
			gate_accept(&d->door[1].gate, d->tfd, cr_now_ms());
	}
}

/*
 * The gates, sized to crd's open-file limit (raised to its hard limit):
 * the TCP port takes any first message that is a munge credential, the
 * unix socket only the prolog's, the epilog's, the relays' and cr-rsh's.
 */
static void _gates(struct crd *d)
{
	struct rlimit rl;
	size_t places;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	places = gate_places(getrlimit(RLIMIT_NOFILE, &rl) ? 1024 : rl.rlim_cur);
	gate_init(&d->door[1].gate,
		  &(struct gate_conf){.places = places,
				      .per_src = GATE_PER_ADDR,
				      .deadline_ms = GATE_DEADLINE_MS,
				      .types = 1u << CR_MSG_CTL | 1u << CR_MSG_NODE,
				      .cred = 1});
	gate_init(&d->door[0].gate,
		  &(struct gate_conf){.places = places < LOCAL_GATE_MAX ? places : LOCAL_GATE_MAX,
				      .per_src = GATE_PER_ADDR,
				      .deadline_ms = GATE_DEADLINE_MS,
				      .types = 1u << CR_MSG_JOB_START | 1u << CR_MSG_JOB_END |
					       1u << CR_MSG_HELLO | 1u << CR_MSG_RSH,
				      .unix_socket = 1,
				      /* cr-rsh's request carries the job's environment */
				      .msg_max = CR_MSG_MAX});
	log_info("gates: %zu places on port %u, %zu on the unix socket, %d per source, %d ms "
		 "for a first message",
		 d->door[1].gate.conf.places, d->ctx->conf.port, d->door[0].gate.conf.places,
		 GATE_PER_ADDR, GATE_DEADLINE_MS);
}

int main(int argc, char **argv)
{
	const char *cfile = CR_CONF_DEFAULT;
	struct crd_ctx ctx;
	struct crd d = {.ctx = &ctx};
	char err[512];
	int debug = 0, ret;

	ret = _options(argc, argv, &cfile, &debug);
	if (ret)
		return ret - 1;
	if (ctx_load(&ctx, cfile, err, sizeof(err))) {
		fprintf(stderr, "crd: %s\n", err);
		return 1;
	}
	if (log_init("crd", ctx.conf.log_file, debug))
		fatal("cannot open LogFile %s", ctx.conf.log_file);
	signal(SIGPIPE, SIG_IGN);
	if (jobnet_node_init(&ctx.conf, err, sizeof(err)))
		fatal("%s", err);
	_listen(&d, &ctx.conf);
	_readopt(&ctx);
	ctx_load_slurm(&ctx);
	log_info("node %s ready: socket %s, port %u, state %s", ctx.conf.node_name,
		 ctx.conf.socket_path, ctx.conf.port, ctx.conf.state_dir);
	_gates(&d);
	if (pipe2(d.afd, O_CLOEXEC | O_NONBLOCK) < 0)
		fatal("pipe");
	_loop(&d);
	gate_fini(&d.door[0].gate);
	gate_fini(&d.door[1].gate);
	log_info("exiting; job monitors keep running");
	unlink(ctx.conf.socket_path);
	ctx_fini(&ctx);
	return 0;
}
