// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "interval.h"
#include "proto.h"
#include "relay.h"

static int _connect(const char *sock, char *err, size_t errlen)
{
	int fd = cr_unix_connect(sock);

	if (fd < 0)
		snprintf(err, errlen, "cannot reach crd at %s: %s", sock, strerror(-fd));
	else
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){30, 0},
			   sizeof(struct timeval));
	return fd;
}

int cr_job_notify(const char *sock, int start, uint32_t jobid, uint32_t uid, uint32_t gid,
		  long interval, const char *dir, const char *node, const char *nodelist,
		  uint32_t restart_from, uint32_t flags, char *err, size_t errlen)
{
	struct cr_buf b;
	uint32_t code;
	char text[512];
	int fd, ret;

	fd = _connect(sock, err, errlen);
	if (fd < 0)
		return fd;
	cr_buf_init(&b);
	cr_pack_u32(&b, CR_PROTO_VERSION);
	cr_pack_u32(&b, jobid);
	if (start) {
		cr_pack_u32(&b, uid);
		cr_pack_u32(&b, gid);
		cr_pack_u32(&b, (uint32_t)(interval < 0 ? -1 : interval));
		cr_pack_str(&b, dir);
		cr_pack_str(&b, node);
		cr_pack_str(&b, nodelist);
		cr_pack_u32(&b, restart_from);
		if (flags)
			cr_pack_u32(&b, flags);
	}
	ret = cr_send(fd, start ? CR_MSG_JOB_START : CR_MSG_JOB_END, &b, NULL, 0);
	cr_buf_free(&b);
	if (!ret)
		ret = cr_recv_reply(fd, &code, text, sizeof(text));
	close(fd);
	if (ret) {
		snprintf(err, errlen, "crd did not answer: %s", strerror(-ret));
		return ret;
	}
	if (code) {
		snprintf(err, errlen, "%s", text);
		return -EIO;
	}
	return 0;
}

/*
 * slurmstepd applies the propagated limits (SLURM_RLIMIT_*) and removes them
 * from the environment right before it execs the task, after task_init: the
 * relay does the same to itself, so that the container gets them.
 */
static const struct {
	const char *name;
	int resource;
} rlimits[] = {
	{"CPU", RLIMIT_CPU},	 {"FSIZE", RLIMIT_FSIZE},   {"DATA", RLIMIT_DATA},
	{"STACK", RLIMIT_STACK}, {"CORE", RLIMIT_CORE},	    {"RSS", RLIMIT_RSS},
	{"NPROC", RLIMIT_NPROC}, {"NOFILE", RLIMIT_NOFILE}, {"MEMLOCK", RLIMIT_MEMLOCK},
	{"AS", RLIMIT_AS},
};

static void _apply_rlimits(char **envp)
{
	char name[32], *end;
	const char *val;
	unsigned long v;
	struct rlimit rl;
	size_t n;

	for (size_t i = 0; i < sizeof(rlimits) / sizeof(rlimits[0]); i++) {
		n = snprintf(name, sizeof(name), "SLURM_RLIMIT_%s=", rlimits[i].name);
		for (char **e = envp; e && *e; e++) {
			if (strncmp(*e, name, n))
				continue;
			val = *e + n;
			if (*val == 'U')
				val++;
			v = strtoul(val, &end, 10);
			if (*end || end == val || getrlimit(rlimits[i].resource, &rl) < 0)
				break;
			rl.rlim_cur = v;
			if (rl.rlim_max < rl.rlim_cur)
				rl.rlim_max = rl.rlim_cur;
			setrlimit(rlimits[i].resource, &rl);
			break;
		}
	}
}

static void _pack_strv(struct cr_buf *b, char **v, const char *skip)
{
	uint32_t n = 0, k = 0;

	while (v && v[n])
		n++;
	for (uint32_t i = 0; i < n; i++)
		if (!skip || strncmp(v[i], skip, strlen(skip)))
			k++;
	cr_pack_u32(b, k);
	for (uint32_t i = 0; i < n; i++)
		if (!skip || strncmp(v[i], skip, strlen(skip)))
			cr_pack_str(b, v[i]);
}

/* End as the script ended. */
static void __attribute__((noreturn)) _exit_like(uint32_t status)
{
	struct rlimit nocore = {0, 0};
	sigset_t none;
	int sig;

	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	if (!WIFSIGNALED(status))
		_exit(1);
	sig = WTERMSIG(status);
	setrlimit(RLIMIT_CORE, &nocore);
	signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	kill(getpid(), sig);
	_exit(128 + sig);
}

static int _expect(int fd, uint32_t want, uint32_t *v, char *err, size_t errlen)
{
	struct cr_msg m;
	const char *text;
	uint32_t code = 0;
	int ret;

	ret = cr_recv(fd, &m);
	if (ret) {
		snprintf(err, errlen, "no answer from the job's container: %s", strerror(-ret));
		return ret;
	}
	ret = -EPROTO;
	if (m.hdr.type == CR_MSG_ERR) {
		if (!cr_unpack_u32(&m, &code) && !cr_unpack_str(&m, &text) && !cr_unpack_done(&m)) {
			snprintf(err, errlen, "%s", text);
		} else {
			code = 0;
			snprintf(err, errlen, "malformed error");
		}
		ret = code == CR_E_PERM ? -EPERM : -EIO;
	} else if (m.hdr.type == CR_MSG_EXIT && want == CR_MSG_STARTED &&
		   !cr_unpack_u32(&m, &code) && !cr_unpack_done(&m)) {
		/*
		 * The job ended before it ran (its restore failed; the monitor told
		 * its stderr why): the step ends with that status, as a task.
		 */
		_exit_like(code);
	} else if (m.hdr.type == want) {
		if ((want == CR_MSG_OK ? cr_unpack_str(&m, &text) : cr_unpack_u32(&m, v)) ||
		    cr_unpack_done(&m))
			snprintf(err, errlen, "malformed %s", cr_msg_name(want));
		else
			ret = 0;
	} else {
		snprintf(err, errlen, "unexpected %s", cr_msg_name(m.hdr.type));
	}
	cr_msg_free(&m);
	return ret;
}

/* HELLO: crd checks that we are the job's batch task and hands us to its monitor. */
static int _hello(int fd, uint32_t jobid, uint32_t stepid, char *err, size_t errlen)
{
	struct cr_buf b;
	uint32_t v;
	int ret;

	cr_buf_init(&b);
	cr_pack_u32(&b, CR_PROTO_VERSION);
	cr_pack_u32(&b, jobid);
	cr_pack_u32(&b, stepid);
	ret = cr_send(fd, CR_MSG_HELLO, &b, NULL, 0);
	cr_buf_free(&b);
	return ret ? ret : _expect(fd, CR_MSG_OK, &v, err, errlen);
}

/* SPAWN: argv, env, our stdio, the script and the working directory, to the container. */
static int _hand_over(int fd, char **argv, char **envp, char *err, size_t errlen)
{
	struct cr_buf b;
	int fds[5] = {0, 1, 2, -1, -1}, ret;

	fds[3] = open(argv[0], O_RDONLY | O_CLOEXEC);
	fds[4] = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fds[3] < 0 || fds[4] < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open %s: %s",
			 fds[3] < 0 ? argv[0] : "the working directory", strerror(-ret));
		goto out;
	}
	cr_buf_init(&b);
	cr_pack_u32(&b, CR_PROTO_VERSION);
	_pack_strv(&b, argv, NULL);
	_pack_strv(&b, envp, "SLURM_RLIMIT_");
	ret = cr_send(fd, CR_MSG_SPAWN, &b, fds, 5);
	cr_buf_free(&b);
	if (ret)
		snprintf(err, errlen, "cannot hand the script to the container: %s",
			 strerror(-ret));
out:
	for (int i = 3; i < 5; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return ret;
}

/* Every signal to the container, until it says how the script ended: we end the same way. */
static void __attribute__((noreturn)) _forward(int fd, int sfd)
{
	struct signalfd_siginfo si;
	struct pollfd pfd[2];
	struct cr_msg m;
	uint32_t v;

	pfd[0] = (struct pollfd){.fd = fd, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
	for (;;) {
		if (poll(pfd, sfd >= 0 ? 2 : 1, -1) < 0)
			continue;
		if (pfd[1].revents & POLLIN && read(sfd, &si, sizeof(si)) == sizeof(si))
			cr_send_u32(fd, CR_MSG_SIGNAL, si.ssi_signo);
		if (!pfd[0].revents)
			continue;
		if (cr_recv(fd, &m)) {
			dprintf(2, "slurm-cr: lost the job's container\n");
			_exit(1);
		}
		if (m.hdr.type == CR_MSG_EXIT && !cr_unpack_u32(&m, &v) && !cr_unpack_done(&m))
			_exit_like(v);
		cr_msg_free(&m);
	}
}

int cr_relay_run(const char *sock, uint32_t jobid, uint32_t stepid, char **argv, char **envp,
		 char *err, size_t errlen)
{
	sigset_t all;
	uint32_t v;
	int fd, sfd, ret;

	_apply_rlimits(envp);
	fd = _connect(sock, err, errlen);
	if (fd < 0)
		return fd;
	ret = _hello(fd, jobid, stepid, err, errlen);
	if (!ret)
		ret = _hand_over(fd, argv, envp, err, errlen);
	if (ret) {
		close(fd);
		return ret;
	}
	/* From here every signal is forwarded; the relay ends as the script does. */
	sigfillset(&all);
	sigdelset(&all, SIGCHLD);
	sigprocmask(SIG_BLOCK, &all, NULL);
	sfd = signalfd(-1, &all, SFD_CLOEXEC);
	/* A job resumed from a checkpoint starts when its image is read back: no deadline. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){0, 0}, sizeof(struct timeval));
	ret = _expect(fd, CR_MSG_STARTED, &v, err, errlen);
	if (!ret)
		_forward(fd, sfd);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	if (sfd >= 0)
		close(sfd);
	close(fd);
	return ret;
}
