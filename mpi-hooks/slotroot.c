// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The slot root (`cr-rsh --slot-root`): on a slot of a checkpointable job
 * other than the batch one, the container's init starts it as the job's
 * user (session leader, child subreaper, stdio /dev/null) on a unix socket
 * it made (fd 3). crd hands it launch requests (rshreq.h), only crd: its
 * peer must be root. For each it forks a relay that connects back to the
 * caller's cr-rsh over the job network, proves the cookie and starts the
 * command under /bin/sh -c with its stdio on pipes it relays (rshio.h).
 * Everything the commands start stays below it, the tree a checkpoint of
 * this slot takes; between requests it holds nothing but its listener.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "proto.h"
#include "rsh.h"
#include "rshio.h"
#include "rshreq.h"

#define LISTEN_FD	 3
#define READY_TIMEOUT_MS 20000

/* The command's environment: the caller's, with this slot's own name. */
static char **_env(const struct rsh_req *r)
{
	static const char *const own[] = {"HOSTNAME=", "SLURM_CR_CONTAINER="};
	static char host[300];
	char name[256] = "", **v;
	size_t o = 0;

	v = calloc(r->nenv + 3, sizeof(*v));
	if (!v)
		return NULL;
	for (uint32_t i = 0; i < r->nenv; i++)
		if (strncmp(r->env[i], own[0], strlen(own[0])) &&
		    strncmp(r->env[i], own[1], strlen(own[1])))
			v[o++] = (char *)r->env[i];
	gethostname(name, sizeof(name) - 1);
	snprintf(host, sizeof(host), "HOSTNAME=%s", name);
	v[o++] = host;
	if (getenv("SLURM_CR_CONTAINER"))
		v[o++] = getenv("SLURM_CR_CONTAINER") - strlen(own[1]);
	return v;
}

/* The command, in a session of its own, its stdio on the relay's pipes. Never returns. */
static void _exec_cmd(const struct rsh_req *r, int in, int out, int err)
{
	const char *home = getenv("HOME");
	char **env = _env(r);

	setsid();
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(127);
	if (chdir(r->cwd) < 0) {
		dprintf(2, "cr-rsh: cannot enter %s: %s\n", r->cwd, strerror(errno));
		if ((!home || chdir(home) < 0) && chdir("/") < 0)
			_exit(127);
	}
	if (env)
		execve("/bin/sh", (char *[]){"sh", "-c", (char *)r->cmd, NULL}, env);
	dprintf(2, "cr-rsh: cannot run /bin/sh: %s\n", strerror(errno));
	_exit(127);
}

struct relay {
	int tcp, in, out, err; /* -1: closed */
	int in_eof;	       /* the caller's stdin ended */
	uint8_t buf[RSHIO_CHUNK];
	size_t len, off; /* stdin not yet taken by the command */
	pid_t cmd;
};

/* Pending stdin into the command, never blocking: it may not read. */
static void _feed(struct relay *rl)
{
	ssize_t n;

	while (rl->in >= 0 && rl->off < rl->len) {
		n = write(rl->in, rl->buf + rl->off, rl->len - rl->off);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) { /* it closed its stdin: what comes is dropped */
			close(rl->in);
			rl->in = -1;
			break;
		}
		rl->off += n;
	}
	rl->len = rl->off = 0;
	if (rl->in >= 0 && rl->in_eof) {
		close(rl->in);
		rl->in = -1;
	}
}

/* A frame from cr-rsh: stdin. 0, or -errno when the caller is gone. */
static int _from_caller(struct relay *rl)
{
	uint32_t len;
	uint8_t type;
	int ret = rshio_recv(rl->tcp, &type, rl->buf, &len);

	if (ret)
		return ret;
	if (type != 'i')
		return -EPROTO;
	if (len == 0)
		rl->in_eof = 1;
	rl->len = rl->in >= 0 ? len : 0;
	rl->off = 0;
	_feed(rl);
	return 0;
}

/* Output of the command to cr-rsh; *fd closed at its end. */
static int _to_caller(struct relay *rl, int *fd, uint8_t type)
{
	uint8_t buf[RSHIO_CHUNK];
	ssize_t n = read(*fd, buf, sizeof(buf));

	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return 0;
	}
	return rshio_send(rl->tcp, type, buf, n);
}

/* Until the command's stdout and stderr end; then its status. Never returns. */
static void _relay_loop(struct relay *rl)
{
	struct pollfd p[4];
	uint8_t st[4];
	int status = 0, ret = 0;

	while (!ret && (rl->out >= 0 || rl->err >= 0)) {
		p[0] = (struct pollfd){.fd = rl->len ? -1 : rl->tcp, .events = POLLIN};
		p[1] = (struct pollfd){.fd = rl->len ? rl->in : -1, .events = POLLOUT};
		p[2] = (struct pollfd){.fd = rl->out, .events = POLLIN};
		p[3] = (struct pollfd){.fd = rl->err, .events = POLLIN};
		if (poll(p, 4, -1) < 0) {
			ret = errno == EINTR ? 0 : -errno;
			continue;
		}
		if (p[1].revents)
			_feed(rl);
		if (p[0].revents)
			ret = _from_caller(rl);
		if (!ret && p[2].revents)
			ret = _to_caller(rl, &rl->out, 'o');
		if (!ret && p[3].revents)
			ret = _to_caller(rl, &rl->err, 'e');
	}
	if (ret) { /* the caller is gone: so is the command's session, as on a hangup */
		kill(-rl->cmd, SIGHUP);
		_exit(1);
	}
	while (waitpid(rl->cmd, &status, 0) < 0 && errno == EINTR)
		;
	st[0] = (uint32_t)status >> 24;
	st[1] = (uint32_t)status >> 16;
	st[2] = (uint32_t)status >> 8;
	st[3] = (uint32_t)status;
	rshio_send(rl->tcp, 'x', st, sizeof(st));
	shutdown(rl->tcp, SHUT_WR);
	_exit(0);
}

/* Pipes for the command's stdin (ours non-blocking), stdout and stderr; then the command. */
static int _spawn_cmd(const struct rsh_req *r, struct relay *rl)
{
	int in[2], out[2], err[2] = {-1, -1}, null = -1;

	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		return -errno;
	if (r->flags & RSH_NO_STDIN)
		null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	rl->cmd = fork();
	if (rl->cmd < 0)
		return -errno;
	if (rl->cmd == 0)
		_exec_cmd(r, null >= 0 ? null : in[0], out[1], err[1]);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (null >= 0)
		close(null);
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	rl->in = in[1];
	rl->out = out[0];
	rl->err = err[0];
	return 0;
}

/*
 * The relay, forked by the slot root: back to the caller with the cookie,
 * "ok" (or why not) on @ready, then the command. Never returns.
 */
static void _relay_main(const struct rsh_req *r, int ready)
{
	struct relay *rl = calloc(1, sizeof(*rl));
	char why[512];
	int fd;

	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	fd = cr_tcp_connect(r->addr, r->port, 10);
	if (fd < 0) {
		snprintf(why, sizeof(why), "cannot connect back to %s port %u: %s", r->addr,
			 r->port, strerror(-fd));
		goto fail;
	}
	if (!rl || io_write_all(fd, r->cookie, RSH_COOKIE_LEN, -1)) {
		snprintf(why, sizeof(why), "lost the connection to %s port %u", r->addr, r->port);
		goto fail;
	}
	rl->tcp = fd;
	fd = _spawn_cmd(r, rl);
	if (fd < 0) {
		snprintf(why, sizeof(why), "cannot start the command: %s", strerror(-fd));
		goto fail;
	}
	if (write(ready, "ok", 2) != 2)
		_exit(1);
	close(ready);
	_relay_loop(rl);
fail:
	if (write(ready, why, strlen(why)) < 0)
		_exit(1);
	_exit(1);
}

/* Fork the relay; 0 once it reached the caller, else -errno with the reason in why. */
static int _start(const struct rsh_req *r, int conn, char *why, size_t len)
{
	struct pollfd p;
	int pp[2];
	ssize_t n;
	pid_t pid;

	if (pipe2(pp, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		close(pp[0]);
		close(pp[1]);
		return -EAGAIN;
	}
	if (pid == 0) {
		close(pp[0]);
		close(conn);
		close(LISTEN_FD);
		_relay_main(r, pp[1]);
	}
	close(pp[1]);
	p = (struct pollfd){.fd = pp[0], .events = POLLIN};
	n = poll(&p, 1, READY_TIMEOUT_MS) == 1 ? read(pp[0], why, len - 1) : -1;
	close(pp[0]);
	if (n == 2 && !memcmp(why, "ok", 2))
		return 0;
	if (n > 0)
		why[n] = '\0';
	else
		snprintf(why, len, "the command's relay did not start");
	kill(pid, SIGKILL);
	return -EIO;
}

/* One connection: crd's request (root only), answered OK or ERR. */
static void _serve(int conn)
{
	struct ucred uc;
	socklen_t ulen = sizeof(uc);
	struct rsh_req r;
	struct cr_msg m;
	char why[512] = "";

	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &uc, &ulen) < 0 || uc.uid != 0) {
		cr_send_err(conn, CR_E_PERM, "only crd starts commands here");
		return;
	}
	setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){10, 0}, sizeof(struct timeval));
	if (cr_recv(conn, &m))
		return;
	if (m.hdr.type != CR_MSG_RSH || m.nfds || rsh_req_unpack(&m, &r)) {
		cr_send_err(conn, CR_E_PROTO, "bad launch request");
		cr_msg_free(&m);
		return;
	}
	if (_start(&r, conn, why, sizeof(why)))
		cr_send_err(conn, CR_E_FAILED, "%s", why);
	else
		cr_send_ok(conn, "started");
	free(r.env);
	cr_msg_free(&m);
}

void slot_root_main(void)
{
	int conn;

	/* What the commands leave behind is ours to reap (we are their subreaper). */
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		conn = accept4(LISTEN_FD, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0) {
			if (errno == EBADF || errno == ENOTSOCK || errno == EINVAL)
				_exit(1);
			continue;
		}
		_serve(conn);
		close(conn);
	}
}
