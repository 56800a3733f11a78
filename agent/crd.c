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
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
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
#define MAX_LOCAL_WORKERS 64
#define MAX_TCP_WORKERS	  64

/* The listening sockets, the TCP gate and the workers serving connections. */
struct crd {
	const struct crd_ctx *ctx;
	int ufd, tfd, sfd; /* unix, TCP, signalfd */
	int nlocal;
	pid_t tcp[MAX_TCP_WORKERS]; /* 0: a free place */
	int ntcp;
	struct gate gate;
	struct gate_stats reported; /* at the last _gate_report */
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

static void _reap_workers(struct crd *d)
{
	pid_t pid;
	int i;

	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
		for (i = 0; i < MAX_TCP_WORKERS && d->tcp[i] != pid; i++)
			;
		if (i < MAX_TCP_WORKERS) {
			d->tcp[i] = 0;
			d->ntcp--;
		} else {
			d->nlocal--;
		}
	}
}

/*
 * In a worker: signals as they were before main() blocked them, crd's
 * sockets and the gate's other connections closed. @first: the TCP
 * connection's first message, read by the gate.
 */
static void __attribute__((noreturn)) _worker(struct crd *d, int cfd, struct cr_msg *first)
{
	close(d->ufd);
	close(d->tfd);
	close(d->sfd);
	gate_fini(&d->gate);
	sigprocmask(SIG_UNBLOCK, &d->sigs, NULL);
	if (first)
		door_request(d->ctx, cfd, first);
	else
		local_request(d->ctx, cfd);
	_exit(0);
}

/*
 * One request per connection, served by a forked worker: a slow or bad
 * client never blocks crd or other jobs, and a crash takes only the worker.
 */
static pid_t _fork_worker(struct crd *d, int cfd, struct cr_msg *first)
{
	pid_t pid = fork();

	if (pid < 0)
		log_warn("fork");
	if (pid == 0)
		_worker(d, cfd, first);
	close(cfd);
	if (first)
		cr_msg_free(first);
	return pid;
}

static void _serve_local(struct crd *d)
{
	int cfd = accept4(d->ufd, NULL, NULL, SOCK_CLOEXEC);

	if (cfd < 0)
		return;
	if (d->nlocal >= MAX_LOCAL_WORKERS) {
		log_warnx("%d local requests in progress: refusing one", d->nlocal);
		close(cfd);
		return;
	}
	if (_fork_worker(d, cfd, NULL) > 0)
		d->nlocal++;
}

/* Connections whose first message is whole, to TCP workers while there are places. */
static void _serve_tcp(struct crd *d)
{
	struct cr_msg m;
	pid_t pid;
	int cfd, i;

	while (d->ntcp < MAX_TCP_WORKERS && gate_take(&d->gate, &cfd, &m)) {
		pid = _fork_worker(d, cfd, &m);
		if (pid <= 0)
			continue;
		for (i = 0; d->tcp[i]; i++)
			;
		d->tcp[i] = pid;
		d->ntcp++;
	}
}

/* Re-adopt: every monitor in StateDir that answers is kept; stale files go. */
static void _readopt(const struct crd_ctx *ctx)
{
	struct job_status st;
	struct dirent *d;
	unsigned jobid;
	char path[PATH_MAX];
	DIR *dir;

	dir = opendir(ctx->conf.state_dir);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (sscanf(d->d_name, "job%u.json", &jobid) != 1 || !strstr(d->d_name, ".json") ||
		    strstr(d->d_name, ".tmp"))
			continue;
		if (jobstat_get(ctx, jobid, &st) == 0) {
			log_info("job %u: re-adopted (%s, state %s)", jobid, st.ji.hostname,
				 jobstat_state_name(st.state));
			continue;
		}
		log_info("job %u: monitor gone, removing its state", jobid);
		jobstat_state_path(ctx, jobid, path, sizeof(path));
		unlink(path);
		jobstat_sock_path(ctx, jobid, path, sizeof(path));
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

/* What the gate turned away, at most every 10 s: a flood shows in the log, not each client. */
static void _gate_report(struct crd *d)
{
	const struct gate_stats *st = &d->gate.st;
	int64_t now = cr_now_ms();

	if (now - d->reported_ms < 10000 || !memcmp(st, &d->reported, sizeof(*st)))
		return;
	if (st->refused_addr != d->reported.refused_addr || st->evicted != d->reported.evicted ||
	    st->expired != d->reported.expired || st->bad != d->reported.bad)
		log_warnx("port %u: since the last report, %lu connections refused (too many from "
			  "one address), %lu evicted (gate full), %lu past the %d ms deadline, %lu "
			  "malformed; %zu waiting",
			  d->ctx->conf.port, st->refused_addr - d->reported.refused_addr,
			  st->evicted - d->reported.evicted, st->expired - d->reported.expired,
			  GATE_DEADLINE_MS, st->bad - d->reported.bad, d->gate.n);
	d->reported = *st;
	d->reported_ms = now;
}

/* Until SIGTERM or SIGINT: each connection to a worker, TCP ones through the gate. */
static void _loop(struct crd *d)
{
	struct signalfd_siginfo si;
	struct pollfd pfd[3 + GATE_MAX];
	size_t n;
	int wait;

	for (;;) {
		_reap_workers(d);
		_serve_tcp(d);
		wait = gate_expire(&d->gate, cr_now_ms());
		_gate_report(d);
		pfd[0] = (struct pollfd){.fd = d->ufd, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = d->tfd, .events = POLLIN};
		pfd[2] = (struct pollfd){.fd = d->sfd, .events = POLLIN};
		n = 3 + gate_pollfds(&d->gate, pfd + 3);
		if (poll(pfd, n, wait < 0 || wait > 1000 ? 1000 : wait) <= 0)
			continue;
		while (read(d->sfd, &si, sizeof(si)) == sizeof(si))
			if (si.ssi_signo != SIGCHLD)
				return;
		if (pfd[0].revents & POLLIN)
			_serve_local(d);
		for (size_t i = 3; i < n; i++)
			if (pfd[i].revents)
				gate_read(&d->gate, pfd[i].fd);
		if (pfd[1].revents & POLLIN)
			gate_accept(&d->gate, d->tfd, cr_now_ms());
	}
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
	gate_init(&d.gate);
	_loop(&d);
	gate_fini(&d.gate);
	log_info("exiting; job monitors keep running");
	unlink(ctx.conf.socket_path);
	ctx_fini(&ctx);
	return 0;
}
