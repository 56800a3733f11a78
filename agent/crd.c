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
#include "jobstat.h"
#include "local.h"
#include "log.h"
#include "proto.h"

#define MAX_WORKERS 128

/* The listening sockets and the workers serving their connections. */
struct crd {
	const struct crd_ctx *ctx;
	int ufd, tfd, sfd; /* unix, TCP, signalfd */
	int nworkers;
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
	while (waitpid(-1, NULL, WNOHANG) > 0)
		d->nworkers--;
}

/* In a worker: signals as they were before main() blocked them, crd's sockets closed. */
static void __attribute__((noreturn)) _worker(struct crd *d, int cfd, int tcp)
{
	close(d->ufd);
	close(d->tfd);
	close(d->sfd);
	sigprocmask(SIG_UNBLOCK, &d->sigs, NULL);
	if (tcp)
		door_request(d->ctx, cfd);
	else
		local_request(d->ctx, cfd);
	_exit(0);
}

/*
 * One request per connection, served by a forked worker: a slow or bad
 * client never blocks crd or other jobs, and a crash takes only the worker.
 */
static void _serve(struct crd *d, int lfd, int tcp)
{
	int cfd;
	pid_t pid;

	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	if (d->nworkers >= MAX_WORKERS) {
		log_warnx("%d requests in progress: refusing a %s connection", d->nworkers,
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
	if (pid == 0)
		_worker(d, cfd, tcp);
	d->nworkers++;
	close(cfd);
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

/* Until SIGTERM or SIGINT: each connection to a worker. */
static void _loop(struct crd *d)
{
	struct signalfd_siginfo si;
	struct pollfd pfd[3];

	for (;;) {
		pfd[0] = (struct pollfd){.fd = d->ufd, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = d->tfd, .events = POLLIN};
		pfd[2] = (struct pollfd){.fd = d->sfd, .events = POLLIN};
		_reap_workers(d);
		if (poll(pfd, 3, 1000) <= 0)
			continue;
		while (read(d->sfd, &si, sizeof(si)) == sizeof(si))
			if (si.ssi_signo != SIGCHLD)
				return;
		if (pfd[0].revents & POLLIN)
			_serve(d, d->ufd, 0);
		if (pfd[1].revents & POLLIN)
			_serve(d, d->tfd, 1);
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
	_listen(&d, &ctx.conf);
	_readopt(&ctx);
	ctx_load_slurm(&ctx);
	log_info("node %s ready: socket %s, port %u, state %s", ctx.conf.node_name,
		 ctx.conf.socket_path, ctx.conf.port, ctx.conf.state_dir);
	_loop(&d);
	log_info("exiting; job monitors keep running");
	unlink(ctx.conf.socket_path);
	ctx_fini(&ctx);
	return 0;
}
